/**
 * Bench: end-to-end replication of one large random file between two cells on loopback, from
 * `grove put` on A until A counts 2 copies (replication factor 2: A's own and B's), with the
 * ingest figure (put alone) from the same run, and Syncthing's end-to-end figure for the same
 * file between two instances on loopback, measured in the same run as the reference.
 *
 *   bun bench/replicate.ts [--size-mb N] [--max-rounds N] [--work-dir DIR] [--keep] [--skip-syncthing] [--no-drop-caches]
 *   BENCH_SIZE_MB=256 bun bench/replicate.ts      (size in MiB; default 1024 = 1 GiB)
 *
 * Grove: cells A and B (test/helpers/cell.ts: real `grove start` processes on 127.0.0.1, mDNS
 * off), config replication_factor 2 and sync_interval_s 3600 (rounds only on demand), paired by
 * invite (on A) and join (on B). A warm-up `grove sync` on A runs first: it probes B and makes
 * the route's first 256 KB benchmark, with nothing to push, so neither is in the timed part.
 * Timed: page cache dropped (root), then `grove put FILE` on A (ingest), then `grove sync` on A
 * repeatedly until GET /api/placement on A shows the file with 2 copies. End to end = put + sync.
 * Checked afterwards: B keeps every chunk of the file for A, and every kept chunk file hashes to
 * its name.
 *
 * Syncthing (Debian package, installed with apt-get when missing; --skip-syncthing to skip): two
 * instances with their own homes, loopback only (see bench/lib/syncthing.ts: discovery, relays,
 * NAT, STUN, usage and crash reporting, upgrades all off; sockets listed with ss to show it),
 * sharing one folder, file watcher off. Timed: page cache dropped, then the file is copied into
 * A's folder (dd bs=4M), a scan is asked for over REST (the call returns when the scan is done:
 * no watcher delay), until the complete file is in B's folder (Syncthing renames its temp file
 * into place once every block is in). Checked afterwards: B's copy has the source's SHA-256.
 *
 * Output: progress lines (with the disk's bytes read and written and busy share per timed phase:
 * both cells, and both Syncthing instances, share this machine's disk) and a table, then one
 * JSON object as the last line of stdout.
 * Rates are MB/s with MB = 10^6 bytes, over the file's size; memory figures are MiB.
 */
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { Database } from "bun:sqlite";
import { ROOT, destroyCell, startCell, type TestCell } from "../test/helpers/cell.ts";
import type { SyncReport } from "../src/sync/round.ts";
import { cellId, freePort, grove, pair, placement, syncRound, waitSyncIdle } from "./lib/cells.ts";
import {
  GNU_TIME,
  MiB,
  cpuSplit,
  isRoot,
  mbPerSec,
  peakRssMiB,
  round,
  sha256File,
  table,
  timed,
  writeRandomFile,
  cleanupOnSignal,
  cacheDropper,
  makeWorkDir,
  diskMeter,
  diskText,
  type DiskIo,
} from "./lib/measure.ts";
import { SyncthingPair, ensureSyncthing } from "./lib/syncthing.ts";

export const name = "replicate";
export const summary = "1 GiB put on A until 2 copies (A + B) on loopback, end to end, vs Syncthing; cells' peak RSS";

export const options = {
  "size-mb": { type: "string" },
  "max-rounds": { type: "string" },
  "work-dir": { type: "string" },
  keep: { type: "boolean" },
  "skip-syncthing": { type: "boolean" },
  "no-drop-caches": { type: "boolean" },
} satisfies ParseArgsConfig["options"];

const DEST = "bench/random.bin";
const TARGET_RATIO = 2;

function say(msg: string): void {
  console.log(`[replicate] ${msg}`);
}

interface RoundRow {
  n: number;
  cli_s: number;
  chunks_pushed: number;
  bytes_pushed: number;
  backups_pushed: number;
  duration_ms: number;
  errors: string[];
}

interface GroveResult {
  put_s: number;
  /** The disk's bytes read / written and busy share (both cells share it on loopback). */
  put_disk: DiskIo | null;
  sync_disk: DiskIo | null;
  sync_s: number;
  end_to_end_s: number;
  rounds: RoundRow[];
  copies: number;
  chunks: number;
  b_holds_chunks: number;
  b_chunks_verified: boolean;
  warmup_benchmarks: number;
  cell_a_peak_rss_mb: number | null;
  cell_a_rss_after_put_mb: number | null;
  cell_b_peak_rss_mb: number | null;
  cli_put_peak_rss_mb: number | null;
  sync_cores_a: number | null;
  sync_cores_b: number | null;
  crypto: string;
}

interface SyncthingResult {
  version: string;
  /** Copy-in + scan, then the transfer. */
  copy_scan_disk: DiskIo | null;
  transfer_disk: DiskIo | null;
  copy_s: number;
  scan_s: number;
  transfer_s: number;
  end_to_end_s: number;
  identical: boolean;
  peak_rss_a_mb: number | null;
  peak_rss_b_mb: number | null;
  sockets_seen: number;
  non_loopback: string[];
  log_mentions: string[];
}

/** Every chunk B keeps for A: count, and whether each file hashes to its name. */
function verifyHeld(b: TestCell, owner: string): { chunks: number; verified: boolean } {
  const db = new Database(join(b.dir, "placement.db"), { readonly: true });
  let rows: [string][];
  try {
    rows = db.query("SELECT chunk_hash FROM held WHERE owner = ?").values(owner) as [string][];
  } finally {
    db.close();
  }
  let ok = true;
  for (const [h] of rows) {
    const p = join(b.dir, "chunks", h.slice(0, 2), h);
    if (!existsSync(p) || sha256File(p) !== h) ok = false;
  }
  return { chunks: rows.length, verified: ok };
}

async function runGrove(
  work: string,
  src: string,
  bytes: number,
  maxRounds: number,
  drop: () => boolean,
  cells: { a?: TestCell; b?: TestCell },
): Promise<GroveResult> {
  const cfg = { replication_factor: 2, sync_interval_s: 3600 };
  const rootA = join(work, "grove-a");
  const rootB = join(work, "grove-b");
  mkdirSync(rootA);
  mkdirSync(rootB);
  const a = (cells.a = await startCell({ root: rootA, config: { ...cfg, name: "bench-a" } }));
  const b = (cells.b = await startCell({ root: rootB, config: { ...cfg, name: "bench-b" } }));
  await Promise.all([waitSyncIdle(a), waitSyncIdle(b)]);
  await pair(a, b);
  const [idA, idB] = await Promise.all([cellId(a), cellId(b)]);
  await waitSyncIdle(b);
  const crypto = /crypto: (\S+)/.exec(a.output())?.[1] ?? "?";
  const warm = await syncRound(a);
  say(
    `grove: A ${idA.slice(0, 8)} (pid ${a.proc.pid}) and B ${idB.slice(0, 8)} (pid ${b.proc.pid}) paired; crypto ${crypto}; warm-up round: ${warm.report.reached}/${warm.report.peers} reached, ${warm.report.benchmarks} route benchmark(s)`,
  );

  const disk = diskMeter(work);
  drop();
  disk.start();
  const t0 = performance.now();
  const put = await grove(a, ["put", src, "--as", DEST], { gnuTime: GNU_TIME, timeFile: join(work, "time.txt") });
  const tPut = performance.now();
  const putDisk = disk.stop((tPut - t0) / 1000);
  disk.start();
  const rssAfterPut = peakRssMiB(a.proc.pid);
  say(`grove put: ${round(put.seconds, 2)} s, ${mbPerSec(bytes, put.seconds)} MB/s; ${put.stdout.trim().split("\n").pop()}`);

  const cpuA0 = cpuSplit(a.proc.pid);
  const cpuB0 = cpuSplit(b.proc.pid);
  const rounds: RoundRow[] = [];
  let copies = 0;
  let chunks = 0;
  for (let n = 1; n <= maxRounds; n++) {
    const r = await syncRound(a);
    const rep: SyncReport = r.report;
    rounds.push({
      n,
      cli_s: round(r.seconds, 2),
      chunks_pushed: rep.chunks_pushed,
      bytes_pushed: rep.bytes_pushed,
      backups_pushed: rep.backups_pushed,
      duration_ms: rep.duration_ms,
      errors: rep.errors,
    });
    const f = (await placement(a)).files.find((x) => x.path === DEST);
    copies = f?.copies ?? 0;
    chunks = f?.chunks ?? 0;
    say(
      `grove sync round ${n}: ${rep.chunks_pushed} chunks pushed (${round(rep.bytes_pushed / 1e6, 1)} MB), ${rep.backups_pushed} backups, ${round(r.seconds, 2)} s${rep.errors.length ? `, errors: ${rep.errors.join("; ")}` : ""}; copies now ${copies}`,
    );
    if (copies >= 2) break;
  }
  const tEnd = performance.now();
  const syncDisk = disk.stop((tEnd - tPut) / 1000);
  say(`grove disk: put ${diskText(putDisk)}; sync ${diskText(syncDisk)}`);
  const cpuA1 = cpuSplit(a.proc.pid);
  const cpuB1 = cpuSplit(b.proc.pid);
  const syncS = (tEnd - tPut) / 1000;
  const cores = (x: typeof cpuA0, y: typeof cpuA0) => (x && y ? round((y.user + y.sys - x.user - x.sys) / syncS, 2) : null);

  const held = verifyHeld(b, idA);
  const result: GroveResult = {
    put_s: round(put.seconds, 3),
    put_disk: putDisk,
    sync_disk: syncDisk,
    sync_s: round(syncS, 3),
    end_to_end_s: round((tEnd - t0) / 1000, 3),
    rounds,
    copies,
    chunks,
    b_holds_chunks: held.chunks,
    b_chunks_verified: held.verified,
    warmup_benchmarks: warm.report.benchmarks,
    cell_a_peak_rss_mb: peakRssMiB(a.proc.pid),
    cell_a_rss_after_put_mb: rssAfterPut,
    cell_b_peak_rss_mb: peakRssMiB(b.proc.pid),
    cli_put_peak_rss_mb: put.maxRssMiB,
    sync_cores_a: cores(cpuA0, cpuA1),
    sync_cores_b: cores(cpuB0, cpuB1),
    crypto,
  };
  say(`grove: B keeps ${held.chunks} chunks for A (file has ${chunks}), every one hashes to its name: ${held.verified}`);
  await destroyCell(a);
  await destroyCell(b);
  cells.a = cells.b = undefined;
  return result;
}

async function runSyncthing(
  bin: string,
  work: string,
  src: string,
  srcHash: string,
  bytes: number,
  drop: () => boolean,
  holder: { st?: SyncthingPair },
): Promise<SyncthingResult> {
  const version = Bun.spawnSync([bin, "--version"], { stdout: "pipe" }).stdout.toString().trim();
  const st = (holder.st = new SyncthingPair(bin, work, { aListen: freePort(), aGui: freePort(), bListen: freePort(), bGui: freePort() }));
  st.setup();
  await st.start();
  await st.checkOptions();
  await st.waitConnected();
  const checks = [st.networkCheck()];
  say(
    `syncthing: ${version}; both instances up and connected over 127.0.0.1 (device ids ${st.a.deviceId.slice(0, 7)}, ${st.b.deviceId.slice(0, 7)})`,
  );

  const name = "random.bin";
  const inA = st.pathIn(st.a, name);
  const inB = st.pathIn(st.b, name);
  const disk = diskMeter(work);
  drop();
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
  const deadline = Date.now() + 30 * 60_000;
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
  say(`syncthing disk: copy-in + scan ${diskText(copyScanDisk)}; transfer ${diskText(transferDisk)}`);
  const status = await st.folderStatus(st.b);
  checks.push(st.networkCheck());
  const identical = sha256File(inB) === srcHash;
  say(
    `syncthing: copy-in ${round((t1 - t0) / 1000, 2)} s, scan ${round((t2 - t1) / 1000, 2)} s, transfer ${round((t3 - t2) / 1000, 2)} s; B's folder: state ${status.state}, need ${status.needFiles} files; identical: ${identical}`,
  );
  const result: SyncthingResult = {
    version,
    copy_scan_disk: copyScanDisk,
    transfer_disk: transferDisk,
    copy_s: round((t1 - t0) / 1000, 3),
    scan_s: round((t2 - t1) / 1000, 3),
    transfer_s: round((t3 - t2) / 1000, 3),
    end_to_end_s: round((t3 - t0) / 1000, 3),
    identical,
    peak_rss_a_mb: st.peakRssMiB(st.a),
    peak_rss_b_mb: st.peakRssMiB(st.b),
    sockets_seen: Math.max(...checks.map((c) => c.sockets)),
    non_loopback: checks.flatMap((c) => c.nonLoopback),
    log_mentions: [],
  };
  await st.stop();
  // Anything in the logs about reaching out (there should be nothing).
  for (const i of [st.a, st.b]) {
    for (const line of i.log.split("\n"))
      if (!/\[stnoupgrade\]/.test(line) && /discover|relay|upgrade|usage report|crash|stun|nat-pmp|upnp|announce/i.test(line))
        result.log_mentions.push(`${i.name}: ${line.trim()}`);
  }
  holder.st = undefined;
  return result;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options, allowPositionals: true, strict: false });
  const sizeMiB = Number(values["size-mb"] ?? process.env.BENCH_SIZE_MB ?? 1024);
  const maxRounds = Number(values["max-rounds"] ?? 10);
  if (!Number.isFinite(sizeMiB) || sizeMiB <= 0 || !Number.isInteger(maxRounds) || maxRounds < 1) {
    console.error("replicate: --size-mb must be a positive number (MiB), --max-rounds a positive integer");
    return 2;
  }
  const bytes = Math.round(sizeMiB * MiB);
  const wantDrop = !values["no-drop-caches"];
  // source + A's home copy + A's chunks + B's chunks (Syncthing runs after, with 3)
  const dir = makeWorkDir("replicate", values["work-dir"], ROOT, bytes * 4.3);
  if ("error" in dir) return (console.error(dir.error), 1);
  const { work } = dir;

  const cells: { a?: TestCell; b?: TestCell } = {};
  const holder: { st?: SyncthingPair } = {};
  const cleanup = async () => {
    await holder.st?.stop().catch(() => {});
    holder.st = undefined;
    if (values.keep) {
      await cells.a?.stop().catch(() => {});
      await cells.b?.stop().catch(() => {});
    } else {
      await destroyCell(cells.a).catch(() => {});
      await destroyCell(cells.b).catch(() => {});
      rmSync(work, { recursive: true, force: true });
    }
    cells.a = cells.b = undefined;
  };
  const offSignals = cleanupOnSignal("replicate", cleanup);

  const { drop, allDropped } = cacheDropper(wantDrop);

  try {
    say(
      `size ${sizeMiB} MiB (${bytes} bytes), ${availableParallelism()} cores, load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")} (other work on the machine skews every figure), work dir ${work}`,
    );
    say(
      `page cache: ${wantDrop ? (isRoot ? "dropped before put and before Syncthing's copy-in (root)" : "NOT dropped (not root)") : "NOT dropped (--no-drop-caches)"}`,
    );
    const src = join(work, "random.bin");
    let t = performance.now();
    const srcHash = writeRandomFile(src, bytes);
    say(`generated ${src} in ${round((performance.now() - t) / 1000, 1)} s, sha256 ${srcHash.slice(0, 16)}…`);

    const g = await runGrove(work, src, bytes, maxRounds, drop, cells);

    let s: SyncthingResult | null = null;
    let stNote = "skipped (--skip-syncthing)";
    if (!values["skip-syncthing"]) {
      const bin = ensureSyncthing(say);
      if (!bin) {
        stNote = "syncthing not installed: skipping the Syncthing comparison";
        say(stNote);
      } else {
        s = await runSyncthing(bin, work, src, srcHash, bytes, drop, holder);
        stNote = s.version;
      }
    }

    const putMbs = mbPerSec(bytes, g.put_s);
    const syncMbs = mbPerSec(bytes, g.sync_s);
    const e2eMbs = mbPerSec(bytes, g.end_to_end_s);
    const stE2e = s ? mbPerSec(bytes, s.end_to_end_s) : null;
    const ratio = stE2e ? round(e2eMbs / stE2e, 2) : null;
    const ok = g.copies >= 2 && g.b_holds_chunks >= g.chunks && g.b_chunks_verified && (!s || (s.identical && s.non_loopback.length === 0));
    const droppedAll = allDropped();
    const pushed = g.rounds.reduce((n, r) => n + r.chunks_pushed, 0);

    const rows: (string | number | null)[][] = [
      ["measure", "seconds", "MB/s", "peak RSS MiB (VmHWM)", "notes"],
      [
        "grove put on A (ingest, CLI end to end)",
        round(g.put_s, 2),
        putMbs,
        g.cell_a_rss_after_put_mb,
        `RSS = A after put; CLI ${g.cli_put_peak_rss_mb} MiB`,
      ],
      [
        `grove sync on A until 2 copies (${g.rounds.length} round${g.rounds.length > 1 ? "s" : ""})`,
        round(g.sync_s, 2),
        syncMbs,
        g.cell_b_peak_rss_mb,
        `${pushed} chunks pushed; cores A ${g.sync_cores_a}, B ${g.sync_cores_b}; RSS = B`,
      ],
      ["grove end to end (put + sync)", round(g.end_to_end_s, 2), e2eMbs, null, `copies ${g.copies}/2`],
      ["syncthing copy into A's folder (dd bs=4M)", s ? round(s.copy_s, 2) : null, s ? mbPerSec(bytes, s.copy_s) : null, null, null],
      [
        "syncthing scan on A (REST, blocks until done)",
        s ? round(s.scan_s, 2) : null,
        s ? mbPerSec(bytes, s.scan_s) : null,
        s?.peak_rss_a_mb ?? null,
        "RSS = A",
      ],
      [
        "syncthing transfer (until complete in B's folder)",
        s ? round(s.transfer_s, 2) : null,
        s ? mbPerSec(bytes, s.transfer_s) : null,
        s?.peak_rss_b_mb ?? null,
        "RSS = B",
      ],
      [
        "syncthing end to end (copy + scan + transfer)",
        s ? round(s.end_to_end_s, 2) : null,
        stE2e,
        null,
        s ? (s.identical ? "B's copy identical" : "B's copy DIFFERS") : stNote,
      ],
    ];
    console.log("");
    console.log(
      `replicate bench: ${sizeMiB} MiB random file, ${availableParallelism()} cores, grove crypto ${g.crypto}, page cache ${droppedAll ? "dropped before put and before Syncthing's copy-in" : "NOT dropped"}; everything on 127.0.0.1`,
    );
    console.log(
      "(MB = 10^6 bytes; MB/s = file size / time; grove sync time = from put's end until A's placement shows 2 copies, CLI calls included)",
    );
    console.log(table(rows));
    console.log(
      `grove rounds: ${g.rounds.map((r) => `#${r.n} ${r.chunks_pushed} chunks ${round(r.bytes_pushed / 1e6, 1)} MB in ${r.cli_s} s`).join("; ")}; warm-up round before the put made ${g.warmup_benchmarks} route benchmark(s)`,
    );
    console.log(
      `grove check: B keeps ${g.b_holds_chunks} chunks for A (file has ${g.chunks}), all hash to their names: ${g.b_chunks_verified}`,
    );
    console.log(
      `cell peak RSS (VmHWM) over the whole run: A ${g.cell_a_peak_rss_mb} MiB (${g.cell_a_rss_after_put_mb} MiB after put), B ${g.cell_b_peak_rss_mb} MiB`,
    );
    if (s) {
      console.log(
        `syncthing: ${s.version}; peak RSS A ${s.peak_rss_a_mb} MiB, B ${s.peak_rss_b_mb} MiB; network: ${s.sockets_seen} sockets seen, ${s.non_loopback.length ? `NOT LOOPBACK: ${s.non_loopback.join(" | ")}` : "all on 127.0.0.1"}`,
      );
      if (s.log_mentions.length)
        console.log(`syncthing log lines about discovery/relays/upgrades/reporting:\n  ${s.log_mentions.join("\n  ")}`);
      console.log(
        `target: grove end to end >= ${TARGET_RATIO}x Syncthing end to end: ${ratio}x (${e2eMbs} vs ${stE2e} MB/s) ${ratio !== null && ratio >= TARGET_RATIO ? "MET" : "NOT MET"}`,
      );
    } else console.log(`syncthing: ${stNote}`);

    const json = {
      bench: "replicate",
      size_mb: sizeMiB,
      size_bytes: bytes,
      cores: availableParallelism(),
      crypto: g.crypto,
      page_cache_dropped: droppedAll,
      ok,
      grove_put_s: g.put_s,
      grove_put_disk: g.put_disk,
      grove_sync_disk: g.sync_disk,
      grove_put_mb_s: putMbs,
      grove_sync_s: g.sync_s,
      grove_sync_mb_s: syncMbs,
      grove_end_to_end_s: g.end_to_end_s,
      grove_end_to_end_mb_s: e2eMbs,
      grove_rounds: g.rounds,
      grove_copies: g.copies,
      grove_chunks: g.chunks,
      grove_b_holds_chunks: g.b_holds_chunks,
      grove_b_chunks_verified: g.b_chunks_verified,
      grove_warmup_benchmarks: g.warmup_benchmarks,
      cell_a_peak_rss_mb: g.cell_a_peak_rss_mb,
      cell_a_rss_after_put_mb: g.cell_a_rss_after_put_mb,
      cell_b_peak_rss_mb: g.cell_b_peak_rss_mb,
      cli_put_peak_rss_mb: g.cli_put_peak_rss_mb,
      cell_a_sync_cores: g.sync_cores_a,
      cell_b_sync_cores: g.sync_cores_b,
      syncthing_version: s?.version ?? null,
      syncthing_copy_s: s?.copy_s ?? null,
      syncthing_copy_scan_disk: s?.copy_scan_disk ?? null,
      syncthing_transfer_disk: s?.transfer_disk ?? null,
      syncthing_scan_s: s?.scan_s ?? null,
      syncthing_transfer_s: s?.transfer_s ?? null,
      syncthing_end_to_end_s: s?.end_to_end_s ?? null,
      syncthing_end_to_end_mb_s: stE2e,
      syncthing_transfer_mb_s: s ? mbPerSec(bytes, s.transfer_s) : null,
      syncthing_identical: s?.identical ?? null,
      syncthing_peak_rss_a_mb: s?.peak_rss_a_mb ?? null,
      syncthing_peak_rss_b_mb: s?.peak_rss_b_mb ?? null,
      syncthing_non_loopback_sockets: s?.non_loopback ?? null,
      ratio_grove_syncthing_end_to_end: ratio,
      target_ratio: TARGET_RATIO,
      target_met: ratio !== null ? ratio >= TARGET_RATIO : null,
      syncthing_note: s ? null : stNote,
    };
    console.log(JSON.stringify(json));
    return ok ? 0 : 1;
  } catch (e) {
    console.error(`replicate: ${e instanceof Error ? e.message : String(e)}`);
    for (const [n, c] of [
      ["A", cells.a],
      ["B", cells.b],
    ] as const)
      if (c) console.error(`--- cell ${n} output (tail) ---\n${c.output().slice(-3000)}`);
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
