/**
 * A byte-counting TCP proxy on 127.0.0.1 (Bun.listen + Bun.connect): every connection accepted
 * on `listenPort` is relayed to 127.0.0.1:`targetPort`, and the bytes are counted in both
 * directions as they cross (TCP payload: HTTP request and status lines, headers and bodies; not
 * the IP/TCP headers). Writes honour backpressure: what a socket does not take now waits for
 * its `drain`.
 *
 * Bytes are also split by request: each request line seen going up (`POST /peer/sync/inventory
 * HTTP/1.1`) labels its connection until the next one, and the bytes both ways are added to that
 * label (HTTP/1.1 without pipelining: an answer follows its request on the same connection).
 * 64-hex path segments are folded to `:hash`.
 */
import type { Socket, TCPSocketListener } from "bun";

export interface LabelCounts {
  requests: number;
  up: number;
  down: number;
}

export interface ProxyCounts {
  /** Bytes from the connecting side to the target (requests). */
  up: number;
  /** Bytes from the target back (answers). */
  down: number;
  /** TCP connections accepted. */
  connections: number;
  /** By request ("METHOD /path"), in order of first appearance. */
  byRequest: Record<string, LabelCounts>;
}

const REQUEST_LINE = /(GET|POST|PUT|DELETE|HEAD) (\/[^ ?\r\n]*)[^ \r\n]* HTTP\/1\.1\r\n/g;

function labelOf(method: string, path: string): string {
  return `${method} ${path.replace(/\/[0-9a-f]{64}(?=\/|$)/g, "/:hash")}`;
}

interface Pipe {
  /** The request this connection carries now (shared by both sockets of a pair). */
  conn: { label: string };
  /** The other socket, once connected. */
  other: Socket<Pipe> | null;
  /** Bytes for this socket that it did not take yet. */
  pending: Uint8Array[];
  /** End this socket once `pending` is flushed. */
  endAfterFlush: boolean;
  closed: boolean;
}

function flush(s: Socket<Pipe>): void {
  const d = s.data;
  while (d.pending.length) {
    const buf = d.pending[0]!;
    const n = s.write(buf);
    if (n < 0) return;
    if (n < buf.byteLength) {
      d.pending[0] = buf.subarray(n);
      return;
    }
    d.pending.shift();
  }
  if (d.endAfterFlush && !d.closed) s.end();
}

function send(to: Socket<Pipe>, chunk: Uint8Array): void {
  const d = to.data;
  if (d.closed) return;
  if (d.pending.length) {
    d.pending.push(chunk.slice());
    return;
  }
  const n = to.write(chunk);
  if (n < chunk.byteLength) d.pending.push(chunk.slice(Math.max(0, n)));
}

function endSoon(s: Socket<Pipe> | null): void {
  if (!s || s.data.closed) return;
  s.data.endAfterFlush = true;
  if (!s.data.pending.length) s.end();
}

export class CountingProxy {
  readonly counts: ProxyCounts = { up: 0, down: 0, connections: 0, byRequest: {} };
  private server: TCPSocketListener<Pipe> | null = null;
  private open = new Set<Socket<Pipe>>();

  constructor(
    private listenPort: number,
    private targetPort: number,
  ) {}

  get port(): number {
    return this.server?.port ?? this.listenPort;
  }

  reset(): ProxyCounts {
    const before = this.snapshot();
    this.counts.up = 0;
    this.counts.down = 0;
    this.counts.connections = 0;
    this.counts.byRequest = {};
    return before;
  }

  snapshot(): ProxyCounts {
    return { ...this.counts, byRequest: structuredClone(this.counts.byRequest) };
  }

  private label(l: string): LabelCounts {
    return (this.counts.byRequest[l] ??= { requests: 0, up: 0, down: 0 });
  }

  start(): this {
    const counts = this.counts;
    const label = (l: string) => this.label(l);
    const open = this.open;
    const dec = new TextDecoder("latin1");
    const targetPort = this.targetPort;
    this.server = Bun.listen<Pipe>({
      hostname: "127.0.0.1",
      port: this.listenPort,
      socket: {
        open(client) {
          client.data = { conn: { label: "(none)" }, other: null, pending: [], endAfterFlush: false, closed: false };
          counts.connections++;
          open.add(client);
          void Bun.connect<Pipe>({
            hostname: "127.0.0.1",
            port: targetPort,
            socket: {
              open(up) {
                up.data = {
                  conn: client.data.conn,
                  other: client,
                  pending: client.data.pending.splice(0),
                  endAfterFlush: false,
                  closed: false,
                };
                open.add(up);
                client.data.other = up;
                flush(up);
                if (client.data.closed) endSoon(up);
              },
              data(up, chunk) {
                counts.down += chunk.byteLength;
                label(up.data.conn.label).down += chunk.byteLength;
                send(client, chunk);
              },
              drain(up) {
                flush(up);
              },
              close(up) {
                up.data.closed = true;
                open.delete(up);
                endSoon(client);
              },
              error(up) {
                up.data.closed = true;
                endSoon(client);
              },
              connectError() {
                client.end();
              },
            },
          }).catch(() => client.end());
        },
        data(client, chunk) {
          counts.up += chunk.byteLength;
          // A request line in this piece starts a new request on the connection.
          for (const m of dec.decode(chunk.subarray(0, Math.min(chunk.byteLength, 4096))).matchAll(REQUEST_LINE)) {
            client.data.conn.label = labelOf(m[1]!, m[2]!);
            label(client.data.conn.label).requests++;
          }
          label(client.data.conn.label).up += chunk.byteLength;
          const up = client.data.other;
          // Until the upstream connection is open, its bytes wait in the client's pipe record.
          if (!up) client.data.pending.push(chunk.slice());
          else send(up, chunk);
        },
        drain(client) {
          flush(client);
        },
        close(client) {
          client.data.closed = true;
          open.delete(client);
          endSoon(client.data.other);
        },
        error(client) {
          client.data.closed = true;
          endSoon(client.data.other);
        },
      },
    });
    return this;
  }

  stop(): void {
    for (const s of this.open) s.end();
    this.open.clear();
    this.server?.stop(true);
    this.server = null;
  }
}
