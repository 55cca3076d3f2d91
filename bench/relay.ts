/**
 * Bench: the relay hub (`grove relay`, a real process on 127.0.0.1).
 *
 *   bun bench/relay.ts [--mb 256] [--idle 1000] [--frame-kb 1024] [--sync-mb 256]
 *
 * 1. Throughput: one simulated cell sends --mb MB in frames of --frame-kb KiB to another through
 *    the relay (both log in with real keys; sender waits for the socket to drain, so the figure
 *    is end to end, received bytes counted at the recipient). Reference in the same run: the
 *    same bytes over one direct WebSocket between two sockets of this process (no relay).
 * 2. Memory: --idle simulated cells (one process, real logins) stay connected; the relay's RSS
 *    (VmRSS, and VmHWM over the run) is read from /proc before and after.
 * 3. Replication between real cells, through the relay versus direct, in the same run (--sync-mb
 *    MB, default 256; 0 skips this part). A second `grove relay` process (default limits, circuit
 *    raised to fit the file) and two pairs of real cells (`grove start`, replication factor 2,
 *    rounds only on demand, mDNS off), each paired by invite/join: pair R has config `relays` and
 *    `advertise` set to the relay's ws:// URL only (the relay is the one route they know to each
 *    other), pair D keeps its direct loopback routes. Per pair: one warm-up `grove sync` on A
 *    (probes, route benchmark; nothing to push), `grove put` of one random file on A, then
 *    `grove sync --json` on A until `grove placement --json` on A shows it with 2 copies; the time
 *    is the sum of those sync rounds (CLI end to end). Reported: MB/s relay vs direct and their
 *    ratio, the relay's bytes_relayed (GET /status, must be >= the file), the relay's and each A
 *    cell's peak RSS (VmHWM), and B's best_route as `grove peers --json` on A shows it (pair R:
 *    the ws:// relay URL). Cells, relays and the work dir (bench/.work) go on exit, Ctrl-C too.
 * Everything listens on 127.0.0.1. Output: a table, then one JSON object as the last line.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import { deriveIdentity } from "../src/crypto/keys.ts";
import { toHex } from "../src/core/types.ts";
import { frame, makeLogin } from "../src/relay/relay-protocol.ts";
import { DEFAULT_LIMITS, type RelayStatus } from "../src/relay/hub.ts";
import type { PeerView } from "../src/api/types.ts";
import type { PlacementReport } from "../src/sync/placement-report.ts";
import { ROOT, destroyCell, startCell, type TestCell } from "../test/helpers/cell.ts";
import { cellId, grove, pair, syncRound, waitSyncIdle } from "./lib/cells.ts";
import { cleanupOnSignal, makeWorkDir, mbPerSec, peakRssMiB, round, table, writeRandomFile } from "./lib/measure.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { mb: { type: "string" }, idle: { type: "string" }, "frame-kb": { type: "string" }, "sync-mb": { type: "string" } },
  strict: false,
});
const MB = Number(values.mb ?? 256);
const IDLE = Number(values.idle ?? 1000);
const FRAME = Number(values["frame-kb"] ?? 1024) * 1024;
const TOTAL = MB * 1_000_000;
const SYNC_MB = Number(values["sync-mb"] ?? 256);
if (!Number.isFinite(SYNC_MB) || SYNC_MB < 0) throw new Error(`--sync-mb: expected a number of MB >= 0, got ${values["sync-mb"]}`);
const SYNC_BYTES = Math.round(SYNC_MB * 1_000_000);
const MAX_ROUNDS = 10;

type Keys = { id: string; ed25519Secret: Uint8Array };
const newKeys = (): Keys => {
  const i = deriveIdentity(new Uint8Array(randomBytes(32)));
  return { id: toHex(i.ed25519Public), ed25519Secret: i.ed25519Secret };
};
const kib = (pid: number, field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

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
async function pump(
  ws: WebSocket,
  mk: (p: Uint8Array) => Uint8Array,
  total: number,
  size: number,
  received: () => number,
): Promise<number> {
  const payload = new Uint8Array(randomBytes(size));
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += size) {
    ws.send(mk(payload.subarray(0, Math.min(size, total - sent))));
    while (ws.bufferedAmount > 8 * size) await Bun.sleep(1);
  }
  while (received() < total) await Bun.sleep(2);
  return (performance.now() - t0) / 1000;
}

/**
 * `grove relay --open` (the simulated cells are made-up keys) with the limits of a relay that
 * allows its cells (DEFAULT_LIMITS), not the stricter ones of an open relay; flags after it win.
 */
const OPEN_AT_DEFAULTS = [
  "--open",
  ...(["max_reservations", "max_per_cell", "max_per_ip", "circuit_bytes", "frames_per_second", "accepts_per_minute"] as const).flatMap(
    (k) => [`--${k.replaceAll("_", "-")}`, String(DEFAULT_LIMITS[k])],
  ),
];

/** A `grove relay` process on 127.0.0.1 (port 0) with extra flags; resolves once it listens. */
async function startRelayProc(flags: string[], procs: Subprocess[]): Promise<{ proc: Subprocess; port: string }> {
  if (interrupted) throw new Error("interrupted");
  const proc = Bun.spawn(
    [process.execPath, join(ROOT, "src", "cli.ts"), "relay", "--port", "0", "--host", "127.0.0.1", ...OPEN_AT_DEFAULTS, ...flags],
    { stdout: "pipe", stderr: "inherit" },
  );
  procs.push(proc);
  let out = "";
  const dec = new TextDecoder();
  void (async () => {
    for await (const c of proc.stdout as unknown as AsyncIterable<Uint8Array>) out += dec.decode(c);
  })();
  for (let i = 0; i < 400 && !/listening on [^:]+:(\d+)/.test(out); i++) await Bun.sleep(25);
  const port = /listening on [^:]+:(\d+)/.exec(out)?.[1];
  if (!port) throw new Error(`relay did not start: ${out}`);
  return { proc, port };
}

interface PairResult {
  sync_s: number;
  rounds: { n: number; cli_s: number; chunks_pushed: number; bytes_pushed: number; errors: string[] }[];
  copies: number;
  best_route: string | null;
  a_peak_rss_mib: number | null;
  b_peak_rss_mib: number | null;
}

/**
 * Part 3, one pair: start A and B with `cfg`, pair them, warm up, put `src` on A, then sync on A
 * until A's placement shows 2 copies. `cells` holds them for the cleanup.
 */
async function replicatePair(
  label: string,
  work: string,
  src: string,
  cfg: Record<string, unknown>,
  cells: TestCell[],
): Promise<PairResult> {
  const base = { replication_factor: 2, sync_interval_s: 3600, mdns: false, ...cfg };
  const start = async (n: string) => {
    if (interrupted) throw new Error("interrupted");
    const root = join(work, `${label}-${n}`);
    mkdirSync(root);
    // Tracked until it has started, so that a Ctrl-C meanwhile still stops it (cleanup waits).
    const p = startCell({ root, config: { ...base, name: `bench-${label}-${n}` } }).then((c) => (cells.push(c), c));
    starting.add(p);
    try {
      return await p;
    } finally {
      starting.delete(p);
    }
  };
  const a = await start("a");
  const b = await start("b");
  await Promise.all([waitSyncIdle(a), waitSyncIdle(b)]);
  await pair(a, b);
  const idB = await cellId(b);
  await waitSyncIdle(b);
  const warm = await syncRound(a);
  say(
    `pair ${label}: paired, warm-up round ${warm.report.reached}/${warm.report.peers} reached, ${warm.report.benchmarks} route benchmark(s), ${round(warm.seconds, 2)} s`,
  );
  const put = await grove(a, ["put", src, "--as", SYNC_DEST]);
  say(`pair ${label}: put in ${round(put.seconds, 2)} s`);
  const rounds: PairResult["rounds"] = [];
  let syncS = 0;
  let copies = 0;
  for (let n = 1; n <= MAX_ROUNDS && copies < 2; n++) {
    const r = await syncRound(a);
    syncS += r.seconds;
    const rep = r.report;
    rounds.push({ n, cli_s: round(r.seconds, 2), chunks_pushed: rep.chunks_pushed, bytes_pushed: rep.bytes_pushed, errors: rep.errors });
    const pl = JSON.parse((await grove(a, ["placement", "--json"])).stdout) as PlacementReport;
    copies = pl.files.find((f) => f.path === SYNC_DEST)?.copies ?? 0;
    say(
      `pair ${label}: sync round ${n}: ${rep.chunks_pushed} chunks (${round(rep.bytes_pushed / 1e6, 1)} MB) in ${round(r.seconds, 2)} s${rep.errors.length ? `, errors: ${rep.errors.join("; ")}` : ""}; copies ${copies}`,
    );
  }
  if (copies < 2) throw new Error(`pair ${label}: the file has ${copies} copies after ${MAX_ROUNDS} sync rounds`);
  const peers = JSON.parse((await grove(a, ["peers", "--json"])).stdout) as PeerView[];
  const best = peers.find((p) => p.id === idB)?.best_route ?? null;
  say(`pair ${label}: A's best route to B: ${best}`);
  return {
    sync_s: round(syncS, 3),
    rounds,
    copies,
    best_route: best,
    a_peak_rss_mib: peakRssMiB(a.proc.pid),
    b_peak_rss_mib: peakRssMiB(b.proc.pid),
  };
}

const SYNC_DEST = "bench/relay-sync.bin";
const say = (s: string) => console.error(`[relay] ${s}`);
const procs: Subprocess[] = [];
const cells: TestCell[] = [];
let work: string | null = null;
let interrupted = false;
const starting = new Set<Promise<TestCell>>();
let cleaning: Promise<void> | null = null;
/** Stop cells and relays, remove the work dir; once, whether Ctrl-C or the bench's end asks first. */
const cleanup = () => (cleaning ??= stopAll());
const stopAll = async () => {
  interrupted = true;
  await Promise.allSettled([...starting]);
  for (const c of cells.splice(0)) await destroyCell(c).catch(() => {});
  for (const p of procs.splice(0)) {
    if (p.exitCode === null) p.kill("SIGTERM");
    await Promise.race([p.exited, Bun.sleep(5000)]);
    if (p.exitCode === null) p.kill("SIGKILL");
  }
  if (work) rmSync(work, { recursive: true, force: true, maxRetries: 3 });
  work = null;
};
/** Destroy the cells started so far; each stays listed until it is gone (so a Ctrl-C meanwhile still stops it). */
const destroyCells = async () => {
  for (const c of [...cells]) {
    await destroyCell(c);
    const i = cells.indexOf(c);
    if (i >= 0) cells.splice(i, 1);
  }
};
const offSignals = cleanupOnSignal("relay", cleanup);

const { proc, port } = await startRelayProc(
  [
    "--max-per-ip",
    String(IDLE + 16),
    "--max-reservations",
    String(IDLE + 16),
    "--circuit-bytes",
    String(TOTAL * 2),
    "--max-frame-bytes",
    String(FRAME + 1024),
  ],
  procs,
);
const url = `ws://127.0.0.1:${port}/v1/relay`;

let failed = false;
try {
  // 1. Throughput through the relay.
  const a = newKeys();
  const b = newKeys();
  let got = 0;
  const wb = await connect(url, b, [a.id], (n) => (got += n));
  const wa = await connect(url, a, [b.id]);
  const viaRelay = await pump(
    wa,
    (p) => frame(b.id, p),
    TOTAL,
    FRAME,
    () => got,
  );
  say(`through the relay: ${MB} MB in ${viaRelay.toFixed(2)} s`);
  wa.close();
  wb.close();

  // Reference: the same bytes over a direct WebSocket (a tiny echo-less sink in this process).
  let direct = 0;
  const sink = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req, srv) => (srv.upgrade(req) ? undefined : new Response("no")),
    websocket: { maxPayloadLength: FRAME * 2, message: (_ws, m) => void (direct += (m as Buffer).byteLength) },
  });
  const wd = new WebSocket(`ws://127.0.0.1:${sink.port}`);
  await new Promise((r) => (wd.onopen = r));
  const directS = await pump(
    wd,
    (p) => p,
    TOTAL,
    FRAME,
    () => direct,
  );
  say(`direct WebSocket: ${MB} MB in ${directS.toFixed(2)} s`);
  wd.close();
  sink.stop(true);

  // 2. Idle cells.
  const rssBefore = kib(proc.pid, "VmRSS");
  const idle: WebSocket[] = [];
  const t0 = performance.now();
  for (let i = 0; i < IDLE; i += 50)
    idle.push(...(await Promise.all(Array.from({ length: Math.min(50, IDLE - i) }, () => connect(url, newKeys(), [])))));
  const loginS = (performance.now() - t0) / 1000;
  await Bun.sleep(1000);
  const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { cells: number; connections: number };
  const rssIdle = kib(proc.pid, "VmRSS");
  const hwm = kib(proc.pid, "VmHWM");
  for (const w of idle) w.close();

  // 3. Replication between real cells: through a relay, and direct.
  let sync: {
    relay: PairResult;
    direct: PairResult;
    bytes_relayed: number;
    relay_peak_mib: number | null;
    relay_url: string;
    ok: boolean;
  } | null = null;
  if (SYNC_BYTES > 0) {
    const dir = makeWorkDir("relay", undefined, ROOT, SYNC_BYTES * 8);
    if ("error" in dir) throw new Error(dir.error);
    work = dir.work;
    const src = join(work, "random.bin");
    writeRandomFile(src, SYNC_BYTES);
    const r3 = await startRelayProc(["--circuit-bytes", String(Math.max(2 * 1024 ** 3, SYNC_BYTES * 4))], procs);
    const relayUrl = `ws://127.0.0.1:${r3.port}`;
    say(
      `part 3: ${SYNC_MB} MB random file, relay for the cells at ${relayUrl} (pid ${r3.proc.pid}); load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")} (other work on the machine skews these figures)`,
    );
    const relay = await replicatePair("R", work, src, { relays: [relayUrl], advertise: [relayUrl] }, cells);
    const st = (await (await fetch(`http://127.0.0.1:${r3.port}/status`)).json()) as RelayStatus;
    const relayPeak = peakRssMiB(r3.proc.pid);
    await destroyCells();
    const direct = await replicatePair("D", work, src, {}, cells);
    await destroyCells();
    const ok = relay.best_route?.startsWith(relayUrl) === true && st.bytes_relayed >= SYNC_BYTES && !direct.best_route?.startsWith("ws");
    if (!ok)
      say(
        `part 3 CHECK FAILED: pair R best route ${relay.best_route} (want ${relayUrl}/v1/relay), pair D best route ${direct.best_route}, relay passed ${st.bytes_relayed} bytes for a ${SYNC_BYTES}-byte file`,
      );
    failed ||= !ok;
    sync = { relay, direct, bytes_relayed: st.bytes_relayed, relay_peak_mib: relayPeak, relay_url: relayUrl, ok };
  }

  const rows = [
    ["measure", "value", "notes"],
    [
      `${MB} MB through the relay (${FRAME / 1024} KiB frames)`,
      `${(MB / viaRelay).toFixed(1)} MB/s`,
      `${viaRelay.toFixed(2)} s, received bytes counted at the recipient`,
    ],
    [`same bytes, direct WebSocket (reference)`, `${(MB / directS).toFixed(1)} MB/s`, `relay/direct = ${(directS / viaRelay).toFixed(2)}`],
    [`relay RSS before idle cells`, `${rssBefore.toFixed(1)} MiB`, ""],
    [
      `relay RSS with ${status.cells} idle cells logged in`,
      `${rssIdle.toFixed(1)} MiB`,
      `${(((rssIdle - rssBefore) * 1024) / Math.max(1, status.cells)).toFixed(1)} KiB per cell; logins took ${loginS.toFixed(1)} s`,
    ],
    [`relay peak RSS (VmHWM) over the run`, `${hwm.toFixed(1)} MiB`, ""],
  ];
  const syncRatio = sync ? round(sync.direct.sync_s / sync.relay.sync_s, 2) : null;
  if (sync) {
    const rounds = (p: PairResult) => `${p.rounds.length} round${p.rounds.length > 1 ? "s" : ""}`;
    rows.push(
      [
        `cells: ${SYNC_MB} MB grove sync to 2 copies, through the relay`,
        `${mbPerSec(SYNC_BYTES, sync.relay.sync_s)} MB/s`,
        `${sync.relay.sync_s} s, ${rounds(sync.relay)}; best route ${sync.relay.best_route}`,
      ],
      [
        `cells: same file, direct loopback routes`,
        `${mbPerSec(SYNC_BYTES, sync.direct.sync_s)} MB/s`,
        `${sync.direct.sync_s} s, ${rounds(sync.direct)}; relay/direct = ${syncRatio}; best route ${sync.direct.best_route}`,
      ],
      [
        `cells: bytes through the relay (GET /status)`,
        `${round(sync.bytes_relayed / 1e6, 1)} MB`,
        `${round(sync.bytes_relayed / SYNC_BYTES, 3)}x the file`,
      ],
      [`cells: relay peak RSS (VmHWM)`, `${sync.relay_peak_mib} MiB`, "its own grove relay process"],
      [
        `cells: A peak RSS (VmHWM), relay / direct`,
        `${sync.relay.a_peak_rss_mib} / ${sync.direct.a_peak_rss_mib} MiB`,
        `B: ${sync.relay.b_peak_rss_mib} / ${sync.direct.b_peak_rss_mib} MiB`,
      ],
    );
  }
  console.log(`\nrelay bench: grove relay on 127.0.0.1, simulated cells in this process, ${navigator.hardwareConcurrency} cores`);
  console.log(table(rows));
  console.log(
    JSON.stringify({
      bench: "relay",
      mb: MB,
      frame_bytes: FRAME,
      relay_mb_s: +(MB / viaRelay).toFixed(1),
      direct_mb_s: +(MB / directS).toFixed(1),
      idle_cells: status.cells,
      rss_before_mib: +rssBefore.toFixed(1),
      rss_idle_mib: +rssIdle.toFixed(1),
      rss_peak_mib: +hwm.toFixed(1),
      sync_mb: SYNC_MB,
      sync_relay_mb_s: sync ? mbPerSec(SYNC_BYTES, sync.relay.sync_s) : null,
      sync_direct_mb_s: sync ? mbPerSec(SYNC_BYTES, sync.direct.sync_s) : null,
      sync_relay_direct_ratio: syncRatio,
      sync_relay_s: sync?.relay.sync_s ?? null,
      sync_direct_s: sync?.direct.sync_s ?? null,
      sync_relay_rounds: sync?.relay.rounds.length ?? null,
      sync_direct_rounds: sync?.direct.rounds.length ?? null,
      sync_bytes_relayed: sync?.bytes_relayed ?? null,
      sync_relay_rss_peak_mib: sync?.relay_peak_mib ?? null,
      sync_cell_a_relay_rss_peak_mib: sync?.relay.a_peak_rss_mib ?? null,
      sync_cell_a_direct_rss_peak_mib: sync?.direct.a_peak_rss_mib ?? null,
      sync_relay_best_route: sync?.relay.best_route ?? null,
      sync_direct_best_route: sync?.direct.best_route ?? null,
      sync_ok: sync?.ok ?? null,
    }),
  );
} catch (e) {
  failed = true;
  console.error(`relay: ${e instanceof Error ? e.message : String(e)}`);
  if (!interrupted) for (const c of cells) console.error(`--- cell ${c.url} output (tail) ---\n${c.output().slice(-4000)}`);
} finally {
  offSignals();
  await cleanup();
}
if (failed) process.exit(1);
