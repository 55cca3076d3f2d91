/**
 * Bench: the relay hub (`grove relay`, a real process on 127.0.0.1).
 *
 *   bun bench/relay.ts [--mb 256] [--idle 1000] [--frame-kb 1024]
 *
 * 1. Throughput: one simulated cell sends --mb MB in frames of --frame-kb KiB to another through
 *    the relay (both log in with real keys; sender waits for the socket to drain, so the figure
 *    is end to end, received bytes counted at the recipient). Reference in the same run: the
 *    same bytes over one direct WebSocket between two sockets of this process (no relay).
 * 2. Memory: --idle simulated cells (one process, real logins) stay connected; the relay's RSS
 *    (VmRSS, and VmHWM over the run) is read from /proc before and after.
 * Output: a table, then one JSON object as the last line.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { deriveIdentity } from "../src/crypto/keys.ts";
import { toHex } from "../src/core/types.ts";
import { frame, makeLogin } from "../src/relay/relay-protocol.ts";
import { ROOT } from "../test/helpers/cell.ts";
import { table } from "./lib/measure.ts";

const { values } = parseArgs({ args: process.argv.slice(2), options: { mb: { type: "string" }, idle: { type: "string" }, "frame-kb": { type: "string" } }, strict: false });
const MB = Number(values.mb ?? 256);
const IDLE = Number(values.idle ?? 1000);
const FRAME = Number(values["frame-kb"] ?? 1024) * 1024;
const TOTAL = MB * 1_000_000;

type Keys = { id: string; ed25519Secret: Uint8Array };
const newKeys = (): Keys => {
  const i = deriveIdentity(new Uint8Array(randomBytes(32)));
  return { id: toHex(i.ed25519Public), ed25519Secret: i.ed25519Secret };
};
const kib = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

function connect(url: string, keys: Keys, accept: string[], onFrame?: (n: number) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") return onFrame?.((ev.data as ArrayBuffer).byteLength - 32);
      const m = JSON.parse(ev.data) as { type: string; nonce?: string; reason?: string };
      if (m.type === "challenge") ws.send(JSON.stringify(makeLogin(keys, m.nonce!, accept)));
      else if (m.type === "ready") resolve(ws);
      else if (m.type === "refused") reject(new Error(m.reason));
    };
    ws.onerror = () => reject(new Error("websocket error"));
  });
}

/** Send `total` bytes in `size` frames over `ws`, waiting for the socket to drain; resolves when `received()` reaches total. */
async function pump(ws: WebSocket, mk: (p: Uint8Array) => Uint8Array, total: number, size: number, received: () => number): Promise<number> {
  const payload = new Uint8Array(randomBytes(size));
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += size) {
    ws.send(mk(payload.subarray(0, Math.min(size, total - sent))));
    while (ws.bufferedAmount > 8 * size) await Bun.sleep(1);
  }
  while (received() < total) await Bun.sleep(2);
  return (performance.now() - t0) / 1000;
}

const proc = Bun.spawn([process.execPath, join(ROOT, "src", "cli.ts"), "relay", "--port", "0", "--host", "127.0.0.1", "--max-per-ip", String(IDLE + 16), "--max-reservations", String(IDLE + 16), "--circuit-bytes", String(TOTAL * 2), "--max-frame-bytes", String(FRAME + 1024)], { stdout: "pipe", stderr: "inherit" });
let out = "";
const dec = new TextDecoder();
void (async () => {
  for await (const c of proc.stdout as unknown as AsyncIterable<Uint8Array>) out += dec.decode(c);
})();
for (let i = 0; i < 400 && !/listening on [^:]+:(\d+)/.test(out); i++) await Bun.sleep(25);
const port = /listening on [^:]+:(\d+)/.exec(out)?.[1];
if (!port) throw new Error(`relay did not start: ${out}`);
const url = `ws://127.0.0.1:${port}/v1/relay`;
const say = (s: string) => console.error(`[relay] ${s}`);

try {
  // 1. Throughput through the relay.
  const a = newKeys();
  const b = newKeys();
  let got = 0;
  const wb = await connect(url, b, [a.id], (n) => (got += n));
  const wa = await connect(url, a, [b.id]);
  const viaRelay = await pump(wa, (p) => frame(b.id, p), TOTAL, FRAME, () => got);
  say(`through the relay: ${MB} MB in ${viaRelay.toFixed(2)} s`);
  wa.close();
  wb.close();

  // Reference: the same bytes over a direct WebSocket (a tiny echo-less sink in this process).
  let direct = 0;
  const sink = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req, srv) => (srv.upgrade(req) ? undefined : new Response("no")), websocket: { maxPayloadLength: FRAME * 2, message: (_ws, m) => void (direct += (m as Buffer).byteLength) } });
  const wd = new WebSocket(`ws://127.0.0.1:${sink.port}`);
  await new Promise((r) => (wd.onopen = r));
  const directS = await pump(wd, (p) => p, TOTAL, FRAME, () => direct);
  say(`direct WebSocket: ${MB} MB in ${directS.toFixed(2)} s`);
  wd.close();
  sink.stop(true);

  // 2. Idle cells.
  const rssBefore = kib(proc.pid, "VmRSS");
  const idle: WebSocket[] = [];
  const t0 = performance.now();
  for (let i = 0; i < IDLE; i += 50) idle.push(...(await Promise.all(Array.from({ length: Math.min(50, IDLE - i) }, () => connect(url, newKeys(), [])))));
  const loginS = (performance.now() - t0) / 1000;
  await Bun.sleep(1000);
  const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { cells: number; connections: number };
  const rssIdle = kib(proc.pid, "VmRSS");
  const hwm = kib(proc.pid, "VmHWM");
  for (const w of idle) w.close();

  const rows = [
    ["measure", "value", "notes"],
    [`${MB} MB through the relay (${FRAME / 1024} KiB frames)`, `${(MB / viaRelay).toFixed(1)} MB/s`, `${viaRelay.toFixed(2)} s, received bytes counted at the recipient`],
    [`same bytes, direct WebSocket (reference)`, `${(MB / directS).toFixed(1)} MB/s`, `relay/direct = ${(directS / viaRelay).toFixed(2)}`],
    [`relay RSS before idle cells`, `${rssBefore.toFixed(1)} MiB`, ""],
    [`relay RSS with ${status.cells} idle cells logged in`, `${rssIdle.toFixed(1)} MiB`, `${((rssIdle - rssBefore) * 1024 / Math.max(1, status.cells)).toFixed(1)} KiB per cell; logins took ${loginS.toFixed(1)} s`],
    [`relay peak RSS (VmHWM) over the run`, `${hwm.toFixed(1)} MiB`, ""],
  ];
  console.log(`\nrelay bench: grove relay on 127.0.0.1, simulated cells in this process, ${navigator.hardwareConcurrency} cores`);
  console.log(table(rows));
  console.log(JSON.stringify({ bench: "relay", mb: MB, frame_bytes: FRAME, relay_mb_s: +(MB / viaRelay).toFixed(1), direct_mb_s: +(MB / directS).toFixed(1), idle_cells: status.cells, rss_before_mib: +rssBefore.toFixed(1), rss_idle_mib: +rssIdle.toFixed(1), rss_peak_mib: +hwm.toFixed(1) }));
} finally {
  proc.kill("SIGTERM");
  await proc.exited;
}
