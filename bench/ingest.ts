/**
 * Bench: ingest and restore throughput of one large random file through a real cell, with
 * reference figures from dd and restic taken in the same run.
 *
 *   bun bench/ingest.ts [--size-mb N] [--work-dir DIR] [--keep] [--skip-restic] [--skip-dd] [--no-drop-caches]
 *   BENCH_SIZE_MB=10240 bun bench/ingest.ts      (size in MiB; default 1024 = 1 GiB)
 *
 * Phases: generate FILE -> dd FILE (reference) -> start cell -> `grove put FILE` (CLI end to end)
 * -> `grove get -o OUT` (CLI end to end) -> SHA-256 compare -> stop cell -> restic init / backup /
 * restore of FILE into a local repository. The page cache is dropped before every timed phase
 * when running as root. Everything stays on loopback and under the work dir, removed at the end.
 *
 * Output: progress lines (with the disk's bytes read and written and busy share per timed
 * phase: a disk-bound phase shows ~90 % busy), a table, then as the last line of stdout one JSON
 * object with every figure (`bun bench/ingest.ts | tail -n1`).
 * Rates are MB/s with MB = 10^6 bytes; memory figures are MiB.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { BUN, CLI, ROOT, destroyCell, startCell, type TestCell } from "../test/helpers/cell.ts";
import {
  GNU_TIME,
  MiB,
  cpuSplit,
  threadDelta,
  threadTimes,
  type ThreadTimes,
  isRoot,
  mbPerSec,
  peakRssMiB,
  procStatusKb,
  round,
  sha256File,
  table,
  timed,
  writeRandomFile,
  cleanupOnSignal,
  cacheDropper,
  aptInstalled,
  makeWorkDir,
  diskMeter,
  diskText,
  type DiskIo,
} from "./lib/measure.ts";

export const name = "ingest";
export const summary = "grove put/get of one large random file vs dd and restic; cell peak RSS";

export const options = {
  "size-mb": { type: "string" },
  "work-dir": { type: "string" },
  keep: { type: "boolean" },
  "skip-restic": { type: "boolean" },
  "skip-dd": { type: "boolean" },
  "no-drop-caches": { type: "boolean" },
} satisfies ParseArgsConfig["options"];

const DEST = "bench/random.bin";

function say(msg: string): void {
  console.log(`[ingest] ${msg}`);
}

/** Periodic samples of the cell (CPU, RSS) and of a file that grows during the phase. */
interface Sample {
  t: number;
  cpu: number | null;
  user: number | null;
  sys: number | null;
  threads: Map<number, ThreadTimes>;
  rssKb: number | null;
  /** Size of the growing temp file (upload spool / get's temp output), -1 when absent. */
  growing: number;
  /** Whether the chunk store holds any chunk yet. */
  chunks: boolean;
}

class Sampler {
  samples: Sample[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private t0 = performance.now();
  constructor(
    private pid: number,
    private growingDir: string,
    private growingPrefix: string,
    private chunksDir: string | null,
  ) {}

  private probe(): void {
    let growing = -1;
    try {
      for (const f of readdirSync(this.growingDir)) {
        if (f.startsWith(this.growingPrefix)) growing = Math.max(growing, statSync(join(this.growingDir, f)).size);
      }
    } catch {}
    let chunks = false;
    if (this.chunksDir) {
      try {
        chunks = readdirSync(this.chunksDir).length > 0;
      } catch {}
    }
    const split = cpuSplit(this.pid);
    this.samples.push({
      t: (performance.now() - this.t0) / 1000,
      cpu: split ? split.user + split.sys : null,
      user: split?.user ?? null,
      sys: split?.sys ?? null,
      threads: threadTimes(this.pid),
      rssKb: procStatusKb(this.pid)?.VmRSS ?? null,
      growing,
      chunks,
    });
  }

  start(): this {
    this.t0 = performance.now();
    this.probe();
    this.timer = setInterval(() => this.probe(), 50);
    return this;
  }

  stop(): Sample[] {
    if (this.timer) clearInterval(this.timer);
    this.probe();
    return this.samples;
  }
}

interface Phase {
  name: string;
  seconds: number;
  /** Average cores the cell kept busy during the phase (CPU seconds / wall seconds), user and sys. */
  cell_cores: number | null;
  cell_user_cores: number | null;
  cell_sys_cores: number | null;
  /** Highest VmRSS of the cell seen during the phase (MiB). */
  cell_max_rss_mb: number | null;
  /** Throughput of the file size over this phase alone. */
  mb_s: number | null;
  /** CPU seconds of the cell's threads in this phase, by thread name (busiest first). */
  threads: { name: string; user: number; sys: number }[];
}

/** Split [0, end] at the given boundaries (null boundaries are skipped) and profile the cell per piece. */
function phases(samples: Sample[], end: number, bounds: { name: string; until: number | null }[], bytes: number): Phase[] {
  const at = (t: number): Sample => {
    let best = samples[0]!;
    for (const s of samples) if (s.t <= t + 1e-9 && s.cpu !== null) best = s;
    return best;
  };
  const out: Phase[] = [];
  let from = 0;
  for (const b of bounds) {
    const until = b.until === null ? null : Math.min(b.until, end);
    if (until === null) continue;
    const secs = until - from;
    const s0 = at(from);
    const s1 = at(until);
    const span = s1.t - s0.t;
    const per = (a: number | null, z: number | null) => (a !== null && z !== null && span > 0.2 ? round((z - a) / span, 2) : null);
    const inside = samples.filter((s) => s.t >= from - 0.05 && s.t <= until + 0.05 && s.rssKb !== null);
    out.push({
      name: b.name,
      seconds: round(secs, 2),
      cell_cores: per(s0.cpu, s1.cpu),
      cell_user_cores: per(s0.user, s1.user),
      cell_sys_cores: per(s0.sys, s1.sys),
      cell_max_rss_mb: inside.length ? round(Math.max(...inside.map((s) => s.rssKb!)) / 1024, 1) : null,
      mb_s: secs > 0 ? mbPerSec(bytes, secs) : null,
      threads: threadDelta(s0.threads, s1.threads).slice(0, 8),
    });
    from = until;
  }
  return out;
}

function firstT(samples: Sample[], pred: (s: Sample) => boolean): number | null {
  return samples.find(pred)?.t ?? null;
}

function check(r: { code: number; stderr: string; stdout: string }, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr || r.stdout}`);
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options, allowPositionals: true, strict: false });
  const sizeMiB = Number(values["size-mb"] ?? process.env.BENCH_SIZE_MB ?? 1024);
  if (!Number.isFinite(sizeMiB) || sizeMiB <= 0) {
    console.error("ingest: --size-mb / BENCH_SIZE_MB must be a positive number (MiB)");
    return 2;
  }
  const bytes = Math.round(sizeMiB * MiB);
  const wantDrop = !values["no-drop-caches"];
  // source + cell (home copy + chunks) + get output, at the peak
  const dir = makeWorkDir("ingest", values["work-dir"], ROOT, bytes * 4.2);
  if ("error" in dir) return (console.error(dir.error), 1);
  const { work } = dir;

  let cell: TestCell | undefined;
  const cleanup = async () => {
    await destroyCell(cell).catch(() => {});
    cell = undefined;
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  };
  const offSignals = cleanupOnSignal("ingest", cleanup);

  const { drop, allDropped } = cacheDropper(wantDrop);

  try {
    say(`size ${sizeMiB} MiB (${bytes} bytes), ${availableParallelism()} cores, work dir ${work}`);
    say(
      `page cache: ${wantDrop ? (isRoot ? "dropped before each timed phase (root)" : "NOT dropped (not root)") : "NOT dropped (--no-drop-caches)"}`,
    );

    // 1. The source file.
    const src = join(work, "random.bin");
    let t = performance.now();
    const srcHash = writeRandomFile(src, bytes);
    say(`generated ${src} in ${round((performance.now() - t) / 1000, 1)} s, sha256 ${srcHash.slice(0, 16)}…`);

    // 2. dd reference.
    let dd: { seconds: number; mb_s: number } | null = null;
    if (!values["skip-dd"]) {
      const out = join(work, "dd.out");
      drop();
      const r = await timed(["dd", `if=${src}`, `of=${out}`, "bs=4M", "conv=fsync"]);
      check(r, "dd");
      dd = { seconds: round(r.seconds, 2), mb_s: mbPerSec(bytes, r.seconds) };
      rmSync(out, { force: true });
      say(`dd: ${dd.seconds} s, ${dd.mb_s} MB/s`);
    }

    // 3. The cell.
    const cellRoot = join(work, "cell");
    mkdirSync(cellRoot, { recursive: true });
    cell = await startCell({ root: cellRoot });
    const cellPid = cell.proc.pid;
    const suite = /crypto: (\S+)/.exec(cell.output())?.[1] ?? "?";
    const rssStart = peakRssMiB(cellPid);
    say(`cell pid ${cellPid} at ${cell.url}, crypto ${suite}, VmHWM after start ${rssStart} MiB`);
    const env = { ...process.env, ...cell.env, GROVE_NO_PROGRESS: "1" };
    const timeFile = join(work, "time.txt");

    // 4. grove put. The disk meter tells whether a phase was disk-bound.
    const disk = diskMeter(work);
    drop();
    disk.start();
    const putSampler = new Sampler(cellPid, join(cell.home, "bench"), ".grove-upload-", join(cell.dir, "chunks"));
    putSampler.start();
    const put = await timed([BUN, CLI, "put", src, "--as", DEST], { env, cwd: ROOT, gnuTime: GNU_TIME, timeFile });
    const putDisk = disk.stop(put.seconds);
    const putSamples = putSampler.stop();
    check(put, "grove put");
    const rssPut = peakRssMiB(cellPid);
    const putPhases = phases(
      putSamples,
      put.seconds,
      [
        { name: "upload -> spool file", until: firstT(putSamples, (s) => s.growing >= bytes) },
        { name: "spool fsync", until: firstT(putSamples, (s) => s.chunks) },
        { name: "seal + store chunks + record", until: put.seconds },
      ],
      bytes,
    );
    say(`put: ${round(put.seconds, 2)} s, ${mbPerSec(bytes, put.seconds)} MB/s; cell VmHWM ${rssPut} MiB; ${put.stdout.trim()}`);
    say(`put: ${diskText(putDisk)}`);

    // 5. grove get.
    const outDir = join(work, "out");
    mkdirSync(outDir);
    const got = join(outDir, "got.bin");
    drop();
    disk.start();
    const getSampler = new Sampler(cellPid, outDir, ".got.bin.tmp-", null).start();
    const get = await timed([BUN, CLI, "get", DEST, "-o", got], { env, cwd: ROOT, gnuTime: GNU_TIME, timeFile });
    const getDisk = disk.stop(get.seconds);
    const getSamples = getSampler.stop();
    check(get, "grove get");
    const rssGet = peakRssMiB(cellPid);
    const getPhases = phases(
      getSamples,
      get.seconds,
      [
        { name: "restore stream -> temp file", until: firstT(getSamples, (s) => s.growing >= bytes) },
        { name: "fsync + rename", until: get.seconds },
      ],
      bytes,
    );
    say(`get: ${round(get.seconds, 2)} s, ${mbPerSec(bytes, get.seconds)} MB/s; cell VmHWM ${rssGet} MiB`);
    say(`get: ${diskText(getDisk)}`);

    const gotHash = sha256File(got);
    const identical = gotHash === srcHash && statSync(got).size === bytes;
    say(`verify: ${identical ? "identical (SHA-256 matches)" : `MISMATCH: ${gotHash} != ${srcHash}`}`);
    rmSync(got, { force: true });
    const cellLog = cell.output();
    await destroyCell(cell);
    cell = undefined;

    // 6. restic reference.
    let restic: {
      version: string;
      backup_s: number;
      backup_mb_s: number;
      restore_s: number;
      restore_mb_s: number;
      backup_disk: DiskIo | null;
      restore_disk: DiskIo | null;
    } | null = null;
    let resticNote = "skipped (--skip-restic)";
    if (!values["skip-restic"]) {
      const bin = aptInstalled("restic", "restic", say);
      if (!bin) {
        resticNote = "restic not installed: skipping restic comparison";
        say(resticNote);
      } else {
        const renv = {
          ...process.env,
          RESTIC_REPOSITORY: join(work, "restic-repo"),
          RESTIC_PASSWORD: "grove-bench",
          RESTIC_CACHE_DIR: join(work, "restic-cache"),
        };
        const version = (await timed([bin, "version"], { env: renv })).stdout.trim();
        check(await timed([bin, "init"], { env: renv }), "restic init");
        drop();
        disk.start();
        const b = await timed([bin, "backup", "--host", "bench", src], { env: renv });
        const backupDisk = disk.stop(b.seconds);
        check(b, "restic backup");
        const target = join(work, "restic-out");
        drop();
        disk.start();
        const r = await timed([bin, "restore", "latest", "--target", target], { env: renv });
        const restoreDisk = disk.stop(r.seconds);
        check(r, "restic restore");
        const restored = join(target, src);
        const okSize = existsSync(restored) && statSync(restored).size === bytes;
        if (!okSize) throw new Error(`restic restore did not produce ${restored} of ${bytes} bytes`);
        restic = {
          version,
          backup_s: round(b.seconds, 2),
          backup_mb_s: mbPerSec(bytes, b.seconds),
          restore_s: round(r.seconds, 2),
          restore_mb_s: mbPerSec(bytes, r.seconds),
          backup_disk: backupDisk,
          restore_disk: restoreDisk,
        };
        resticNote = version;
        say(
          `restic backup: ${restic.backup_s} s, ${restic.backup_mb_s} MB/s; restore: ${restic.restore_s} s, ${restic.restore_mb_s} MB/s (${version})`,
        );
        say(`restic backup: ${diskText(backupDisk)}; restore: ${diskText(restoreDisk)}`);
      }
    }

    // 7. Report.
    const putMbs = mbPerSec(bytes, put.seconds);
    const getMbs = mbPerSec(bytes, get.seconds);
    const ratio = (a: number, b: number | undefined | null) => (b ? round(a / b, 2) : null);
    const cellPeak = Math.max(rssStart ?? 0, rssPut ?? 0, rssGet ?? 0) || null;
    const putAll = phases(putSamples, put.seconds, [{ name: "all", until: put.seconds }], bytes)[0]!;
    const getAll = phases(getSamples, get.seconds, [{ name: "all", until: get.seconds }], bytes)[0]!;
    const cores = (p: Phase) => (p.cell_cores === null ? null : `${p.cell_cores} (${p.cell_user_cores}+${p.cell_sys_cores})`);
    const cliCpu = (r: { userSec: number | null; sysSec: number | null }) =>
      r.userSec !== null ? round(r.userSec + (r.sysSec ?? 0), 2) : null;
    const droppedAll = allDropped();
    const rows: (string | number | null)[][] = [
      ["measure", "seconds", "MB/s", "ratio", "cell cores (usr+sys)", "cell RSS max MiB", "cell VmHWM MiB", "CLI max RSS MiB", "CLI cpu s"],
      [
        "grove put (CLI end to end)",
        round(put.seconds, 2),
        putMbs,
        null,
        cores(putAll),
        putAll.cell_max_rss_mb,
        rssPut,
        put.maxRssMiB,
        cliCpu(put),
      ],
      ...putPhases.map((p) => [`  put: ${p.name}`, p.seconds, p.mb_s, null, cores(p), p.cell_max_rss_mb, null, null, null]),
      [
        "grove get -o (CLI end to end)",
        round(get.seconds, 2),
        getMbs,
        null,
        cores(getAll),
        getAll.cell_max_rss_mb,
        rssGet,
        get.maxRssMiB,
        cliCpu(get),
      ],
      ...getPhases.map((p) => [`  get: ${p.name}`, p.seconds, p.mb_s, null, cores(p), p.cell_max_rss_mb, null, null, null]),
      [
        "dd bs=4M conv=fsync",
        dd?.seconds ?? null,
        dd?.mb_s ?? null,
        dd ? `put/dd ${ratio(putMbs, dd.mb_s)}` : null,
        null,
        null,
        null,
        null,
        null,
      ],
      [
        "restic backup",
        restic?.backup_s ?? null,
        restic?.backup_mb_s ?? null,
        restic ? `put/backup ${ratio(putMbs, restic.backup_mb_s)}` : null,
        null,
        null,
        null,
        null,
        null,
      ],
      [
        "restic restore",
        restic?.restore_s ?? null,
        restic?.restore_mb_s ?? null,
        restic ? `get/restore ${ratio(getMbs, restic.restore_mb_s)}` : null,
        null,
        null,
        null,
        null,
        null,
      ],
    ];
    console.log("");
    console.log(
      `ingest bench: ${sizeMiB} MiB random file, ${availableParallelism()} cores, cell crypto ${suite}, page cache ${droppedAll ? "dropped before each timed phase" : "NOT dropped"}`,
    );
    console.log(
      "(MB = 10^6 bytes; phase MB/s = file size / phase time; cell cores = cell CPU seconds / wall seconds, user+sys; cell RSS max = highest VmRSS sampled every 50 ms; CLI cpu = user + sys)",
    );
    console.log(table(rows));
    console.log("cell CPU seconds by thread (user+sys) per phase:");
    for (const p of [...putPhases.map((x) => ["put", x] as const), ...getPhases.map((x) => ["get", x] as const)]) {
      const ts = p[1].threads.map((t) => `${t.name} ${round(t.user + t.sys, 2)}`).join(", ");
      console.log(`  ${p[0]}: ${p[1].name}: ${ts || "-"}`);
    }
    const peakMb = cellPeak === null ? null : round((cellPeak * MiB) / 1e6, 1);
    console.log(
      `cell peak RSS (VmHWM): after start ${rssStart} MiB, after put ${rssPut} MiB, after get ${rssGet} MiB = ${peakMb ?? "?"} MB; target < 150 MB: ${peakMb === null ? "not measured" : peakMb < 150 ? "met" : "NOT MET"}`,
    );
    if (restic) {
      const pb = ratio(putMbs, restic.backup_mb_s)!;
      const gr = ratio(getMbs, restic.restore_mb_s)!;
      console.log(
        `targets: put >= 2x restic backup: ${pb}x ${pb >= 2 ? "MET" : "NOT MET"}; get >= 2x restic restore: ${gr}x ${gr >= 2 ? "MET" : "NOT MET"}`,
      );
    } else {
      console.log(`restic: ${resticNote}`);
    }
    console.log(`verify: ${identical ? "get output identical to source (SHA-256)" : "MISMATCH"}`);
    if (!identical) console.log(cellLog.slice(-2000));

    const json = {
      bench: "ingest",
      size_mb: sizeMiB,
      size_bytes: bytes,
      cores: availableParallelism(),
      crypto: suite,
      page_cache_dropped: droppedAll,
      identical,
      put_s: round(put.seconds, 3),
      put_mb_s: putMbs,
      get_s: round(get.seconds, 3),
      get_mb_s: getMbs,
      dd_mb_s: dd?.mb_s ?? null,
      restic_backup_mb_s: restic?.backup_mb_s ?? null,
      put_disk: putDisk,
      get_disk: getDisk,
      restic_backup_disk: restic?.backup_disk ?? null,
      restic_restore_disk: restic?.restore_disk ?? null,
      restic_restore_mb_s: restic?.restore_mb_s ?? null,
      ratio_put_dd: dd ? ratio(putMbs, dd.mb_s) : null,
      ratio_put_restic_backup: restic ? ratio(putMbs, restic.backup_mb_s) : null,
      ratio_get_restic_restore: restic ? ratio(getMbs, restic.restore_mb_s) : null,
      cell_peak_rss_mb: cellPeak,
      cell_rss_after_start_mb: rssStart,
      cell_rss_after_put_mb: rssPut,
      cell_rss_after_get_mb: rssGet,
      cli_put_peak_rss_mb: put.maxRssMiB,
      cli_get_peak_rss_mb: get.maxRssMiB,
      cli_put_cpu_s: cliCpu(put),
      cli_get_cpu_s: cliCpu(get),
      cell_put_cores: putAll.cell_cores,
      cell_get_cores: getAll.cell_cores,
      put_phases: putPhases,
      get_phases: getPhases,
      restic_version: restic?.version ?? null,
      restic_note: restic ? null : resticNote,
    };
    console.log(JSON.stringify(json));
    return identical ? 0 : 1;
  } catch (e) {
    console.error(`ingest: ${e instanceof Error ? e.message : String(e)}`);
    if (cell) console.error(cell.output().slice(-2000));
    return 1;
  } finally {
    offSignals();
    await cleanup();
    if (values.keep) say(`kept ${work}`);
  }
}

if (import.meta.main) process.exit(await run(process.argv.slice(2)));
