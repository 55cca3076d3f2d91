/**
 * Test helper (a script): a TCP forwarder that adds latency, for fault tests on kernels without
 * the netem qdisc. Run it where the traffic is steered to it (e.g. in a router namespace, after an
 * nft `redirect to :PORT` rule):
 *
 *   bun test/helpers/delay-proxy.ts --delay MS --stats FILE PORT=HOST:PORT [PORT=HOST:PORT …]
 *
 * Each PORT is listened on (0.0.0.0) and forwards to its HOST:PORT, so the proxy knows where a
 * connection goes from the port it came in on. Every piece of bytes read from one side is written
 * to the other DELAY ms later, in order, in each direction (a request and its answer cost 2 × MS
 * more); a close is passed on after the bytes before it. A destination that cannot be reached
 * closes the incoming connection. Counters (connections, bytes each way, per port) are written to
 * FILE (atomically) a few times a second. Prints "ready" once every port listens.
 */
import { renameSync, writeFileSync } from "node:fs";
import type { Socket } from "bun";

interface Stats {
  connections: number;
  failed_connects: number;
  /** Towards the destination / back to the caller. */
  bytes_to: number;
  bytes_back: number;
}

const args = process.argv.slice(2);
let delay = 0;
let statsFile = "";
const maps: { port: number; host: string; to: number }[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === "--delay") delay = Number(args[++i]);
  else if (a === "--stats") statsFile = args[++i]!;
  else {
    const m = /^(\d+)=([^:]+):(\d+)$/.exec(a);
    if (!m) throw new Error(`delay-proxy: bad mapping '${a}' (expected PORT=HOST:PORT)`);
    maps.push({ port: Number(m[1]), host: m[2]!, to: Number(m[3]) });
  }
}
if (!Number.isFinite(delay) || delay < 0 || !maps.length) throw new Error("delay-proxy: --delay MS and at least one PORT=HOST:PORT");

const stats: Record<string, Stats> = {};
let dirty = true;

/** One direction of one connection: bytes wait `delay` ms, then go out in order. */
class Leg {
  private queue: { at: number; data: Uint8Array | null }[] = [];
  private out: Uint8Array[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ended = false;
  dest: Socket<unknown> | null = null;
  closed = false;

  constructor(private count: (n: number) => void) {}

  /** Bytes read from the source (null = the source closed). */
  push(data: Uint8Array | null): void {
    if (this.closed) return;
    this.queue.push({ at: performance.now() + delay, data: data && new Uint8Array(data) });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || !this.queue.length) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        const now = performance.now();
        while (this.queue.length && this.queue[0]!.at <= now + 0.5) {
          const { data } = this.queue.shift()!;
          if (data) this.out.push(data);
          else this.ended = true;
        }
        this.flush();
        this.schedule();
      },
      Math.max(0, this.queue[0]!.at - performance.now()),
    );
  }

  /** Write what is due; the rest waits for `drain`. */
  flush(): void {
    const d = this.dest;
    if (!d || this.closed) return;
    while (this.out.length) {
      const head = this.out[0]!;
      const n = d.write(head);
      if (n > 0) this.count(n);
      if (n < head.byteLength) {
        this.out[0] = head.subarray(Math.max(0, n));
        return;
      }
      this.out.shift();
    }
    if (this.ended) {
      this.closed = true;
      d.end();
    }
  }

  stop(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.out = [];
  }
}

interface Conn {
  to: Leg; // caller -> destination
  back: Leg; // destination -> caller
  upstream: Socket<unknown> | null;
}

for (const m of maps) {
  const key = String(m.port);
  const st: Stats = (stats[key] = { connections: 0, failed_connects: 0, bytes_to: 0, bytes_back: 0 });
  Bun.listen<Conn>({
    hostname: "0.0.0.0",
    port: m.port,
    socket: {
      open(client) {
        st.connections++;
        dirty = true;
        const conn: Conn = {
          to: new Leg((n) => ((st.bytes_to += n), (dirty = true))),
          back: new Leg((n) => ((st.bytes_back += n), (dirty = true))),
          upstream: null,
        };
        conn.back.dest = client;
        client.data = conn;
        Bun.connect<null>({
          hostname: m.host,
          port: m.to,
          socket: {
            open(up) {
              conn.upstream = up;
              conn.to.dest = up;
              conn.to.flush();
            },
            data(_up, bytes) {
              conn.back.push(bytes);
            },
            drain() {
              conn.to.flush();
            },
            end() {
              conn.back.push(null);
            },
            close() {
              conn.back.push(null);
              conn.to.stop();
            },
            error() {
              conn.back.push(null);
            },
          },
        }).catch(() => {
          st.failed_connects++;
          dirty = true;
          conn.to.stop();
          conn.back.stop();
          client.end();
        });
      },
      data(client, bytes) {
        client.data.to.push(bytes);
      },
      drain(client) {
        client.data.back.flush();
      },
      end(client) {
        client.data.to.push(null);
      },
      close(client) {
        client.data?.to.push(null);
        client.data?.back.stop();
      },
      error(client) {
        client.data?.to.push(null);
      },
    },
  });
}

function writeStats(): void {
  if (!statsFile || !dirty) return;
  dirty = false;
  writeFileSync(`${statsFile}.tmp`, JSON.stringify({ delay_ms: delay, ports: stats }));
  renameSync(`${statsFile}.tmp`, statsFile);
}
setInterval(writeStats, 100);
process.on("SIGTERM", () => {
  writeStats();
  process.exit(0);
});
writeStats();
console.log("ready");
