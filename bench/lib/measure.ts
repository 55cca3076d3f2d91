/**
 * Bench helpers: process memory/CPU from /proc, timed child processes (with GNU time when
 * present), page-cache dropping, file generation and hashing, and table output.
 * Linux-first: where /proc or /usr/bin/time is missing the figures are reported as null.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join as joinPath, resolve as resolvePath } from "node:path";
import { randomFillSync } from "node:crypto";

/** Rates are in MB/s with MB = 10^6 bytes (as dd and restic report); memory is in MiB. */
export const MB = 1_000_000;
export const MiB = 1024 * 1024;

export function mbPerSec(bytes: number, seconds: number): number {
  return round(bytes / MB / seconds, 1);
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Fields of /proc/<pid>/status in kB (VmHWM, VmRSS, …); null when unreadable (process gone, not Linux). */
export function procStatusKb(pid: number): Record<string, number> | null {
  try {
    const out: Record<string, number> = {};
    for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
      const m = /^(\w+):\s+(\d+) kB$/.exec(line);
      if (m) out[m[1]!] = Number(m[2]);
    }
    return out;
  } catch {
    return null;
  }
}

/** Peak resident set size (VmHWM) of `pid` in MiB, or null. */
export function peakRssMiB(pid: number): number | null {
  const s = procStatusKb(pid);
  return s?.VmHWM !== undefined ? round(s.VmHWM / 1024, 1) : null;
}

/** Bytes `pid` has caused to be written to storage so far (/proc/PID/io write_bytes), or null. */
export function writeBytes(pid: number): number | null {
  try {
    const m = /^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux is 100 on every mainstream kernel config

/** user + system CPU seconds consumed so far by `pid` (all threads), or null. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields after "(comm) ": state(3) ... utime(14) stime(15) -> indexes 11, 12 here
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

export interface ThreadTimes {
  comm: string;
  user: number;
  sys: number;
}

/** Per-thread CPU seconds (user, sys) of `pid`, keyed by thread id; empty when unreadable. */
export function threadTimes(pid: number): Map<number, ThreadTimes> {
  const out = new Map<number, ThreadTimes>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(tid), { comm, user: Number(rest[11]) / CLK_TCK, sys: Number(rest[12]) / CLK_TCK });
    } catch {}
  }
  return out;
}

/** user/sys CPU seconds of `pid` (all threads), or null. */
export function cpuSplit(pid: number): { user: number; sys: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: Number(rest[11]) / CLK_TCK, sys: Number(rest[12]) / CLK_TCK };
  } catch {
    return null;
  }
}

/**
 * CPU seconds per thread name between two thread snapshots (threads that appeared in between
 * count from zero). Thread ids are folded by name, e.g. "bun", "Bun Pool 3", "HeapHelper".
 */
export function threadDelta(a: Map<number, ThreadTimes>, b: Map<number, ThreadTimes>): { name: string; user: number; sys: number }[] {
  const by = new Map<string, { name: string; user: number; sys: number }>();
  for (const [tid, t1] of b) {
    const t0 = a.get(tid);
    const du = t1.user - (t0?.user ?? 0);
    const ds = t1.sys - (t0?.sys ?? 0);
    if (du + ds <= 0) continue;
    const name = t1.comm.replace(/\d+$/, "#").trim();
    const e = by.get(name) ?? { name, user: 0, sys: 0 };
    e.user += du;
    e.sys += ds;
    by.set(name, e);
  }
  return [...by.values()]
    .map((e) => ({ name: e.name, user: round(e.user, 2), sys: round(e.sys, 2) }))
    .sort((x, y) => y.user + y.sys - (x.user + x.sys));
}

export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** `sync; echo 3 > /proc/sys/vm/drop_caches` when root; returns whether the cache was dropped. */
export function dropCaches(enabled: boolean): boolean {
  Bun.spawnSync(["sync"]);
  if (!enabled || !isRoot) return false;
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "3\n");
    return true;
  } catch {
    return false;
  }
}

export const GNU_TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : null;

export interface TimedRun {
  code: number;
  seconds: number;
  stdout: string;
  stderr: string;
  /** From GNU time -v when available. */
  maxRssMiB: number | null;
  userSec: number | null;
  sysSec: number | null;
  /** pid of the spawned process (GNU time's pid when wrapped). */
  pid: number;
}

/**
 * Run `cmd` to completion, timing it end to end (process start to exit). With `gnuTime`, the
 * command runs under `/usr/bin/time -v -o FILE` and its peak RSS and CPU times are reported.
 * `onSpawn` gets the pid, e.g. to start sampling.
 */
export async function timed(
  cmd: string[],
  opts: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    gnuTime?: string | null;
    timeFile?: string;
    onSpawn?: (pid: number) => void;
  } = {},
): Promise<TimedRun> {
  const wrap = opts.gnuTime && opts.timeFile ? [opts.gnuTime, "-v", "-o", opts.timeFile] : [];
  const t0 = performance.now();
  const p = Bun.spawn([...wrap, ...cmd], {
    env: opts.env as Record<string, string>,
    cwd: opts.cwd,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  opts.onSpawn?.(p.pid);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const seconds = (performance.now() - t0) / 1000;
  let maxRssMiB: number | null = null;
  let userSec: number | null = null;
  let sysSec: number | null = null;
  if (wrap.length && opts.timeFile && existsSync(opts.timeFile)) {
    const t = readFileSync(opts.timeFile, "utf8");
    const num = (re: RegExp) => {
      const m = re.exec(t);
      return m ? Number(m[1]) : null;
    };
    const kb = num(/Maximum resident set size \(kbytes\): (\d+)/);
    maxRssMiB = kb === null ? null : round(kb / 1024, 1);
    userSec = num(/User time \(seconds\): ([\d.]+)/);
    sysSec = num(/System time \(seconds\): ([\d.]+)/);
  }
  return { code, seconds, stdout, stderr, maxRssMiB, userSec, sysSec, pid: p.pid };
}

/**
 * Write `bytes` of random data to `path` (fsynced) and return its SHA-256 (hex).
 * Random data defeats deduplication and compression, like the reference figures assume.
 */
export function writeRandomFile(path: string, bytes: number, onProgress?: (done: number) => void): string {
  const buf = Buffer.alloc(4 * MiB);
  const hasher = new Bun.CryptoHasher("sha256");
  const fd = openSync(path, "w", 0o600);
  try {
    let done = 0;
    while (done < bytes) {
      const n = Math.min(buf.byteLength, bytes - done);
      const piece = n === buf.byteLength ? buf : buf.subarray(0, n);
      randomFillSync(piece);
      hasher.update(piece);
      let off = 0;
      while (off < n) off += writeSync(fd, piece, off, n - off);
      done += n;
      onProgress?.(done);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return hasher.digest("hex");
}

/** SHA-256 (hex) of a file, read in 4 MiB pieces. */
export function sha256File(path: string): string {
  const buf = Buffer.alloc(4 * MiB);
  const hasher = new Bun.CryptoHasher("sha256");
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.byteLength, null);
      if (n <= 0) break;
      hasher.update(n === buf.byteLength ? buf : buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hasher.digest("hex");
}

/** A plain-text table: first row is the header. */
export function table(rows: (string | number | null)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null ? "-" : String(c))));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const out = [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)];
  return out.join("\n");
}

/**
 * On Ctrl-C or SIGTERM: say so, run `cleanup` (stop cells, remove the work dir) and exit 130.
 * Returns the function that removes the handlers (call it once the bench cleans up itself).
 */
export function cleanupOnSignal(bench: string, cleanup: () => Promise<void>): () => void {
  const onSignal = async () => {
    console.error(`\n${bench}: interrupted, cleaning up`);
    await cleanup();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

/** dropCaches(want) before each timed phase, remembering whether every drop worked. */
export function cacheDropper(want: boolean): { drop: () => boolean; allDropped: () => boolean } {
  const dropped: boolean[] = [];
  return {
    drop: () => {
      const d = dropCaches(want);
      dropped.push(d);
      return d;
    },
    allDropped: () => dropped.length > 0 && dropped.every(Boolean),
  };
}

/** `cmd` on PATH, else Debian's package `pkg` installed with apt-get (root only; one `apt-get update` retry), else null. */
export function aptInstalled(cmd: string, pkg: string, say: (m: string) => void): string | null {
  const found = Bun.which(cmd);
  if (found) return found;
  if (!isRoot || !Bun.which("apt-get")) return null;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  say(`${cmd} not found: trying \`apt-get install -y ${pkg}\``);
  let r = Bun.spawnSync(["apt-get", "install", "-y", pkg], { env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    say("install failed; running `apt-get update` and retrying");
    Bun.spawnSync(["apt-get", "update"], { env, stdout: "pipe", stderr: "pipe" });
    r = Bun.spawnSync(["apt-get", "install", "-y", pkg], { env, stdout: "pipe", stderr: "pipe" });
  }
  if (r.exitCode !== 0) say(`apt-get install ${pkg} failed: ${r.stderr.toString().trim().split("\n").pop()}`);
  return Bun.which(cmd);
}

/**
 * A fresh work folder `{bench}-XXXX` under `workDir` (default bench/.work). With `needBytes`, one
 * that has less free space is removed again and the reason returned instead.
 */
export function makeWorkDir(
  bench: string,
  workDir: unknown,
  root: string,
  needBytes = 0,
): { work: string; base: string } | { error: string } {
  const base = resolvePath(String(workDir ?? joinPath(root, "bench", ".work")));
  mkdirSync(base, { recursive: true });
  const work = mkdtempSync(joinPath(base, `${bench}-`));
  let free: number | null = null;
  try {
    const st = statfsSync(work);
    free = Number(st.bavail) * Number(st.bsize);
  } catch {}
  if (free !== null && free < needBytes) {
    rmSync(work, { recursive: true, force: true });
    return { error: `${bench}: ${round(free / 2 ** 30, 1)} GiB free under ${base}, about ${round(needBytes / 2 ** 30, 1)} GiB needed` };
  }
  return { work, base };
}

/** Bytes moved and busy time of one block device over an interval (from /sys/dev/block/M:m/stat). */
export interface DiskIo {
  read_mb: number;
  written_mb: number;
  /** Share of the interval the device had requests in flight, in %. */
  busy_pct: number;
}

/**
 * A meter for the block device holding `path` (Linux; null elsewhere or when unreadable):
 * `start()` before a phase, `stop(seconds)` after it. Shows whether a phase was disk-bound.
 */
export function diskMeter(path: string): { start(): void; stop(seconds: number): DiskIo | null } {
  const dev = statSync(path).dev;
  const file = `/sys/dev/block/${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}/stat`;
  const read = (): number[] | null => {
    try {
      return readFileSync(file, "utf8").trim().split(/\s+/).map(Number);
    } catch {
      return null;
    }
  };
  let before: number[] | null = null;
  return {
    start() {
      before = read();
    },
    stop(seconds) {
      const after = read();
      if (!before || !after || seconds <= 0) return null;
      // Fields: 2 = sectors read, 6 = sectors written (512 B each), 9 = ms with I/O in flight.
      const d = (i: number) => after[i]! - before![i]!;
      return { read_mb: round((d(2) * 512) / 1e6, 0), written_mb: round((d(6) * 512) / 1e6, 0), busy_pct: round(d(9) / 10 / seconds, 0) };
    },
  };
}

/** "read 2178 MB, written 2153 MB, disk busy 87 %" (or a note that it was not measured). */
export function diskText(io: DiskIo | null): string {
  return io ? `read ${io.read_mb} MB, written ${io.written_mb} MB, disk busy ${io.busy_pct} %` : "disk I/O not measured";
}

/** A disk's sequential write rate as one plain writer gets it (see `ddWriteRate`). */
export interface DiskRate {
  mb_s: number;
  seconds: number;
  bytes: number;
}

/**
 * This disk's write rate, measured once per run: `sync`, then
 * `dd if=/dev/zero of=DIR/dd-write-rate.bin bs=4M count=N conv=fsync` (N × 4 MiB, flushed before
 * dd reports its time), the file removed after. MB/s with MB = 10^6 bytes; null when dd fails.
 * Zeros, not random bytes: /dev/urandom would measure the CPU on a slow machine.
 */
export async function ddWriteRate(dir: string, mib = 512): Promise<DiskRate | null> {
  const file = joinPath(dir, "dd-write-rate.bin");
  const count = Math.max(1, Math.round(mib / 4));
  Bun.spawnSync(["sync"]);
  const r = await timed(["dd", "if=/dev/zero", `of=${file}`, "bs=4M", `count=${count}`, "conv=fsync"], {
    env: { ...process.env, LC_ALL: "C" },
  });
  rmSync(file, { force: true });
  if (r.code !== 0) return null;
  const bytes = count * 4 * MiB;
  // "536870912 bytes (537 MB, 512 MiB) copied, 2.61 s, 206 MB/s": dd's own time, else ours.
  const m = /copied, ([\d.]+) s/.exec(r.stderr);
  const seconds = m ? Number(m[1]) : r.seconds;
  return { mb_s: mbPerSec(bytes, seconds), seconds: round(seconds, 3), bytes };
}
