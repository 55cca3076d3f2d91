/**
 * @module bench/lib/workloads — the four workloads of bench/replicate.ts, each on fresh cells A and
 * B (Grove) or a fresh pair of instances (Syncthing), all on 127.0.0.1. Each returns its time, the
 * disk's bytes read and written over the timed part (`diskMeter`: the whole device, so both
 * cells or both instances, which share this machine's disk) and the processes' peak RSS (VmHWM).
 *
 *   a  drop-in      the file copied (dd bs=4M) into A's GROVE_HOME; A's watcher stores it once it
 *                   has stopped changing (two looks `watch_debounce_ms` apart after the last write,
 *                   so at least 2 × the debounce), A runs its own round `sync_after_change_s` after
 *                   the store; until A's placement shows 2 copies.
 *                   Syncthing: copy into A's folder + REST scan, until the complete file is in B's.
 *   b  put          `grove put` (a CLI process) then `grove sync` rounds until 2 copies.
 *                   Syncthing: the same run as a (its drop-in is its end to end).
 *   c  transfer     b's sync part alone: the chunks sealed on A, none on B yet, until 2 copies
 *                   (timed from put's end over the `grove sync` calls, as b).
 *                   Syncthing: that run's transfer phase (scan done until the file is on B).
 *   d  small files  N files of 4-64 KiB copied (cp -r) into A's GROVE_HOME, stored by the watcher,
 *                   pushed by A's own rounds, until B's placement.db holds a chunk of each for A.
 *                   Syncthing: cp -r into A's folder + REST scan, until all N are in B's folder.
 *
 * Every timed part starts with the page cache dropped (when root). A guard asks for a round
 * itself (`grove sync`, counted as `extra_rounds`) only when A has stored everything, runs no
 * round and is still not done 10 s later: a cell's own rounds should never need it.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Database } from "bun:sqlite";
import { destroyCell, startCell, type TestCell } from "../../test/helpers/cell.ts";
import type { SyncReport } from "../../src/sync/round.ts";
import { cellId, freePort, grove, pair, placement, profiledCommand, scanOn, syncRound, waitSyncIdle } from "./cells.ts";
import { GNU_TIME, cpuSplit, diskMeter, mbPerSec, peakRssMiB, round, sha256File, timed, writeBytes, type DiskIo } from "./measure.ts";
import { SyncthingPair } from "./syncthing.ts";

export type WorkloadId = "a" | "b" | "c" | "d";
export const WORKLOAD_IDS: WorkloadId[] = ["a", "b", "c", "d"];

/** Cells that take files as a user drops them (a, d): the debounce as shipped, a round 1 s after a store (default 5 s). */
export const DROP_IN_CONFIG = { watch_debounce_ms: 1000, sync_after_change_s: 1 };
/** Cells that sync only when the bench asks (b, c), as before. */
export const ON_DEMAND_CONFIG = { sync_after_change_s: 0 };

const POLL_MS = 100;
const STALL_MS = 10_000;
const TIMEOUT_MS = 30 * 60_000;

export interface Ctx {
  work: string;
  say(msg: string): void;
  /** Drop the page cache (root) before a timed part. */
  drop(): boolean;
  /** --keep: stop processes but leave their folders. */
  keep: boolean;
  /** What runs now, for the cleanup after an error or a signal. */
  live: { cells: TestCell[]; st: SyncthingPair | null };
}

// ---------------------------------------------------------------- Grove

export interface GrovePair {
  a: TestCell;
  b: TestCell;
  idA: string;
  idB: string;
  crypto: string;
  warmupBenchmarks: number;
}

/**
 * Start A and B (replication factor 2, sync_interval_s 3600: rounds on demand or after a store),
 * pair them by invite (B is a storage peer: ciphertext only) and run a warm-up round on A that
 * probes B and makes the route's first 256 KB benchmark, so neither is timed.
 */
export async function startPair(ctx: Ctx, tag: string, config: Record<string, unknown>): Promise<GrovePair> {
  // push_on_store as a running cell has it by default (test cells turn it off unless asked);
  // BENCH_NO_PUSH_ON_STORE=1 measures the rounds alone, for comparison.
  const cfg = { replication_factor: 2, sync_interval_s: 3600, push_on_store: process.env.BENCH_NO_PUSH_ON_STORE !== "1", ...config };
  const start = async (side: string) => {
    const root = join(ctx.work, `${tag}-${side}`);
    mkdirSync(root);
    const cmd = profiledCommand(`${tag}-${side}`); // BENCH_CPU_PROF=DIR
    const c = await startCell({ root, config: { ...cfg, name: `bench-${tag}-${side}` }, cmd });
    ctx.live.cells.push(c);
    return c;
  };
  const a = await start("a");
  const b = await start("b");
  await Promise.all([waitSyncIdle(a), waitSyncIdle(b)]);
  await pair(a, b);
  const [idA, idB] = await Promise.all([cellId(a), cellId(b)]);
  await waitSyncIdle(b);
  const crypto = /crypto: (\S+)/.exec(a.output())?.[1] ?? "?";
  const warm = await syncRound(a);
  ctx.say(
    `grove ${tag}: A ${idA.slice(0, 8)} (pid ${a.proc.pid}) and B ${idB.slice(0, 8)} (pid ${b.proc.pid}) paired; config ${JSON.stringify(config)}; warm-up round: ${warm.report.reached}/${warm.report.peers} reached, ${warm.report.benchmarks} route benchmark(s)`,
  );
  return { a, b, idA, idB, crypto, warmupBenchmarks: warm.report.benchmarks };
}

async function stopPair(ctx: Ctx, p: GrovePair): Promise<void> {
  for (const c of [p.a, p.b]) {
    if (ctx.keep) await c.stop();
    else await destroyCell(c);
    ctx.live.cells = ctx.live.cells.filter((x) => x !== c);
  }
}

function withHeld<T>(cell: TestCell, f: (db: Database) => T): T {
  const db = new Database(join(cell.dir, "placement.db"), { readonly: true });
  try {
    return f(db);
  } finally {
    db.close();
  }
}

/** Chunks `holder` keeps for `owner` (its placement.db, read-only, from this process). */
export function heldCount(holder: TestCell, owner: string): number {
  return withHeld(holder, (db) => (db.query("SELECT count(*) AS n FROM held WHERE owner = ?").get(owner) as { n: number }).n);
}

/** SHA-256 (hex) of a file of at most a few MiB (a chunk, a small file), read whole. */
function sha256Of(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

/** Every chunk B keeps for A (a row of placement.db when small, else a file: store/chunk-store): count, and whether each hashes to its name. */
export function verifyHeld(b: TestCell, owner: string): { chunks: number; verified: boolean } {
  return withHeld(b, (db) => {
    const rows = db.query("SELECT chunk_hash FROM held WHERE owner = ?").values(owner) as [string][];
    const inline = db.query("SELECT body FROM inline_chunks WHERE hash = ?");
    let ok = true;
    for (const [h] of rows) {
      const row = inline.get(h) as { body: Uint8Array } | null;
      const p = join(b.dir, "chunks", h.slice(0, 2), h);
      const hash = row ? new Bun.CryptoHasher("sha256").update(row.body).digest("hex") : existsSync(p) ? sha256Of(p) : null;
      if (hash !== h) ok = false;
    }
    return { chunks: rows.length, verified: ok };
  });
}

async function syncState(a: TestCell): Promise<{ running: boolean; last: SyncReport | null }> {
  const res = await a.api("/api/sync");
  if (!res.ok) throw new Error(`GET /api/sync: ${res.status} ${await res.text()}`);
  return (await res.json()) as { running: boolean; last: SyncReport | null };
}

/**
 * Poll (every 100 ms) until `probe` says done. `probe(wantStored)` also says, when asked (at most
 * every `storedEveryMs`), whether A has stored everything; the first time it has is `tStored`.
 * The stall guard (see the module comment) may ask for rounds; they are counted.
 */
async function untilDurable(
  ctx: Ctx,
  a: TestCell,
  what: string,
  storedEveryMs: number,
  probe: (wantStored: boolean) => Promise<{ stored?: boolean; done: boolean }>,
): Promise<{ tStored: number | null; tDone: number; extraRounds: number }> {
  let tStored: number | null = null;
  let lastStoredAsk = Number.NEGATIVE_INFINITY;
  let lastGuard = Number.NEGATIVE_INFINITY;
  let lastStateAsk = Number.NEGATIVE_INFINITY;
  let extraRounds = 0;
  const deadline = performance.now() + TIMEOUT_MS;
  for (;;) {
    const now = performance.now();
    const wantStored = tStored === null && now - lastStoredAsk >= storedEveryMs;
    if (wantStored) lastStoredAsk = now;
    const r = await probe(wantStored);
    const t = performance.now();
    if (tStored === null && (r.stored || r.done)) tStored = t;
    if (r.done) return { tStored, tDone: t, extraRounds };
    const since = tStored === null ? 0 : t - tStored;
    const guard = since > STALL_MS && t - lastGuard > STALL_MS && t - lastStateAsk > 1000;
    if (guard) lastStateAsk = t;
    if (guard && !(await syncState(a)).running) {
      extraRounds++;
      ctx.say(`grove: ${what}: A stored everything ${round(since / 1000, 1)} s ago and runs no round: asking for one (grove sync)`);
      await syncRound(a);
      lastGuard = performance.now();
      continue;
    }
    if (t > deadline) throw new Error(`grove: ${what} not done within ${TIMEOUT_MS / 60_000} minutes`);
    await Bun.sleep(POLL_MS);
  }
}

/** What each Grove workload reports besides its own figures. */
export interface GroveCommon {
  crypto: string;
  warmup_benchmarks: number;
  /** B keeps this many chunks for A after the workload, each hashing to its name. */
  b_holds_chunks: number;
  b_chunks_verified: boolean;
  cell_a_peak_rss_mb: number | null;
  cell_b_peak_rss_mb: number | null;
}

export interface GroveDropIn extends GroveCommon {
  /** Copy start until A's placement shows 2 copies. */
  s: number;
  disk: DiskIo | null;
  copy_s: number;
  /** Copy start until A lists the file (poll every 100 ms). */
  stored_s: number;
  chunks: number;
  copies: number;
  /** A's last round (the one that pushed, unless the guard asked for more). */
  last_round: { chunks_pushed: number; bytes_pushed: number; duration_ms: number; errors: string[] } | null;
  extra_rounds: number;
  /** What made A store the file: POST /api/scan once the copy is done (as Syncthing's REST scan), or its watcher alone. */
  trigger: DropTrigger;
}

export type DropTrigger = "scan" | "watcher";

/**
 * a: the file dropped into A's GROVE_HOME, until 2 copies. `trigger` "scan": once the copy is
 * done, POST /api/scan of it (A stores it at once; Syncthing's side is asked the same way);
 * "watcher": A's watcher alone, its debounce in the time.
 */
export async function groveDropIn(ctx: Ctx, src: string, name: string, trigger: DropTrigger = "scan"): Promise<GroveDropIn> {
  const p = await startPair(ctx, "dropin", DROP_IN_CONFIG);
  const { a, b } = p;
  mkdirSync(a.home, { recursive: true });
  const dest = join(a.home, name);
  const disk = diskMeter(ctx.work);
  ctx.drop();
  disk.start();
  const t0 = performance.now();
  const cp = await timed(["dd", `if=${src}`, `of=${dest}`, "bs=4M"]);
  if (cp.code !== 0) throw new Error(`dd into A's GROVE_HOME failed: ${cp.stderr}`);
  const t1 = performance.now();
  // Answers once the file is stored; its chunks are pushed meanwhile (push on store).
  const scan = trigger === "scan" ? scanOn(a, name) : null;
  scan?.catch(() => {}); // awaited below, once the copies are counted
  let file: { chunks: number; copies: number } | undefined;
  const w = await untilDurable(ctx, a, "drop-in", 0, async () => {
    file = (await placement(a)).files.find((f) => f.path === name);
    return { stored: file !== undefined, done: (file?.copies ?? 0) >= 2 };
  });
  await scan;
  const s = (w.tDone - t0) / 1000;
  const io = disk.stop(s);
  await waitSyncIdle(a); // the round goes on after the last push (backups, bounty): its report, untimed
  const last = (await syncState(a)).last;
  const held = verifyHeld(b, p.idA);
  const out: GroveDropIn = {
    s: round(s, 3),
    disk: io,
    copy_s: round((t1 - t0) / 1000, 3),
    stored_s: round(((w.tStored ?? w.tDone) - t0) / 1000, 3),
    chunks: file?.chunks ?? 0,
    copies: file?.copies ?? 0,
    last_round: last
      ? { chunks_pushed: last.chunks_pushed, bytes_pushed: last.bytes_pushed, duration_ms: last.duration_ms, errors: last.errors }
      : null,
    extra_rounds: w.extraRounds,
    trigger,
    crypto: p.crypto,
    warmup_benchmarks: p.warmupBenchmarks,
    b_holds_chunks: held.chunks,
    b_chunks_verified: held.verified,
    cell_a_peak_rss_mb: peakRssMiB(a.proc.pid),
    cell_b_peak_rss_mb: peakRssMiB(b.proc.pid),
  };
  ctx.say(
    `grove drop-in: copy ${out.copy_s} s, stored on A at ${out.stored_s} s, 2 copies at ${out.s} s (${out.chunks} chunks; B keeps ${held.chunks}, all hash to their names: ${held.verified}); extra rounds asked: ${w.extraRounds}`,
  );
  await stopPair(ctx, p);
  return out;
}

export interface RoundRow {
  n: number;
  cli_s: number;
  chunks_pushed: number;
  bytes_pushed: number;
  backups_pushed: number;
  duration_ms: number;
  errors: string[];
}

export interface GrovePut extends GroveCommon {
  put_s: number;
  put_disk: DiskIo | null;
  /** c: put's end until 2 copies (the `grove sync` CLI calls and placement checks included). */
  sync_s: number;
  sync_disk: DiskIo | null;
  /** b: put + sync. */
  end_to_end_s: number;
  end_to_end_disk: DiskIo | null;
  rounds: RoundRow[];
  copies: number;
  chunks: number;
  cell_a_rss_after_put_mb: number | null;
  cli_put_peak_rss_mb: number | null;
  sync_cores_a: number | null;
  sync_cores_b: number | null;
}

/** b and c: `grove put` on A, then `grove sync` on A until A's placement shows 2 copies. */
export async function grovePutSync(
  ctx: Ctx,
  src: string,
  bytes: number,
  dest: string,
  maxRounds: number,
  config: Record<string, unknown> = {},
): Promise<GrovePut> {
  const p = await startPair(ctx, config.push_on_store === false ? "transfer" : "put", { ...ON_DEMAND_CONFIG, ...config });
  const { a, b } = p;
  const whole = diskMeter(ctx.work);
  const disk = diskMeter(ctx.work);
  ctx.drop();
  whole.start();
  disk.start();
  const t0 = performance.now();
  const put = await grove(a, ["put", src, "--as", dest], { gnuTime: GNU_TIME, timeFile: join(ctx.work, "time.txt") });
  const tPut = performance.now();
  const putDisk = disk.stop((tPut - t0) / 1000);
  disk.start();
  const rssAfterPut = peakRssMiB(a.proc.pid);
  ctx.say(`grove put: ${round(put.seconds, 2)} s, ${mbPerSec(bytes, put.seconds)} MB/s; ${put.stdout.trim().split("\n").pop()}`);

  const cpuA0 = cpuSplit(a.proc.pid);
  const cpuB0 = cpuSplit(b.proc.pid);
  const rounds: RoundRow[] = [];
  let copies = 0;
  let chunks = 0;
  for (let n = 1; n <= maxRounds; n++) {
    const r = await syncRound(a);
    const rep = r.report;
    rounds.push({
      n,
      cli_s: round(r.seconds, 2),
      chunks_pushed: rep.chunks_pushed,
      bytes_pushed: rep.bytes_pushed,
      backups_pushed: rep.backups_pushed,
      duration_ms: rep.duration_ms,
      errors: rep.errors,
    });
    const f = (await placement(a)).files.find((x) => x.path === dest);
    copies = f?.copies ?? 0;
    chunks = f?.chunks ?? 0;
    ctx.say(
      `grove sync round ${n}: ${rep.chunks_pushed} chunks pushed (${round(rep.bytes_pushed / 1e6, 1)} MB), ${rep.backups_pushed} backups, ${round(r.seconds, 2)} s${rep.errors.length ? `, errors: ${rep.errors.join("; ")}` : ""}; copies now ${copies}`,
    );
    if (copies >= 2) break;
  }
  const tEnd = performance.now();
  const syncS = (tEnd - tPut) / 1000;
  const syncDisk = disk.stop(syncS);
  const wholeDisk = whole.stop((tEnd - t0) / 1000);
  const cpuA1 = cpuSplit(a.proc.pid);
  const cpuB1 = cpuSplit(b.proc.pid);
  const cores = (x: typeof cpuA0, y: typeof cpuA0) => (x && y ? round((y.user + y.sys - x.user - x.sys) / syncS, 2) : null);
  const held = verifyHeld(b, p.idA);
  const out: GrovePut = {
    put_s: round(put.seconds, 3),
    put_disk: putDisk,
    sync_s: round(syncS, 3),
    sync_disk: syncDisk,
    end_to_end_s: round((tEnd - t0) / 1000, 3),
    end_to_end_disk: wholeDisk,
    rounds,
    copies,
    chunks,
    crypto: p.crypto,
    warmup_benchmarks: p.warmupBenchmarks,
    b_holds_chunks: held.chunks,
    b_chunks_verified: held.verified,
    cell_a_peak_rss_mb: peakRssMiB(a.proc.pid),
    cell_a_rss_after_put_mb: rssAfterPut,
    cell_b_peak_rss_mb: peakRssMiB(b.proc.pid),
    cli_put_peak_rss_mb: put.maxRssMiB,
    sync_cores_a: cores(cpuA0, cpuA1),
    sync_cores_b: cores(cpuB0, cpuB1),
  };
  ctx.say(`grove put: B keeps ${held.chunks} chunks for A (file has ${chunks}), every one hashes to its name: ${held.verified}`);
  await stopPair(ctx, p);
  return out;
}

/** N small files of random bytes under `dir` (d0..d19/fI.bin), sizes spread evenly from min to max bytes. */
export interface SmallSet {
  /** The folder copied in whole (its name is the stored prefix, `small/`). */
  dir: string;
  files: { rel: string; size: number; sha256: string }[];
  bytes: number;
}

export function writeSmallFiles(dir: string, n: number, minBytes = 4 * 1024, maxBytes = 64 * 1024): SmallSet {
  const files: SmallSet["files"] = [];
  let bytes = 0;
  for (let d = 0; d < Math.min(20, n); d++) mkdirSync(join(dir, `d${d}`), { recursive: true });
  for (let i = 0; i < n; i++) {
    const size = Math.round(minBytes + ((maxBytes - minBytes) * i) / Math.max(1, n - 1));
    const body = randomBytes(size);
    const rel = `d${i % 20}/f${i}.bin`;
    writeFileSync(join(dir, rel), body);
    files.push({ rel, size, sha256: new Bun.CryptoHasher("sha256").update(body).digest("hex") });
    bytes += size;
  }
  Bun.spawnSync(["sync"]);
  return { dir, files, bytes };
}

export interface GroveSmall extends GroveCommon {
  /** Copy start until B holds N chunks for A. */
  s: number;
  disk: DiskIo | null;
  copy_s: number;
  /** Copy start until A's watcher reports N files stored (polled every 500 ms). */
  stored_s: number;
  /** Files under small/ with 2 copies in A's placement afterwards. */
  files_with_2_copies: number;
  last_round: { chunks_pushed: number; bytes_pushed: number; duration_ms: number; errors: string[] } | null;
  extra_rounds: number;
  /** MB each cell caused to be written (/proc/PID/io write_bytes) from the copy until B held every file; cp's own writes are not in them. */
  cell_a_written_mb: number | null;
  cell_b_written_mb: number | null;
}

/** MB used by each entry of a cell's GROVE_DIR (du -sm), largest first: where its writes stayed. */
function stateSizes(dir: string): string {
  const r = Bun.spawnSync(["sh", "-c", 'du -sm -- "$1"/* | sort -rn | head -6', "du", dir]);
  return r.stdout
    .toString()
    .trim()
    .split("\n")
    .map((l) => l.replace(`${dir}/`, "").replace("\t", " MB "))
    .join(", ");
}

/** d: the small files copied into A's GROVE_HOME (cp -r), until B holds a chunk of each for A. */
export async function groveSmallFiles(ctx: Ctx, set: SmallSet): Promise<GroveSmall> {
  const p = await startPair(ctx, "small", DROP_IN_CONFIG);
  const { a, b } = p;
  const n = set.files.length;
  mkdirSync(a.home, { recursive: true });
  const disk = diskMeter(ctx.work);
  ctx.drop();
  disk.start();
  const w0 = [writeBytes(a.proc.pid), writeBytes(b.proc.pid)];
  const t0 = performance.now();
  const cp = await timed(["cp", "-r", set.dir, `${a.home}/`]);
  if (cp.code !== 0) throw new Error(`cp -r into A's GROVE_HOME failed: ${cp.stderr}`);
  const t1 = performance.now();
  let held = 0;
  let lastSaid = t1;
  const w = await untilDurable(ctx, a, "small files", 500, async (wantStored) => {
    let stored: boolean | undefined;
    if (wantStored) {
      const st = (await (await a.api("/api/status")).json()) as { watching: { stored: number } | null };
      stored = (st.watching?.stored ?? 0) >= n;
    }
    held = heldCount(b, p.idA);
    if (performance.now() - lastSaid > 10_000) {
      lastSaid = performance.now();
      ctx.say(`grove small files: B holds ${held}/${n} after ${round((lastSaid - t0) / 1000, 1)} s`);
    }
    return { stored, done: held >= n };
  });
  const s = (w.tDone - t0) / 1000;
  const io = disk.stop(s);
  const w1 = [writeBytes(a.proc.pid), writeBytes(b.proc.pid)];
  const mbWritten = (i: number) => (w0[i] === null || w1[i] === null ? null : round((w1[i]! - w0[i]!) / 1e6, 1));
  await waitSyncIdle(a); // A records the last batch's placements once B has answered: wait for the round's end, untimed
  const last = (await syncState(a)).last;
  const withTwo = (await placement(a)).files.filter((f) => f.path.startsWith("small/") && f.copies >= 2).length;
  const v = verifyHeld(b, p.idA);
  ctx.say(`grove small files: what A and B keep afterwards (du -sm): A ${stateSizes(a.dir)}; B ${stateSizes(b.dir)}`);
  const out: GroveSmall = {
    s: round(s, 3),
    disk: io,
    copy_s: round((t1 - t0) / 1000, 3),
    stored_s: round(((w.tStored ?? w.tDone) - t0) / 1000, 3),
    files_with_2_copies: withTwo,
    last_round: last
      ? { chunks_pushed: last.chunks_pushed, bytes_pushed: last.bytes_pushed, duration_ms: last.duration_ms, errors: last.errors }
      : null,
    extra_rounds: w.extraRounds,
    cell_a_written_mb: mbWritten(0),
    cell_b_written_mb: mbWritten(1),
    crypto: p.crypto,
    warmup_benchmarks: p.warmupBenchmarks,
    b_holds_chunks: v.chunks,
    b_chunks_verified: v.verified,
    cell_a_peak_rss_mb: peakRssMiB(a.proc.pid),
    cell_b_peak_rss_mb: peakRssMiB(b.proc.pid),
  };
  ctx.say(
    `grove small files: copy ${out.copy_s} s, all ${n} stored on A by ${out.stored_s} s, held on B at ${out.s} s; ${withTwo}/${n} with 2 copies on A; B keeps ${v.chunks} chunks, all hash to their names: ${v.verified}; extra rounds asked: ${w.extraRounds}; written by A ${out.cell_a_written_mb} MB, by B ${out.cell_b_written_mb} MB`,
  );
  await stopPair(ctx, p);
  return out;
}

// ---------------------------------------------------------------- Syncthing

export interface StCommon {
  peak_rss_a_mb: number | null;
  peak_rss_b_mb: number | null;
  sockets_seen: number;
  non_loopback: string[];
  log_mentions: string[];
}

export interface StLarge extends StCommon {
  /** a and b: copy-in + scan + transfer. */
  end_to_end_s: number;
  disk: DiskIo | null;
  copy_s: number;
  scan_s: number;
  copy_scan_disk: DiskIo | null;
  /** c: scan done until the complete file is in B's folder. */
  transfer_s: number;
  transfer_disk: DiskIo | null;
  identical: boolean;
}

export interface StSmall extends StCommon {
  s: number;
  disk: DiskIo | null;
  copy_s: number;
  scan_s: number;
  /** Scan done until all N files are in B's folder. */
  transfer_s: number;
  identical: boolean;
}

async function startSyncthing(
  ctx: Ctx,
  bin: string,
  tag: string,
): Promise<{ st: SyncthingPair; checks: { sockets: number; nonLoopback: string[] }[] }> {
  const root = join(ctx.work, tag);
  mkdirSync(root);
  const st = new SyncthingPair(bin, root, { aListen: freePort(), aGui: freePort(), bListen: freePort(), bGui: freePort() });
  ctx.live.st = st;
  st.setup();
  await st.start();
  await st.checkOptions();
  await st.waitConnected();
  ctx.say(
    `syncthing ${tag}: both instances up and connected over 127.0.0.1 (device ids ${st.a.deviceId.slice(0, 7)}, ${st.b.deviceId.slice(0, 7)})`,
  );
  return { st, checks: [st.networkCheck()] };
}

/** Peak RSS, the network checks, then stop both and read their logs for anything reaching out. */
async function finishSyncthing(
  ctx: Ctx,
  st: SyncthingPair,
  tag: string,
  checks: { sockets: number; nonLoopback: string[] }[],
): Promise<StCommon> {
  checks.push(st.networkCheck());
  const out: StCommon = {
    peak_rss_a_mb: st.peakRssMiB(st.a),
    peak_rss_b_mb: st.peakRssMiB(st.b),
    sockets_seen: Math.max(...checks.map((c) => c.sockets)),
    non_loopback: checks.flatMap((c) => c.nonLoopback),
    log_mentions: [],
  };
  await st.stop();
  for (const i of [st.a, st.b])
    for (const line of i.log.split("\n"))
      if (!/\[stnoupgrade\]/.test(line) && /discover|relay|upgrade|usage report|crash|stun|nat-pmp|upnp|announce/i.test(line))
        out.log_mentions.push(`${i.name}: ${line.trim()}`);
  ctx.live.st = null;
  if (!ctx.keep) rmSync(join(ctx.work, tag), { recursive: true, force: true });
  return out;
}

/** a, b and c for Syncthing: dd into A's folder, REST scan, until the complete file is in B's folder. */
export async function syncthingLarge(ctx: Ctx, bin: string, src: string, srcHash: string, bytes: number, name: string): Promise<StLarge> {
  const { st, checks } = await startSyncthing(ctx, bin, "st-large");
  const inA = st.pathIn(st.a, name);
  const inB = st.pathIn(st.b, name);
  const whole = diskMeter(ctx.work);
  const disk = diskMeter(ctx.work);
  ctx.drop();
  whole.start();
  disk.start();
  const t0 = performance.now();
  const cp = await timed(["dd", `if=${src}`, `of=${inA}`, "bs=4M"]);
  if (cp.code !== 0) throw new Error(`dd into syncthing folder failed: ${cp.stderr}`);
  const t1 = performance.now();
  await st.scan(st.a);
  const t2 = performance.now();
  const copyScanDisk = disk.stop((t2 - t0) / 1000);
  disk.start();
  let sampled = false;
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    let size = -1;
    try {
      size = statSync(inB).size;
    } catch {}
    if (size === bytes) break;
    if (!sampled && performance.now() - t2 > 1000) {
      checks.push(st.networkCheck());
      sampled = true;
    }
    if (Date.now() > deadline) throw new Error("syncthing: B did not get the file within 30 minutes");
    await Bun.sleep(20);
  }
  const t3 = performance.now();
  const transferDisk = disk.stop((t3 - t2) / 1000);
  const wholeDisk = whole.stop((t3 - t0) / 1000);
  const status = await st.folderStatus(st.b);
  const identical = sha256File(inB) === srcHash;
  ctx.say(
    `syncthing: copy-in ${round((t1 - t0) / 1000, 2)} s, scan ${round((t2 - t1) / 1000, 2)} s, transfer ${round((t3 - t2) / 1000, 2)} s; B's folder: state ${status.state}, need ${status.needFiles} files; identical: ${identical}`,
  );
  const common = await finishSyncthing(ctx, st, "st-large", checks);
  return {
    ...common,
    end_to_end_s: round((t3 - t0) / 1000, 3),
    disk: wholeDisk,
    copy_s: round((t1 - t0) / 1000, 3),
    scan_s: round((t2 - t1) / 1000, 3),
    copy_scan_disk: copyScanDisk,
    transfer_s: round((t3 - t2) / 1000, 3),
    transfer_disk: transferDisk,
    identical,
  };
}

/** Files of the set present in `folder` (Syncthing renames each into place once complete). */
function countIn(folder: string, set: SmallSet): number {
  let n = 0;
  const dirs = new Set(set.files.map((f) => f.rel.split("/")[0]!));
  for (const d of dirs) {
    try {
      for (const f of readdirSync(join(folder, d))) if (/^f\d+\.bin$/.test(f)) n++;
    } catch {}
  }
  return n;
}

/** d for Syncthing: cp -r into A's folder, REST scan, until all N files are in B's folder. */
export async function syncthingSmall(ctx: Ctx, bin: string, set: SmallSet): Promise<StSmall> {
  const { st, checks } = await startSyncthing(ctx, bin, "st-small");
  const sub = set.dir.split("/").pop()!;
  const inB = join(st.b.folder, sub);
  const n = set.files.length;
  const disk = diskMeter(ctx.work);
  ctx.drop();
  disk.start();
  const t0 = performance.now();
  const cp = await timed(["cp", "-r", set.dir, `${st.a.folder}/`]);
  if (cp.code !== 0) throw new Error(`cp -r into syncthing folder failed: ${cp.stderr}`);
  const t1 = performance.now();
  await st.scan(st.a);
  const t2 = performance.now();
  let sampled = false;
  let lastSaid = t2;
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const have = countIn(inB, set);
    if (have >= n) break;
    if (!sampled && performance.now() - t2 > 1000) {
      checks.push(st.networkCheck());
      sampled = true;
    }
    if (performance.now() - lastSaid > 10_000) {
      lastSaid = performance.now();
      ctx.say(`syncthing small files: B has ${have}/${n} after ${round((lastSaid - t0) / 1000, 1)} s`);
    }
    if (Date.now() > deadline) throw new Error("syncthing: B did not get every small file within 30 minutes");
    await Bun.sleep(POLL_MS);
  }
  const t3 = performance.now();
  const io = disk.stop((t3 - t0) / 1000);
  const identical = set.files.every((f) => {
    const p = join(inB, f.rel);
    return existsSync(p) && statSync(p).size === f.size && sha256Of(p) === f.sha256;
  });
  ctx.say(
    `syncthing small files: copy-in ${round((t1 - t0) / 1000, 2)} s, scan ${round((t2 - t1) / 1000, 2)} s, until all ${n} on B ${round((t3 - t2) / 1000, 2)} s; all identical: ${identical}`,
  );
  const common = await finishSyncthing(ctx, st, "st-small", checks);
  return {
    ...common,
    s: round((t3 - t0) / 1000, 3),
    disk: io,
    copy_s: round((t1 - t0) / 1000, 3),
    scan_s: round((t2 - t1) / 1000, 3),
    transfer_s: round((t3 - t2) / 1000, 3),
    identical,
  };
}
