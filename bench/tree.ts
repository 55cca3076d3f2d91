/**
 * Bench: one tree across my cells, on loopback. How fast a file stored on cell A reaches my other
 * cell B (listed, and written into B's GROVE_HOME), next to Syncthing between two instances in the
 * same run; and how fast my on-demand cell C reads a large file it does not hold, next to a local
 * read on A and Syncthing's transfer of the same file, in the same run. Every ratio compares
 * figures of this one run.
 *
 *   bun bench/tree.ts [--size-mb N] [--files N] [--repeat-small N] [--work-dir DIR] [--keep]
 *                     [--skip-syncthing] [--no-drop-caches]
 *   (--size-mb: the large file in MiB, default 1024; also BENCH_SIZE_MB. --files: default 1000.
 *    --repeat-small: runs of the one-small-file figure, default 5; median, min and max reported.)
 *
 * Grove: three real `grove start` processes (test/helpers/cell.ts: 127.0.0.1, mDNS off), all with
 * sync_interval_s 3600 (no replication round runs during the bench): A ("a") and B ("b") with
 * home_mode "mirror", C ("c") with home_mode "on-demand". B and C each join A with a token from
 * `grove invite --mine`; the bench waits until A lists both, and both list A, as `mine` in GET
 * /api/peers. One untimed warm-up file goes from A to B first (connections, first pull).
 * Syncthing (bench/lib/syncthing.ts; --skip-syncthing skips it; --skip-put-many skips Grove's 1000 PUTs): two instances sharing one folder,
 * loopback only, file watcher off; a file is noticed through a REST scan (the call returns once
 * the scan is done), also with one untimed warm-up file first.
 *
 * Timed (the bench process polls every 5 ms, the listing of many files every 25 ms, or 4 times as
 * long as the last check took when that is longer; each phase starts once the cells are idle).
 * "In B's home" is timed in passes that only look at B's files, as Syncthing's B is watched;
 * "listed on B" in passes of their own (other files, same sizes): asking B's API for its listing
 * every few ms runs on B's main thread while it takes the change in. For one file that made no
 * difference; for 1,000 files dropped in, the listing of all of them every 25 ms or more held B
 * back by a quarter (1.93 s without, 2.43 s with, one run). The time until in B's home in the
 * passes that list is in the JSON (`*_home_with_listing_*`) to show it:
 * 1. One small file (4 KiB, random), --repeat-small times, a new path each time:
 *    Grove: from just before `PUT /api/files/lat/N.bin` on A (fetch from this process: no CLI
 *    start counted) until (a) GET /api/files on B lists it, and (b) `<B's GROVE_HOME>/lat/N.bin`
 *    has the right size and SHA-256. The time until the PUT is answered is shown too.
 *    Grove, dropped in: from just before the file is written into A's GROVE_HOME, through
 *    POST /api/scan of that one path (A's watcher stores it now; the call returns once it is
 *    stored), until B lists it and has it in its GROVE_HOME (size and SHA-256).
 *    Syncthing: from just before the file is written into A's folder, through a REST scan of that
 *    one path, until it is in B's folder with the right size and SHA-256.
 *    The comparable pair is the drop-in (both sides: write + scan); the PUT figures are shown too.
 * 2. --files small files (4-64 KiB, random):
 *    Grove: from the first PUT on A (4 requests at a time) until all are listed on B, and until
 *    all are in B's GROVE_HOME with the right sizes (SHA-256 of each checked after the clock).
 *    Grove, dropped in: another --files files written into A's GROVE_HOME, then one
 *    POST /api/scan of their folder, until all are listed on B and in B's GROVE_HOME.
 *    Syncthing: from the first write into A's folder, through one REST scan of their folder,
 *    until all are in B's folder with the right sizes (SHA-256 checked after the clock).
 *    Ratios: Syncthing time / Grove time until in B's home or folder (> 1: Grove faster); the
 *    target is judged on the drop-in figures, the PUT ones get a ratio of their own.
 * 3. A random file of --size-mb MiB, stored on A with `grove put FILE --as big/big.bin` (not part
 *    of any figure); B mirrors it into its GROVE_HOME (the time from put's end until it is there is
 *    shown for information), so A and B both hold its chunks; C lists it with `local: false` and
 *    has no copy in its GROVE_HOME (asserted). C first reads the small warm-up file on demand
 *    (untimed: connections, code paths). Then page cache dropped (root), and GET /api/files/big/big.bin on C, the body read as a stream and hashed: time to first
 *    byte (request sent until the first piece of the body is read) and MB/s over the whole body;
 *    SHA-256 compared with the source. The CPU seconds A and B used during C's read show which of
 *    them served it. References: the same GET on A (a local
 *    read; page cache dropped again), and Syncthing's transfer of the same file (page cache
 *    dropped, copied into A's folder, scanned, then timed until complete in B's folder).
 *    Ratios: C's MB/s / A's local MB/s, and C's MB/s / Syncthing's transfer MB/s.
 * Also: peak RSS (VmHWM) of A, B and C (the `grove start` processes) and of both Syncthing
 * instances over the whole run; warnings and errors the cells logged; every socket of the cells
 * and of Syncthing is on 127.0.0.1 (ss).
 *
 * Output: progress lines on stderr, a table on stdout, then one JSON object as the last line.
 * MB = 10^6 bytes; memory in MiB. Other work on this machine skews every figure.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { PeerView } from "../src/api/types.ts";
import { ROOT, destroyCell, startCell, type TestCell } from "../test/helpers/cell.ts";
import { cellId, freePort, grove, profiledCommand, scanOn } from "./lib/cells.ts";
import {
  MiB,
  cacheDropper,
  cleanupOnSignal,
  cpuSeconds,
  isRoot,
  makeWorkDir,
  mbPerSec,
  peakRssMiB,
  round,
  sha256File,
  table,
  timed,
  writeRandomFile,
} from "./lib/measure.ts";
import { FOLDER_ID, SyncthingPair, ensureSyncthing } from "./lib/syncthing.ts";

export const name = "tree";
export const summary =
  "one tree: a small file and 1,000 small files from A until on B (listed, in GROVE_HOME) vs Syncthing; 1 GiB on-demand read on C";

export const options = {
  "size-mb": { type: "string" },
  files: { type: "string" },
  "repeat-small": { type: "string" },
  "work-dir": { type: "string" },
  keep: { type: "boolean" },
  "skip-syncthing": { type: "boolean" },
  "no-drop-caches": { type: "boolean" },
  "skip-put-many": { type: "boolean" },
} satisfies ParseArgsConfig["options"];

const SMALL_BYTES = 4096;
const MANY_MIN = 4 * 1024;
const MANY_MAX = 64 * 1024;
const PUT_CONCURRENCY = 4;
const POLL_MS = 5;
const LIST_MANY_MS = 25;
const BIG_PATH = "big/big.bin";
const TARGET_RATIO = 1;

function say(msg: string): void {
  console.error(`[tree] ${msg}`);
}

// ---------------------------------------------------------------------------------------------
// Small utilities

interface SmallFile {
  rel: string;
  body: Uint8Array<ArrayBuffer>;
  hash: string;
}

/** Median, min and max of some runs, in seconds. */
interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

interface ReadResult {
  ttfb_s: number;
  total_s: number;
  mb_s: number;
  identical: boolean;
}

interface Listed {
  path: string;
  size: number;
  local: boolean;
  cells: string[];
}

const sha256 = (b: Uint8Array): string => new Bun.CryptoHasher("sha256").update(b).digest("hex");
const since = (t0: number): number => (performance.now() - t0) / 1000;
const ms = (s: number): number => round(s * 1000, 1);

function spread(xs: number[]): Spread {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median: round(median, 4), min: round(s[0]!, 4), max: round(s.at(-1)!, 4), runs: xs.map((x) => round(x, 4)) };
}

function smallFile(rel: string, size: number): SmallFile {
  const body = new Uint8Array(randomBytes(size));
  return { rel, body, hash: sha256(body) };
}

/** `path` holds `size` bytes and, with `hash`, they hash to it. */
function holds(path: string, size: number, hash?: string): boolean {
  let got: number;
  try {
    got = statSync(path).size;
  } catch {
    return false;
  }
  return got === size && (hash === undefined || sha256(readFileSync(path)) === hash);
}

/**
 * Poll `fn` until it returns something truthy: every `everyMs`, or 4 times as long as the last
 * check took when that is longer (a check of many files, or a listing on a busy cell, then takes
 * at most a fifth of a core from the cells it measures).
 */
async function until<T>(
  what: string,
  fn: () => Promise<T | null | false | undefined> | T | null | false | undefined,
  timeoutMs: number,
  everyMs = POLL_MS,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const t0 = performance.now();
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await Bun.sleep(Math.max(everyMs, 4 * (performance.now() - t0)));
  }
}

/** Wait until the processes use less than `cores` CPU over half a second (at most `maxMs`). */
async function waitQuiet(pids: number[], maxMs = 60_000, cores = 0.05): Promise<void> {
  const total = () => pids.reduce((s, p) => s + (cpuSeconds(p) ?? 0), 0);
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    const c0 = total();
    await Bun.sleep(500);
    if ((total() - c0) / 0.5 < cores) return;
  }
  say(`processes ${pids.join(", ")} still busy after ${maxMs / 1000} s; going on`);
}

/** TCP/UDP sockets of `pids` (ss) whose local or peer address is not 127.0.0.1. */
function nonLoopbackSockets(pids: number[]): { sockets: number; nonLoopback: string[] } {
  const r = Bun.spawnSync(["ss", "-tuanpH"], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) return { sockets: -1, nonLoopback: [`ss failed: ${r.stderr.toString().trim()}`] };
  const want = new Set(pids.map(String));
  let sockets = 0;
  const nonLoopback: string[] = [];
  for (const line of r.stdout.toString().split("\n")) {
    if (![...line.matchAll(/pid=(\d+)/g)].some((m) => want.has(m[1]!))) continue;
    sockets++;
    const [, , , , local = "", peer = ""] = line.trim().split(/\s+/);
    if (!local.startsWith("127.0.0.1:") || !(peer.startsWith("127.0.0.1:") || peer === "*" || peer === "0.0.0.0:*"))
      nonLoopback.push(line.trim());
  }
  return { sockets, nonLoopback };
}

/** Warning and error lines a cell logged. */
function problems(c: TestCell): string[] {
  return c
    .output()
    .split("\n")
    .filter((l) => /^\S+Z (warn|error) /.test(l));
}

// ---------------------------------------------------------------------------------------------
// Grove

interface Fleet {
  a?: TestCell;
  b?: TestCell;
  c?: TestCell;
}

interface Started {
  a: TestCell;
  b: TestCell;
  c: TestCell;
  ids: { a: string; b: string; c: string };
  /** Whether C lists B among its cells too (it then may fetch from B as well as A). */
  cKnowsB: boolean;
}

async function mineIds(c: TestCell): Promise<string[]> {
  const res = await c.api("/api/peers");
  if (!res.ok) return [];
  return ((await res.json()) as PeerView[]).filter((p) => p.mine).map((p) => p.id);
}

async function listing(c: TestCell, prefix: string): Promise<Listed[]> {
  const res = await c.api(`/api/files?prefix=${encodeURIComponent(prefix)}`);
  if (!res.ok) throw new Error(`GET /api/files on ${c.url}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { files: Listed[] }).files;
}

async function putFile(c: TestCell, f: SmallFile): Promise<void> {
  const res = await c.api(`/api/files/${f.rel}`, { method: "PUT", body: f.body });
  if (!res.ok) throw new Error(`PUT /api/files/${f.rel}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

/** Start A, B (mirror) and C (on demand); B and C join A with `grove invite --mine`. */
async function startFleet(work: string, fleet: Fleet): Promise<Started> {
  const cfg = { sync_interval_s: 3600 };
  const start = (n: string, extra: Record<string, unknown> = {}) => {
    const root = join(work, `grove-${n}`);
    mkdirSync(root, { recursive: true });
    return startCell({ root, config: { ...cfg, name: n, ...extra }, cmd: profiledCommand(n) }); // BENCH_CPU_PROF=DIR
  };
  [fleet.a, fleet.b, fleet.c] = await Promise.all([start("a"), start("b"), start("c", { home_mode: "on-demand" })]);
  const { a, b, c } = fleet as Required<Fleet>;
  for (const joiner of [b, c]) {
    const inv = JSON.parse((await grove(a, ["invite", "--mine", "--json"])).stdout) as { token: string; kind: string };
    if (inv.kind !== "mine") throw new Error(`grove invite --mine gave an invite of kind '${inv.kind}'`);
    await grove(joiner, ["join", inv.token]);
  }
  const [ia, ib, ic] = await Promise.all([a, b, c].map(cellId));
  const ids = { a: ia!, b: ib!, c: ic! };
  await until(
    "A to list B and C as mine",
    async () => {
      const m = await mineIds(a);
      return m.includes(ids.b) && m.includes(ids.c);
    },
    30_000,
    100,
  );
  await until("B to list A as mine", async () => (await mineIds(b)).includes(ids.a), 30_000, 100);
  await until("C to list A as mine", async () => (await mineIds(c)).includes(ids.a), 30_000, 100);
  const cKnowsB = (await mineIds(c)).includes(ids.b);
  return { a, b, c, ids, cKnowsB };
}

/**
 * What a timed pass watches. "home": only B's GROVE_HOME, by looking at files, as Syncthing's side
 * is watched (the comparable figure). "listed": B's listing through its API too; those requests
 * run on B's main thread while it takes the change in, so they slow what they measure, and the
 * time until in B's home of such a pass is not reported.
 */
type Watch = "home" | "listed";

/** One file PUT on A: seconds until the PUT is answered, until B lists it ("listed" only), and until it is in B's GROVE_HOME (size and hash). */
async function groveOne(
  a: TestCell,
  b: TestCell,
  f: SmallFile,
  watch: Watch,
): Promise<{ put: number; listed: number | null; home: number }> {
  const dir = dirname(f.rel);
  const inHome = join(b.home, f.rel);
  const t0 = performance.now();
  await putFile(a, f);
  const put = since(t0);
  const listedP =
    watch === "listed"
      ? until(`${f.rel} listed on B`, async () => (await listing(b, dir)).some((x) => x.path === f.rel) && since(t0), 60_000)
      : null;
  const homeP = until(`${f.rel} in B's GROVE_HOME`, () => holds(inHome, f.body.byteLength, f.hash) && since(t0), 60_000);
  const [listed, home] = await Promise.all([listedP, homeP]);
  return { put, listed, home };
}

interface GroveMany {
  puts_s: number;
  listed_s: number | null;
  home_s: number;
  verified: boolean;
  /** CPU seconds A and B used from the first PUT until all were in B's home. */
  cpu_a_s: number;
  cpu_b_s: number;
}

/** CPU seconds used so far by A and by B. */
const cpuOf = (a: TestCell, b: TestCell) => [cpuSeconds(a.proc.pid) ?? 0, cpuSeconds(b.proc.pid) ?? 0];

/** Run `fn` on every item, `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** Files not (yet) at their place under `root` with the right size; the ones found are removed from `missing`. */
function sweep(missing: Map<string, SmallFile>, root: string): boolean {
  for (const [rel, f] of missing) if (holds(join(root, rel), f.body.byteLength)) missing.delete(rel);
  return missing.size === 0;
}

async function groveMany(a: TestCell, b: TestCell, files: SmallFile[], watch: Watch): Promise<GroveMany> {
  const prefix = dirname(files[0]!.rel);
  const sizes = new Map(files.map((f) => [f.rel, f.body.byteLength]));
  const missing = new Map(files.map((f) => [f.rel, f]));
  const timeout = 10 * 60_000;
  const cpu0 = cpuOf(a, b);
  const t0 = performance.now();
  let putsDone = 0;
  const puts = pool(files, PUT_CONCURRENCY, (f) => putFile(a, f)).then(() => void (putsDone = since(t0)));
  const listedP =
    watch === "listed"
      ? until(
          `${files.length} files listed on B`,
          async () => (await listing(b, prefix)).filter((x) => sizes.get(x.path) === x.size).length === files.length && since(t0),
          timeout,
          LIST_MANY_MS,
        )
      : null;
  const homeP = until(`${files.length} files in B's GROVE_HOME`, () => sweep(missing, b.home) && since(t0), timeout);
  const [, listed, home] = await Promise.all([puts, listedP, homeP]);
  const cpu1 = cpuOf(a, b);
  const verified = files.every((f) => holds(join(b.home, f.rel), f.body.byteLength, f.hash));
  return {
    puts_s: putsDone,
    listed_s: listed,
    home_s: home,
    verified,
    cpu_a_s: round(cpu1[0]! - cpu0[0]!, 2),
    cpu_b_s: round(cpu1[1]! - cpu0[1]!, 2),
  };
}

/** One file written into A's GROVE_HOME and scanned (as Syncthing's side): seconds until listed on B and until in B's home. */
async function groveDropOne(a: TestCell, b: TestCell, f: SmallFile, watch: Watch): Promise<{ listed: number | null; home: number }> {
  const inA = join(a.home, f.rel);
  const inHome = join(b.home, f.rel);
  mkdirSync(dirname(inA), { recursive: true });
  const t0 = performance.now();
  writeFileSync(inA, f.body);
  await scanOn(a, f.rel);
  const listedP =
    watch === "listed"
      ? until(`${f.rel} listed on B`, async () => (await listing(b, dirname(f.rel))).some((x) => x.path === f.rel) && since(t0), 60_000)
      : null;
  const homeP = until(`${f.rel} in B's GROVE_HOME`, () => holds(inHome, f.body.byteLength, f.hash) && since(t0), 60_000);
  const [listed, home] = await Promise.all([listedP, homeP]);
  return { listed, home };
}

interface GroveDropMany {
  write_s: number;
  scan_s: number;
  listed_s: number | null;
  home_s: number;
  verified: boolean;
  /** CPU seconds A and B used from the first write until all were in B's home. */
  cpu_a_s: number;
  cpu_b_s: number;
}

/** Files written into A's GROVE_HOME, then one scan of their folder (as Syncthing's side): until all listed on B and in B's home. */
async function groveDropMany(a: TestCell, b: TestCell, files: SmallFile[], watch: Watch): Promise<GroveDropMany> {
  const sub = dirname(files[0]!.rel);
  mkdirSync(join(a.home, sub), { recursive: true });
  const sizes = new Map(files.map((f) => [f.rel, f.body.byteLength]));
  const missing = new Map(files.map((f) => [f.rel, f]));
  const timeout = 10 * 60_000;
  const cpu0 = cpuOf(a, b);
  const t0 = performance.now();
  for (const f of files) writeFileSync(join(a.home, f.rel), f.body);
  const written = since(t0);
  const listedP =
    watch === "listed"
      ? until(
          `${files.length} dropped files listed on B`,
          async () => (await listing(b, sub)).filter((x) => sizes.get(x.path) === x.size).length === files.length && since(t0),
          timeout,
          LIST_MANY_MS,
        )
      : null;
  const homeP = until(`${files.length} dropped files in B's GROVE_HOME`, () => sweep(missing, b.home) && since(t0), timeout);
  await scanOn(a, sub);
  const scanned = since(t0);
  const [listed, home] = await Promise.all([listedP, homeP]);
  const cpu1 = cpuOf(a, b);
  const verified = files.every((f) => holds(join(b.home, f.rel), f.body.byteLength, f.hash));
  return {
    write_s: round(written, 3),
    scan_s: round(scanned - written, 3),
    listed_s: listed,
    home_s: home,
    verified,
    cpu_a_s: round(cpu1[0]! - cpu0[0]!, 2),
    cpu_b_s: round(cpu1[1]! - cpu0[1]!, 2),
  };
}

/** GET /api/files/PATH on `c`, the body read as a stream and hashed. */
async function timedRead(c: TestCell, rel: string, bytes: number, hash: string): Promise<ReadResult> {
  const hasher = new Bun.CryptoHasher("sha256");
  const t0 = performance.now();
  const res = await c.api(`/api/files/${rel}`);
  if (!res.ok || !res.body) throw new Error(`GET /api/files/${rel} on ${c.url}: ${res.status} ${await res.text()}`);
  const reader = res.body.getReader();
  let ttfb: number | null = null;
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    ttfb ??= since(t0);
    hasher.update(value);
    n += value.byteLength;
  }
  const total = since(t0);
  return {
    ttfb_s: round(ttfb ?? total, 4),
    total_s: round(total, 3),
    mb_s: mbPerSec(n, total),
    identical: n === bytes && hasher.digest("hex") === hash,
  };
}

interface GroveBig {
  put_s: number;
  mirror_s: number;
  b_identical: boolean;
  c_local_before: boolean;
  c_local_after: boolean;
  c_home_copy: boolean;
  c_read: ReadResult;
  a_read: ReadResult;
  /** CPU seconds A and B used during C's read: which of them served it. */
  cpu_a_s: number | null;
  cpu_b_s: number | null;
}

async function groveBig(s: Started, warm: SmallFile, src: string, bytes: number, hash: string, drop: () => boolean): Promise<GroveBig> {
  const { a, b, c } = s;
  const pids = [a, b, c].map((x) => x.proc.pid);
  const put = await grove(a, ["put", src, "--as", BIG_PATH]);
  const tPut = performance.now();
  say(`grove put of ${BIG_PATH} on A: ${round(put.seconds, 2)} s (CLI, not a figure)`);
  await until(`${BIG_PATH} in B's GROVE_HOME`, () => holds(join(b.home, BIG_PATH), bytes), 30 * 60_000, 20);
  const mirror = since(tPut);
  say(`B mirrored it into its GROVE_HOME ${round(mirror, 2)} s after put (${mbPerSec(bytes, mirror)} MB/s); checking its SHA-256`);
  const bIdentical = sha256File(join(b.home, BIG_PATH)) === hash;
  const onC = await until(`${BIG_PATH} listed on C`, async () => (await listing(c, "big")).find((x) => x.path === BIG_PATH), 60_000, 50);
  const cHomeCopy = existsSync(join(c.home, BIG_PATH));
  if (onC.local || cHomeCopy) throw new Error(`C (on demand) holds ${BIG_PATH} already (local ${onC.local}, in GROVE_HOME ${cHomeCopy})`);
  const w = await timedRead(c, warm.rel, warm.body.byteLength, warm.hash);
  if (!w.identical) throw new Error(`C's on-demand read of ${warm.rel} did not match what A stored`);
  say(`C's warm-up read of ${warm.rel} on demand: ${ms(w.total_s)} ms`);

  await waitQuiet(pids);
  drop();
  const cpu0 = [cpuSeconds(a.proc.pid), cpuSeconds(b.proc.pid)];
  const cRead = await timedRead(c, BIG_PATH, bytes, hash);
  const used = (before: number | null, pid: number) => {
    const after = cpuSeconds(pid);
    return before === null || after === null ? null : round(after - before, 2);
  };
  const cpuA = used(cpu0[0]!, a.proc.pid);
  const cpuB = used(cpu0[1]!, b.proc.pid);
  say(
    `C read on demand: first byte ${ms(cRead.ttfb_s)} ms, ${cRead.mb_s} MB/s, identical ${cRead.identical}; CPU meanwhile: A ${cpuA} s, B ${cpuB} s`,
  );
  const cLocalAfter = (await listing(c, "big")).find((x) => x.path === BIG_PATH)?.local ?? false;

  await waitQuiet(pids);
  drop();
  const aRead = await timedRead(a, BIG_PATH, bytes, hash);
  say(`A read locally: first byte ${ms(aRead.ttfb_s)} ms, ${aRead.mb_s} MB/s, identical ${aRead.identical}`);
  return {
    put_s: round(put.seconds, 3),
    mirror_s: round(mirror, 3),
    b_identical: bIdentical,
    c_local_before: onC.local,
    c_local_after: cLocalAfter,
    c_home_copy: cHomeCopy,
    c_read: cRead,
    a_read: aRead,
    cpu_a_s: cpuA,
    cpu_b_s: cpuB,
  };
}

// ---------------------------------------------------------------------------------------------
// Syncthing

async function stScan(st: SyncthingPair, sub: string): Promise<void> {
  const r = await st.rest(st.a, `/rest/db/scan?folder=${FOLDER_ID}&sub=${encodeURIComponent(sub)}`, { method: "POST" });
  if (!r.ok) throw new Error(`syncthing scan of ${sub}: ${r.status} ${await r.text()}`);
}

/** One file written into A's folder and scanned: seconds until it is in B's folder (size and hash). */
async function stOne(st: SyncthingPair, f: SmallFile): Promise<number> {
  const inA = st.pathIn(st.a, f.rel);
  const inB = st.pathIn(st.b, f.rel);
  mkdirSync(dirname(inA), { recursive: true });
  const t0 = performance.now();
  writeFileSync(inA, f.body);
  await stScan(st, f.rel);
  return until(`${f.rel} in Syncthing B's folder`, () => holds(inB, f.body.byteLength, f.hash) && since(t0), 60_000);
}

interface StMany {
  write_s: number;
  scan_s: number;
  present_s: number;
  verified: boolean;
  cpu_a_s: number;
  cpu_b_s: number;
}

async function stMany(st: SyncthingPair, files: SmallFile[]): Promise<StMany> {
  const sub = dirname(files[0]!.rel);
  mkdirSync(st.pathIn(st.a, sub), { recursive: true });
  const missing = new Map(files.map((f) => [f.rel, f]));
  const cpu0 = [st.cpuSeconds("a"), st.cpuSeconds("b")];
  const t0 = performance.now();
  for (const f of files) writeFileSync(st.pathIn(st.a, f.rel), f.body);
  const written = since(t0);
  await stScan(st, sub);
  const scanned = since(t0);
  const present = await until(`${files.length} files in Syncthing B's folder`, () => sweep(missing, st.b.folder) && since(t0), 10 * 60_000);
  const cpu_a_s = round(st.cpuSeconds("a") - cpu0[0]!, 2);
  const cpu_b_s = round(st.cpuSeconds("b") - cpu0[1]!, 2);
  const verified = files.every((f) => holds(st.pathIn(st.b, f.rel), f.body.byteLength, f.hash));
  return { write_s: round(written, 3), scan_s: round(scanned - written, 3), present_s: round(present, 4), verified, cpu_a_s, cpu_b_s };
}

interface StBig {
  copy_s: number;
  scan_s: number;
  transfer_s: number;
  transfer_mb_s: number;
  identical: boolean;
}

async function stBig(st: SyncthingPair, src: string, bytes: number, hash: string, drop: () => boolean): Promise<StBig> {
  const name = "big.bin";
  const inB = st.pathIn(st.b, name);
  drop();
  const t0 = performance.now();
  const cp = await timed(["dd", `if=${src}`, `of=${st.pathIn(st.a, name)}`, "bs=4M"]);
  if (cp.code !== 0) throw new Error(`dd into Syncthing A's folder failed: ${cp.stderr}`);
  const t1 = performance.now();
  await stScan(st, name);
  const t2 = performance.now();
  await until(`${name} in Syncthing B's folder`, () => holds(inB, bytes), 30 * 60_000, 20);
  const transfer = since(t2);
  return {
    copy_s: round((t1 - t0) / 1000, 3),
    scan_s: round((t2 - t1) / 1000, 3),
    transfer_s: round(transfer, 3),
    transfer_mb_s: mbPerSec(bytes, transfer),
    identical: sha256File(inB) === hash,
  };
}

async function startSyncthing(bin: string, work: string, holder: { st?: SyncthingPair }): Promise<{ st: SyncthingPair; version: string }> {
  const version = Bun.spawnSync([bin, "--version"], { stdout: "pipe" }).stdout.toString().trim();
  const st = (holder.st = new SyncthingPair(bin, work, { aListen: freePort(), aGui: freePort(), bListen: freePort(), bGui: freePort() }));
  st.setup();
  await st.start();
  await st.checkOptions();
  await st.waitConnected();
  return { st, version };
}

// ---------------------------------------------------------------------------------------------
// The run

interface Settings {
  sizeMiB: number;
  bytes: number;
  files: number;
  repeat: number;
}

function settings(values: Record<string, string | boolean | undefined>): Settings | string {
  const sizeMiB = Number(values["size-mb"] ?? process.env.BENCH_SIZE_MB ?? 1024);
  const files = Number(values.files ?? 1000);
  const repeat = Number(values["repeat-small"] ?? 5);
  if (!Number.isFinite(sizeMiB) || sizeMiB <= 0) return "tree: --size-mb must be a positive number (MiB)";
  if (!Number.isInteger(files) || files < 1) return "tree: --files must be a positive integer";
  if (!Number.isInteger(repeat) || repeat < 1) return "tree: --repeat-small must be a positive integer";
  return { sizeMiB, bytes: Math.round(sizeMiB * MiB), files, repeat };
}

const fmtSpread = (s: Spread): string => `${ms(s.median)} (${ms(s.min)}-${ms(s.max)})`;
const ratio = (num: number | null | undefined, den: number | null | undefined): number | null =>
  num === null || num === undefined || !den ? null : round(num / den, 2);

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options, allowPositionals: true, strict: false });
  const set = settings(values);
  if (typeof set === "string") return (console.error(set), 2);
  const { sizeMiB, bytes, files: nFiles, repeat } = set;
  // source + A's home copy and chunks + B's chunks and home copy + Syncthing's two copies, and the small files
  const dir = makeWorkDir("tree", values["work-dir"], ROOT, bytes * 7.5 + nFiles * MANY_MAX * 8);
  if ("error" in dir) return (console.error(dir.error), 1);
  const { work } = dir;

  const fleet: Fleet = {};
  const holder: { st?: SyncthingPair } = {};
  const cleanup = async () => {
    await holder.st?.stop().catch(() => {});
    holder.st = undefined;
    for (const c of [fleet.a, fleet.b, fleet.c]) await (values.keep ? c?.stop() : destroyCell(c))?.catch(() => {});
    fleet.a = fleet.b = fleet.c = undefined;
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  };
  const offSignals = cleanupOnSignal("tree", cleanup);
  const wantDrop = !values["no-drop-caches"];
  const { drop, allDropped } = cacheDropper(wantDrop);

  try {
    say(
      `big file ${sizeMiB} MiB, ${nFiles} small files, ${repeat} single-file runs; ${availableParallelism()} cores, load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}; work dir ${work}`,
    );
    say(
      `page cache: ${wantDrop ? (isRoot ? "dropped before each large read (root)" : "NOT dropped (not root)") : "NOT dropped (--no-drop-caches)"}`,
    );
    const src = join(work, "big-source.bin");
    let t = performance.now();
    const bigHash = writeRandomFile(src, bytes);
    say(`generated ${src} in ${round(since(t), 1)} s`);
    const warm = smallFile("lat/warm.bin", SMALL_BYTES);
    const singles = Array.from({ length: repeat }, (_, i) => smallFile(`lat/${i + 1}.bin`, SMALL_BYTES));
    const drops = Array.from({ length: repeat }, (_, i) => smallFile(`droplat/${i + 1}.bin`, SMALL_BYTES));
    // The passes that watch B's listing (Watch "listed") store files of their own.
    const singlesListed = Array.from({ length: repeat }, (_, i) => smallFile(`lat-listed/${i + 1}.bin`, SMALL_BYTES));
    const dropsListed = Array.from({ length: repeat }, (_, i) => smallFile(`droplat-listed/${i + 1}.bin`, SMALL_BYTES));
    const manyFiles = (dir: string) =>
      Array.from({ length: nFiles }, (_, i) =>
        smallFile(`${dir}/${String(i + 1).padStart(5, "0")}.bin`, MANY_MIN + Math.floor(Math.random() * (MANY_MAX - MANY_MIN + 1))),
      );
    const many = manyFiles("many");
    const manyDrop = manyFiles("dropmany");
    const manyListed = manyFiles("many-listed");
    const manyDropListed = manyFiles("dropmany-listed");
    const manyBytes = many.reduce((s, f) => s + f.body.byteLength, 0);
    const dropBytes = manyDrop.reduce((s, f) => s + f.body.byteLength, 0);

    t = performance.now();
    const g = await startFleet(work, fleet);
    const pids = [g.a, g.b, g.c].map((c) => c.proc.pid);
    say(
      `grove: A ${g.ids.a.slice(0, 8)} (pid ${g.a.proc.pid}), B ${g.ids.b.slice(0, 8)} (pid ${g.b.proc.pid}), C ${g.ids.c.slice(0, 8)} (pid ${g.c.proc.pid}, on demand) started and paired as mine in ${round(since(t), 1)} s; C lists B as mine: ${g.cKnowsB}`,
    );

    let st: SyncthingPair | null = null;
    let stNote = "skipped (--skip-syncthing)";
    if (!values["skip-syncthing"]) {
      const bin = ensureSyncthing(say);
      if (bin) {
        const s = await startSyncthing(bin, work, holder);
        st = s.st;
        stNote = s.version;
        say(`syncthing: ${s.version}; both instances up and connected over 127.0.0.1`);
      } else stNote = "syncthing not installed: no Syncthing figures";
    }

    // 1. One small file.
    await waitQuiet(pids);
    const gw = await groveOne(g.a, g.b, warm, "listed");
    say(`grove warm-up file: listed on B ${ms(gw.listed!)} ms, in B's home ${ms(gw.home)} ms`);
    if (st) say(`syncthing warm-up file: in B's folder ${ms(await stOne(st, warm))} ms`);
    const gPut: number[] = [];
    const gListed: number[] = [];
    const gHome: number[] = [];
    const dListed: number[] = [];
    const dHome: number[] = [];
    const gHomeL: number[] = []; // in B's home, in the passes that also asked B for its listing
    const dHomeL: number[] = [];
    const stSingle: number[] = [];
    for (const [i, f] of singles.entries()) {
      await waitQuiet(pids);
      const r = await groveOne(g.a, g.b, f, "home");
      gPut.push(r.put);
      gHome.push(r.home);
      await waitQuiet(pids);
      const rl = await groveOne(g.a, g.b, singlesListed[i]!, "listed");
      gListed.push(rl.listed!);
      gHomeL.push(rl.home);
      await waitQuiet(pids);
      const d = await groveDropOne(g.a, g.b, drops[i]!, "home");
      dHome.push(d.home);
      await waitQuiet(pids);
      const dl = await groveDropOne(g.a, g.b, dropsListed[i]!, "listed");
      dListed.push(dl.listed!);
      dHomeL.push(dl.home);
      say(`${drops[i]!.rel}: grove written into A's home + scan: listed on B ${ms(dl.listed!)} ms, in B's home ${ms(d.home)} ms`);
      const s = st ? await stOne(st, f) : null;
      if (s !== null) stSingle.push(s);
      say(
        `${f.rel}: grove PUT answered ${ms(r.put)} ms, listed on B ${ms(rl.listed!)} ms, in B's home ${ms(r.home)} ms; syncthing ${s === null ? "-" : `${ms(s)} ms`}`,
      );
    }
    const small = {
      put: spread(gPut),
      listed: spread(gListed),
      home: spread(gHome),
      dropListed: spread(dListed),
      dropHome: spread(dHome),
      st: stSingle.length ? spread(stSingle) : null,
    };

    // 2. Many small files.
    await waitQuiet(pids);
    const gm = values["skip-put-many"] ? null : await groveMany(g.a, g.b, many, "home");
    await waitQuiet(pids);
    const gmListed = values["skip-put-many"] ? null : await groveMany(g.a, g.b, manyListed, "listed");
    if (gm && gmListed)
      say(
        `grove ${nFiles} files (${round(manyBytes / 1e6, 1)} MB): PUTs done ${round(gm.puts_s, 2)} s, all in B's home ${round(gm.home_s, 2)} s; hashes ok ${gm.verified}; another ${nFiles} all listed on B ${round(gmListed.listed_s!, 2)} s`,
      );
    await waitQuiet(pids);
    const dm = await groveDropMany(g.a, g.b, manyDrop, "home");
    await waitQuiet(pids);
    const dmListed = await groveDropMany(g.a, g.b, manyDropListed, "listed");
    say(
      `grove ${nFiles} files (${round(dropBytes / 1e6, 1)} MB) written into A's home ${dm.write_s} s, scan ${dm.scan_s} s, all in B's home ${round(dm.home_s, 2)} s; hashes ok ${dm.verified}; another ${nFiles} all listed on B ${round(dmListed.listed_s!, 2)} s`,
    );
    await waitQuiet(pids);
    const sm = st ? await stMany(st, many) : null;
    if (sm)
      say(
        `syncthing ${nFiles} files: written ${sm.write_s} s, scan ${sm.scan_s} s, all in B's folder ${round(sm.present_s, 2)} s; hashes ok ${sm.verified}`,
      );

    // 3. The large file, on demand on C.
    await waitQuiet(pids);
    const gb = await groveBig(g, warm, src, bytes, bigHash, drop);
    await waitQuiet(pids);
    const sb = st ? await stBig(st, src, bytes, bigHash, drop) : null;
    if (sb)
      say(
        `syncthing ${sizeMiB} MiB: copy ${sb.copy_s} s, scan ${sb.scan_s} s, transfer ${sb.transfer_s} s (${sb.transfer_mb_s} MB/s); identical ${sb.identical}`,
      );

    // Memory, sockets, what the cells logged.
    const rss = { a: peakRssMiB(g.a.proc.pid), b: peakRssMiB(g.b.proc.pid), c: peakRssMiB(g.c.proc.pid) };
    const stRss = st ? { a: st.peakRssMiB(st.a), b: st.peakRssMiB(st.b) } : null;
    const cellNet = nonLoopbackSockets(pids);
    const stNet = st ? st.networkCheck() : null;
    const logged = { a: problems(g.a), b: problems(g.b), c: problems(g.c) };
    for (const [n, lines] of Object.entries(logged))
      if (lines.length) say(`cell ${n} logged ${lines.length} warning(s)/error(s):\n  ${lines.slice(0, 8).join("\n  ")}`);

    const cpuRow = `${nFiles} files dropped in: CPU used by A + B until all on B (s)`;
    const cpuPutRow = `${nFiles} files PUT: CPU used by A + B until all on B (s)`;
    const ratios = {
      small: ratio(small.st?.median, small.dropHome.median),
      many: ratio(sm?.present_s, dm.home_s),
      small_put: ratio(small.st?.median, small.home.median),
      many_put: ratio(sm?.present_s, gm?.home_s),
      big_vs_local: ratio(gb.c_read.mb_s, gb.a_read.mb_s),
      big_vs_syncthing: ratio(gb.c_read.mb_s, sb?.transfer_mb_s),
      mirror_vs_syncthing: ratio(mbPerSec(bytes, gb.mirror_s), sb?.transfer_mb_s),
    };
    const ok =
      gm?.verified !== false &&
      gmListed?.verified !== false &&
      dm.verified &&
      dmListed.verified &&
      gb.b_identical &&
      gb.c_read.identical &&
      gb.a_read.identical &&
      !gb.c_local_after &&
      cellNet.nonLoopback.length === 0 &&
      (!sm || sm.verified) &&
      (!sb || sb.identical) &&
      (!stNet || stNet.nonLoopback.length === 0);
    const target = ratios.small !== null && ratios.many !== null ? ratios.small >= TARGET_RATIO && ratios.many >= TARGET_RATIO : null;

    const rows: (string | number | null)[][] = [
      ["figure", "Grove", "Syncthing", "ratio", "note"],
      [
        `one ${SMALL_BYTES / 1024} KiB file: until the PUT on A is answered (ms)`,
        fmtSpread(small.put),
        null,
        null,
        `median (min-max) of ${repeat}`,
      ],
      [
        `one ${SMALL_BYTES / 1024} KiB file: until listed on B (ms)`,
        fmtSpread(small.listed),
        null,
        null,
        `median (min-max) of ${repeat}; passes of their own`,
      ],
      [
        `one ${SMALL_BYTES / 1024} KiB file PUT: until in B's home / folder (ms)`,
        fmtSpread(small.home),
        small.st ? fmtSpread(small.st) : null,
        ratios.small_put,
        "Syncthing / Grove (medians); PUT vs drop-in",
      ],
      [
        `one ${SMALL_BYTES / 1024} KiB file dropped in + scan: until listed on B (ms)`,
        fmtSpread(small.dropListed),
        null,
        null,
        "passes of their own",
      ],
      [
        `one ${SMALL_BYTES / 1024} KiB file dropped in + scan: until in B's home / folder (ms)`,
        fmtSpread(small.dropHome),
        small.st ? fmtSpread(small.st) : null,
        ratios.small,
        "the comparable figure (both: write + scan)",
      ],
      [
        `${nFiles} files: all PUTs answered on A / written into A's folder (s)`,
        gm && round(gm.puts_s, 2),
        sm?.write_s ?? null,
        null,
        `${round(manyBytes / 1e6, 1)} MB`,
      ],
      [`${nFiles} files: until all listed on B (s)`, gmListed && round(gmListed.listed_s!, 2), null, null, "a pass of its own"],
      [
        `${nFiles} files PUT: until all in B's home / folder (s)`,
        gm && round(gm.home_s, 2),
        sm ? round(sm.present_s, 2) : null,
        ratios.many_put,
        "Syncthing / Grove; PUT vs drop-in",
      ],
      [cpuPutRow, gm && `A ${gm.cpu_a_s} + B ${gm.cpu_b_s}`, null, null, "CPU seconds (utime + stime)"],
      [
        `${nFiles} files dropped in: written into A's home / A's folder (s)`,
        dm.write_s,
        sm?.write_s ?? null,
        null,
        `${round(dropBytes / 1e6, 1)} MB`,
      ],
      [`${nFiles} files dropped in: the scan's answer (s)`, dm.scan_s, sm?.scan_s ?? null, null, "Grove's answers once stored"],
      [`${nFiles} files dropped in + scan: until all listed on B (s)`, round(dmListed.listed_s!, 2), null, null, "a pass of its own"],
      [
        `${nFiles} files dropped in + scan: until all in B's home / folder (s)`,
        round(dm.home_s, 2),
        sm ? round(sm.present_s, 2) : null,
        ratios.many,
        "the comparable figure (both: write + scan)",
      ],
      [cpuRow, `A ${dm.cpu_a_s} + B ${dm.cpu_b_s}`, sm ? `A ${sm.cpu_a_s} + B ${sm.cpu_b_s}` : null, null, "CPU seconds (utime + stime)"],
      [`${sizeMiB} MiB on C, on demand: time to first byte (ms)`, ms(gb.c_read.ttfb_s), null, null, `A local: ${ms(gb.a_read.ttfb_s)} ms`],
      [
        `${sizeMiB} MiB on C, on demand: MB/s`,
        gb.c_read.mb_s,
        sb?.transfer_mb_s ?? null,
        ratios.big_vs_syncthing,
        `Syncthing = its transfer A -> B; C / A local = ${ratios.big_vs_local}`,
      ],
      [`${sizeMiB} MiB on A, local read: MB/s`, gb.a_read.mb_s, null, null, "reference for C"],
      [
        `${sizeMiB} MiB: B mirrors it after put (MB/s)`,
        mbPerSec(bytes, gb.mirror_s),
        sb?.transfer_mb_s ?? null,
        ratios.mirror_vs_syncthing,
        "information: page cache not dropped",
      ],
      ["peak RSS (VmHWM, MiB)", `A ${rss.a}, B ${rss.b}, C ${rss.c}`, stRss ? `A ${stRss.a}, B ${stRss.b}` : null, null, null],
    ];
    console.log("");
    console.log(
      `tree bench: ${availableParallelism()} cores, everything on 127.0.0.1; page cache ${allDropped() ? "dropped before each large read" : "NOT dropped"}; syncthing: ${stNote}`,
    );
    console.log("(ratio > 1: Grove faster; times from the same run; MB = 10^6 bytes)");
    console.log(table(rows));
    console.log(
      `C's read: CPU used meanwhile by A ${gb.cpu_a_s} s, by B ${gb.cpu_b_s} s (who served it); C lists B as mine: ${g.cKnowsB}; C local after the read: ${gb.c_local_after}`,
    );
    console.log(
      `checks: B's ${nFiles} files hash ok ${gm?.verified ?? "-"} (PUT), ${dm.verified} (dropped in); B's big copy ${gb.b_identical}; C's read ${gb.c_read.identical}; A's read ${gb.a_read.identical}; sockets not on 127.0.0.1: cells ${cellNet.nonLoopback.length}, syncthing ${stNet ? stNet.nonLoopback.length : "-"}`,
    );
    console.log(
      `cells logged: ${Object.entries(logged)
        .map(([n, l]) => `${n} ${l.length} warning(s)/error(s)`)
        .join(", ")}`,
    );
    if (target !== null)
      console.log(
        `target: propagation at least as fast as Syncthing's (ratios >= ${TARGET_RATIO}, drop-in + scan on both sides): one file ${ratios.small}, ${nFiles} files ${ratios.many}: ${target ? "MET" : "NOT MET"}; through PUT: ${ratios.small_put}, ${ratios.many_put}`,
      );

    const json = {
      bench: "tree",
      ok,
      cores: availableParallelism(),
      size_mb: sizeMiB,
      size_bytes: bytes,
      files: nFiles,
      files_bytes: manyBytes,
      repeat_small: repeat,
      page_cache_dropped: allDropped(),
      c_lists_b_as_mine: g.cKnowsB,
      grove_small_put_median_s: small.put.median,
      grove_small_put_min_s: small.put.min,
      grove_small_put_max_s: small.put.max,
      grove_small_listed_median_s: small.listed.median,
      grove_small_listed_min_s: small.listed.min,
      grove_small_listed_max_s: small.listed.max,
      grove_small_home_median_s: small.home.median,
      grove_small_home_with_listing_median_s: spread(gHomeL).median,
      grove_small_home_min_s: small.home.min,
      grove_small_home_max_s: small.home.max,
      grove_small_put_runs: small.put.runs,
      grove_small_listed_runs: small.listed.runs,
      grove_small_home_runs: small.home.runs,
      grove_small_warmup_home_s: round(gw.home, 4),
      syncthing_small_median_s: small.st?.median ?? null,
      syncthing_small_min_s: small.st?.min ?? null,
      syncthing_small_max_s: small.st?.max ?? null,
      syncthing_small_runs: small.st?.runs ?? null,
      ratio_small: ratios.small,
      grove_drop_small_listed_median_s: small.dropListed.median,
      grove_drop_small_home_median_s: small.dropHome.median,
      grove_drop_small_home_with_listing_median_s: spread(dHomeL).median,
      grove_drop_small_home_runs: small.dropHome.runs,
      ratio_small_put: ratios.small_put,
      grove_drop_many_write_s: dm.write_s,
      grove_drop_many_scan_s: dm.scan_s,
      grove_drop_many_listed_s: round(dmListed.listed_s!, 4),
      grove_drop_many_home_s: round(dm.home_s, 4),
      grove_drop_many_home_with_listing_s: round(dmListed.home_s, 4),
      grove_drop_many_verified: dm.verified,
      grove_drop_many_cpu_a_s: dm.cpu_a_s,
      grove_drop_many_cpu_b_s: dm.cpu_b_s,
      syncthing_many_cpu_a_s: sm?.cpu_a_s ?? null,
      syncthing_many_cpu_b_s: sm?.cpu_b_s ?? null,
      ratio_many_put: ratios.many_put,
      grove_many_puts_s: gm && round(gm.puts_s, 4),
      grove_many_listed_s: gmListed && round(gmListed.listed_s!, 4),
      grove_many_home_s: gm && round(gm.home_s, 4),
      grove_many_home_with_listing_s: gmListed && round(gmListed.home_s, 4),
      grove_many_verified: gm?.verified ?? null,
      grove_many_cpu_a_s: gm?.cpu_a_s ?? null,
      grove_many_cpu_b_s: gm?.cpu_b_s ?? null,
      syncthing_many_write_s: sm?.write_s ?? null,
      syncthing_many_scan_s: sm?.scan_s ?? null,
      syncthing_many_present_s: sm?.present_s ?? null,
      syncthing_many_verified: sm?.verified ?? null,
      ratio_many: ratios.many,
      grove_big_put_s: gb.put_s,
      grove_big_mirror_s: gb.mirror_s,
      grove_big_mirror_mb_s: mbPerSec(bytes, gb.mirror_s),
      grove_big_b_identical: gb.b_identical,
      grove_big_c_local_before: gb.c_local_before,
      grove_big_c_local_after: gb.c_local_after,
      grove_c_ttfb_s: gb.c_read.ttfb_s,
      grove_c_read_s: gb.c_read.total_s,
      grove_c_read_mb_s: gb.c_read.mb_s,
      grove_c_read_identical: gb.c_read.identical,
      grove_c_read_cpu_a_s: gb.cpu_a_s,
      grove_c_read_cpu_b_s: gb.cpu_b_s,
      grove_a_ttfb_s: gb.a_read.ttfb_s,
      grove_a_read_s: gb.a_read.total_s,
      grove_a_read_mb_s: gb.a_read.mb_s,
      grove_a_read_identical: gb.a_read.identical,
      syncthing_big_copy_s: sb?.copy_s ?? null,
      syncthing_big_scan_s: sb?.scan_s ?? null,
      syncthing_big_transfer_s: sb?.transfer_s ?? null,
      syncthing_big_transfer_mb_s: sb?.transfer_mb_s ?? null,
      syncthing_big_identical: sb?.identical ?? null,
      ratio_big_c_vs_a_local: ratios.big_vs_local,
      ratio_big_c_vs_syncthing: ratios.big_vs_syncthing,
      ratio_big_mirror_vs_syncthing: ratios.mirror_vs_syncthing,
      cell_a_peak_rss_mb: rss.a,
      cell_b_peak_rss_mb: rss.b,
      cell_c_peak_rss_mb: rss.c,
      syncthing_a_peak_rss_mb: stRss?.a ?? null,
      syncthing_b_peak_rss_mb: stRss?.b ?? null,
      cells_non_loopback_sockets: cellNet.nonLoopback,
      syncthing_non_loopback_sockets: stNet?.nonLoopback ?? null,
      cells_logged_problems: { a: logged.a.length, b: logged.b.length, c: logged.c.length },
      target_ratio: TARGET_RATIO,
      target_met: target,
      syncthing_note: st ? null : stNote,
    };
    console.log(JSON.stringify(json));
    return ok ? 0 : 1;
  } catch (e) {
    console.error(`tree: ${e instanceof Error ? e.message : String(e)}`);
    for (const [n, c] of Object.entries(fleet)) if (c) console.error(`--- cell ${n} output (tail) ---\n${c.output().slice(-3000)}`);
    if (holder.st)
      for (const i of [holder.st.a, holder.st.b]) console.error(`--- syncthing ${i.name} log (tail) ---\n${i.log.slice(-2000)}`);
    return 1;
  } finally {
    offSignals();
    await cleanup();
    if (values.keep) say(`kept ${work}`);
  }
}

if (import.meta.main) process.exit(await run(process.argv.slice(2)));
