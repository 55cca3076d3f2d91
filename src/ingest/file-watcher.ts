/**
 * @module ingest/file-watcher — keeps GROVE_HOME and the folders in config `watch_dirs` stored:
 * a new or changed file becomes a new version, a deleted one a deletion (its content stays in
 * history). Files in GROVE_HOME keep their paths; a watched folder's files are stored under its
 * name (`watch_dirs: ["/home/me/Documents"]` -> `Documents/…`) and are not copied into GROVE_HOME.
 *
 * A file is stored once it has stopped changing: each event (re)arms a timer of
 * `watch_debounce_ms`; when it fires, the file's size and mtime must match what the previous
 * look saw, else it waits another round (a large copy in progress). A file whose size matches
 * the current version and that has not been modified since it was recorded is skipped without
 * being read, which is also how the cell's own writes into GROVE_HOME are recognised. The watcher
 * reads the file where it lives (twice: ingest `inPlace`, which refuses a file that changed in
 * between) and never writes over it. On start it walks every root
 * and stores what changed while the cell was down; it does not turn files missing at start into
 * deletions (a recovered cell, or an unmounted disk, would lose its whole tree that way): only a
 * deletion seen while running is recorded. Stores run one at a time. Files of at most one chunk
 * that settle together (a folder of small files copied in) are stored together, as one group
 * commit (ingest/ingest-batch); a larger file is stored on its own.
 *
 * `findForScan` + `scan` are the "look now" of `grove scan` and POST /api/scan (Syncthing's REST
 * scan): they walk a root, or one folder or file in it, and store every new or changed file at once, without the
 * two looks: the caller says the writes are done. Deletions are not looked for by a scan (files
 * missing from a folder are not turned into deletions, for the same reason as at start); the
 * watcher records them as they happen.
 */
import { lstatSync, watch, type FSWatcher, type Stats } from "node:fs";
import { lstat, readdir, realpath } from "node:fs/promises";
import { basename, join, relative, sep } from "node:path";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { shellQuote } from "../core/shell-quote.ts";
import { ingest } from "./ingest.ts";
import { BATCH_BYTES, BATCH_FILES, ingestBatch, SMALL_FILE_MAX, upToDate, type BatchOutcome, type SmallFile } from "./ingest-batch.ts";
import { localFilePieces } from "./local-files.ts";
import { paceCollection } from "../core/gc-pacer.ts";
import { safePath, UPLOAD_TEMP_MARK, type HomePath } from "./home-path.ts";
import type { Vault } from "./vault.ts";

/**
 * A flush waits this long for more files to settle: a folder copied in settles file by file, each
 * at its own timer, and a flush queued at the first went with it alone, then the next alone (10,000
 * files dropped in took 10,000 commits, 21-23 s until on B, against 12-13 s in groups of about 200).
 */
const GATHER_MS = 20;

/** A file a group commit failed to store is tried again this many times, after RETRY_MS × the attempt. */
const RETRY_TIMES = 5;
const RETRY_MS = 2000;

export interface WatchRoot {
  /** Absolute folder to watch. */
  dir: string;
  /** Stored path prefix ("" for GROVE_HOME). */
  prefix: string;
}

export interface WatcherOptions {
  roots: WatchRoot[];
  debounceMs: number;
  maxBytes: number;
}

export interface WatcherStatus {
  roots: string[];
  pending: number;
  stored: number;
  deleted: number;
  last_error: string | null;
}

/** The roots for a cell: GROVE_HOME (unless `watchHome` is off) and each of `watchDirs`. */
export function watchRoots(home: string, watchHome: boolean, watchDirs: readonly string[]): WatchRoot[] {
  const roots = watchHome ? [{ dir: home, prefix: "" }] : [];
  for (const d of watchDirs) roots.push({ dir: d, prefix: basename(d) });
  return roots;
}

type Seen = { size: number; mtimeMs: number };

export interface ScanResult {
  /** Files looked at. */
  looked: number;
  /** Files stored as new versions by this scan. */
  stored: number;
  /** Files that could not be stored (each also logged, and the last one in the status). */
  failed: number;
}

/** What a scan will look at: found by `FileWatcher.findForScan`, stored by `FileWatcher.scan`. */
export interface ScanPlan {
  files: { abs: string; path: HomePath; size: number; mtimeMs: number }[];
}

/** Why a scan was refused: the path is outside every watched root, goes through a link, or (`missing`) is not there. */
export class ScanRefused extends Error {
  constructor(
    message: string,
    readonly missing = false,
  ) {
    super(message);
  }
}

export class FileWatcher {
  /** One fs.watch per root, by the root's folder. */
  private watchers = new Map<string, FSWatcher>();
  private timers = new Map<string, ReturnType<typeof setTimeout>>();
  private seen = new Map<string, Seen>();
  private queue: Promise<void> = Promise.resolve();
  /** Small files that have settled, stored together by the next `flush` in the queue. */
  private ready = new Map<string, SmallFile>();
  private flushQueued = false;
  /** Files a group commit failed to store, and how many times so far (retryLater). */
  private retries = new Map<string, number>();
  private stopped = false;
  private counts = { stored: 0, deleted: 0 };
  private lastError: string | null = null;
  /** Called after each store or deletion the watcher made (tests, the sync nudge listens on vault.stored). */
  onChange: ((path: string, what: "stored" | "deleted") => void) | null = null;

  constructor(
    private vault: Vault,
    private opts: WatcherOptions,
  ) {}

  /** Start watching every root, then walk them for what changed while the cell was down. */
  async start(): Promise<void> {
    for (const root of this.opts.roots) this.watchRoot(root);
    if (this.opts.roots.length)
      log("info", "watching for file changes", { roots: this.opts.roots.map((r) => r.dir).join(", "), debounce_ms: this.opts.debounceMs });
    for (const root of this.opts.roots) await this.walk(root, root.dir);
  }

  /** True when some folder is watched (the watcher is "off" otherwise). */
  get watching(): boolean {
    return this.opts.roots.length > 0;
  }

  /**
   * Watch `roots` from now on (config watch_home / watch_dirs changed in a running cell): a root
   * no longer listed is let go (its files stay stored; what was waiting to be looked at is not),
   * a new one is watched and walked, as at start, so what is in it already is stored.
   */
  async setRoots(roots: readonly WatchRoot[]): Promise<void> {
    if (this.stopped) return;
    const key = (r: WatchRoot) => `${r.prefix}\0${r.dir}`;
    const next = new Set(roots.map(key));
    const before = new Set(this.opts.roots.map(key));
    const gone = this.opts.roots.filter((r) => !next.has(key(r)));
    const added = roots.filter((r) => !before.has(key(r)));
    for (const r of gone) {
      this.watchers.get(r.dir)?.close();
      this.watchers.delete(r.dir);
      for (const [abs, t] of this.timers) if (abs === r.dir || abs.startsWith(r.dir + sep)) clearTimeout(t), this.timers.delete(abs);
      for (const abs of this.ready.keys()) if (abs.startsWith(r.dir + sep)) this.ready.delete(abs);
    }
    this.opts = { ...this.opts, roots: [...roots] };
    for (const r of added) this.watchRoot(r);
    if (gone.length || added.length)
      log("info", "watched folders changed", {
        watching: roots.map((r) => r.dir).join(", ") || "(none)",
        added: added.map((r) => r.dir).join(", "),
        let_go: gone.map((r) => r.dir).join(", "),
      });
    for (const r of added) await this.walk(r, r.dir);
  }

  private watchRoot(root: WatchRoot): void {
    try {
      const w = watch(root.dir, { recursive: true }, (_event, name) => {
        // A root let go meanwhile (setRoots) is not looked at any more.
        if (name && this.watchers.get(root.dir) === w) this.schedule(root, join(root.dir, name.toString()));
      });
      w.on("error", (e) => this.fail(`watching ${root.dir}: ${errorMessage(e)}`));
      this.watchers.set(root.dir, w);
    } catch (e) {
      this.fail(`cannot watch ${root.dir}: ${errorMessage(e)}`);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  status(): WatcherStatus {
    return {
      roots: this.opts.roots.map((r) => r.dir),
      pending: this.timers.size,
      stored: this.counts.stored,
      deleted: this.counts.deleted,
      last_error: this.lastError,
    };
  }

  private fail(why: string): void {
    this.lastError = why;
    log("warn", `watcher: ${why}`);
  }

  /** The stored path of `abs` under `root`, or null for files the watcher leaves alone. */
  private pathOf(root: WatchRoot, abs: string): HomePath | null {
    const rel = relative(root.dir, abs);
    if (!rel || rel.startsWith("..")) return null;
    const segs = rel.split(sep);
    if (segs.some((s) => s.startsWith(UPLOAD_TEMP_MARK) || s.startsWith(".grove-"))) return null;
    try {
      return safePath(root.prefix ? `${root.prefix}/${segs.join("/")}` : segs.join("/"));
    } catch (e) {
      this.fail(`skipping ${abs}: ${errorMessage(e)}`);
      return null;
    }
  }

  private schedule(root: WatchRoot, abs: string): void {
    if (this.stopped) return;
    const path = this.pathOf(root, abs);
    if (!path) return;
    const prev = this.timers.get(abs);
    if (prev) clearTimeout(prev);
    this.timers.set(
      abs,
      setTimeout(() => {
        this.timers.delete(abs);
        this.queue = this.queue.then(() => this.check(root, abs, path)).catch((e) => this.fail(`${path}: ${errorMessage(e)}`));
      }, this.opts.debounceMs),
    );
  }

  /** Walk `dir` (a root, or a folder moved in whole) and look again at every file in it that is not stored as it is. */
  private async walk(root: WatchRoot, dir: string): Promise<void> {
    const found: ScanPlan["files"] = [];
    await this.files(root, dir, found);
    if (this.stopped) return;
    // The index asked once for the whole folder (a folder copied in is walked as it fills).
    const current = this.vault.db.currentMany(found.map((f) => f.path));
    for (const f of found) if (!upToDate(current.get(f.path) ?? null, f.size, f.mtimeMs)) this.schedule(root, f.abs);
  }

  /** True when the current version of `path` has this size and was recorded after the file's last change. */
  private upToDate(path: HomePath, size: number, mtimeMs: number): boolean {
    return upToDate(this.vault.db.current(path), size, mtimeMs);
  }

  private async check(root: WatchRoot, abs: string, path: HomePath): Promise<void> {
    if (this.stopped) return;
    const st = lstatNow(abs);
    if (!st) {
      this.seen.delete(abs);
      if (!this.vault.db.current(path)) return;
      this.vault.db.markDeleted(path);
      this.counts.deleted++;
      // The hint is a command to copy: the path quoted for a shell (spaces, quotes).
      const q = shellQuote(path);
      log(
        "info",
        `watcher: file deleted: ${q}; its versions stay in history (\`grove history ${q}\`; \`grove restore ${q} --version N\` brings one back)`,
      );
      this.onChange?.(path, "deleted");
      this.vault.stored?.emit(path);
      return;
    }
    if (st.isDirectory()) return this.walk(root, abs);
    if (!st.isFile()) return; // symlinks, sockets, devices: not stored
    // Stored only once it stops changing: same size and mtime as at the previous look. The index
    // is asked only then (once a file, not at every look: a folder of files arriving asked it
    // thousands of times).
    const now: Seen = { size: st.size, mtimeMs: st.mtimeMs };
    const before = this.seen.get(abs);
    this.seen.set(abs, now);
    if (!before || before.size !== now.size || before.mtimeMs !== now.mtimeMs) return this.schedule(root, abs);
    this.seen.delete(abs);
    await this.take(abs, path, st.size, st.mtimeMs);
  }

  /**
   * Store `abs` unless its current version is up to date: small files join the next group commit,
   * which asks the index about all of its files at once (ingest-batch `upToDate`: a query per file
   * was half a second of the main thread for 10,000 files dropped in).
   */
  private async take(abs: string, path: HomePath, size: number, mtimeMs: number): Promise<void> {
    if (size <= SMALL_FILE_MAX) {
      this.ready.set(abs, { path, abs, size, mtimeMs });
      this.queueFlush();
      return;
    }
    if (this.upToDate(path, size, mtimeMs)) return;
    const r = await ingest(this.vault, path, localFilePieces(abs, size, this.vault.buffers), {
      maxBytes: this.opts.maxBytes,
      expectedSize: size,
      inPlace: abs,
    });
    if (!r.created) return;
    this.counts.stored++;
    log("info", "watcher: stored", { path, version: r.version, size, new_chunks: r.new_chunks });
    this.onChange?.(path, "stored");
  }

  /**
   * The files a scan of the stored path `under` looks at (a folder or a file; every root when
   * null). Throws ScanRefused when `under` is in no watched root or is not there.
   */
  async findForScan(under: HomePath | null): Promise<ScanPlan> {
    const targets: { root: WatchRoot; abs: string }[] = [];
    for (const root of this.opts.roots) {
      if (under === null) targets.push({ root, abs: root.dir });
      else if (!root.prefix) targets.push({ root, abs: join(root.dir, ...under.split("/")) });
      else if (under === root.prefix || under.startsWith(`${root.prefix}/`))
        targets.push({ root, abs: join(root.dir, ...under.split("/").slice(1)) });
    }
    if (!targets.length) throw new ScanRefused(`${under} is in no watched folder`);
    const found: ScanPlan["files"] = [];
    let there = false;
    for (const { root, abs } of targets) {
      const st = await lstat(abs).catch(() => null);
      if (!st) continue;
      // lstat follows links in the folders on the way: a path through a symbolic link in a root
      // (GROVE_HOME/link -> /etc) would store what is outside it. The walk never follows links.
      const [real, realRoot] = await Promise.all([realpath(abs).catch(() => null), realpath(root.dir).catch(() => null)]);
      if (!real || !realRoot || real !== join(realRoot, relative(root.dir, abs)))
        throw new ScanRefused(`${under} goes through a symbolic link: links are not followed`);
      there = true;
      if (st.isDirectory()) await this.files(root, abs, found);
      else if (st.isFile()) {
        const path = this.pathOf(root, abs);
        if (path) found.push({ abs, path, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
    if (!there) throw new ScanRefused(under === null ? "no watched folder is there" : `${under} is not there`, true);
    return { files: found };
  }

  /** Store now, without waiting for them to settle, the files of `plan` that are new or changed; resolves once all are stored. */
  async scan(plan: ScanPlan): Promise<ScanResult> {
    const result: ScanResult = { looked: plan.files.length, stored: 0, failed: 0 };
    const job = async () => {
      const before = this.counts.stored;
      for (const f of plan.files) {
        if (this.stopped) break;
        const t = this.timers.get(f.abs);
        if (t) clearTimeout(t), this.timers.delete(f.abs);
        this.seen.delete(f.abs);
        try {
          await this.take(f.abs, f.path, f.size, f.mtimeMs);
        } catch (e) {
          result.failed++;
          this.fail(`${f.path}: ${errorMessage(e)}`);
        }
      }
      result.failed += await this.flush();
      result.stored = this.counts.stored - before;
    };
    const done = this.queue.then(job);
    this.queue = done.catch((e) => this.fail(errorMessage(e)));
    await done;
    return result;
  }

  /** Every file under `dir` the watcher would store, with its size and mtime. */
  private async files(root: WatchRoot, dir: string, out: ScanPlan["files"]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      return this.fail(`cannot read ${dir}: ${errorMessage(e)}`);
    }
    for (const e of entries) {
      if (this.stopped) return;
      const abs = join(dir, e.name);
      if (e.isDirectory()) await this.files(root, abs, out);
      else if (e.isFile()) {
        const path = this.pathOf(root, abs);
        const st = path ? lstatNow(abs) : null;
        if (path && st?.isFile()) out.push({ abs, path, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
  }

  /**
   * A file the last group commit could not store (a busy or full disk, a database that refused):
   * stored again a little later, a few times, so a passing fault loses nothing until the next
   * start's look at every file.
   */
  private retryLater(f: SmallFile): void {
    const n = (this.retries.get(f.abs) ?? 0) + 1;
    if (n > RETRY_TIMES) {
      this.retries.delete(f.abs);
      log(
        "warn",
        `watcher: ${f.path} could not be stored after ${RETRY_TIMES} tries; it is looked at again when it changes or the cell starts`,
      );
      return;
    }
    this.retries.set(f.abs, n);
    const t = setTimeout(() => {
      if (this.stopped) return;
      this.ready.set(f.abs, f);
      this.queueFlush();
    }, RETRY_MS * n);
    t.unref?.();
  }

  /**
   * A flush of the ready files, GATHER_MS from now and behind the looks queued by then, so files
   * settling together are stored together; one at a time.
   */
  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setTimeout(() => {
      if (this.stopped) return;
      this.queue = this.queue.then(async () => void (await this.flush())).catch((e) => this.fail(errorMessage(e)));
    }, GATHER_MS);
  }

  /** Store the small files that have settled, in group commits of up to BATCH_FILES files or BATCH_BYTES; the number that failed. */
  private async flush(): Promise<number> {
    this.flushQueued = false;
    let failed = 0;
    while (this.ready.size && !this.stopped) {
      const batch: SmallFile[] = [];
      let bytes = 0;
      for (const [abs, f] of this.ready) {
        if (batch.length && (batch.length >= BATCH_FILES || bytes + f.size > BATCH_BYTES)) break;
        batch.push(f);
        bytes += f.size;
        this.ready.delete(abs);
      }
      let outcomes: BatchOutcome[];
      try {
        outcomes = await ingestBatch(this.vault, batch);
      } catch (e) {
        outcomes = batch.map((f) => ({ path: f.path, stored: false, why: "error", error: errorMessage(e) }));
      }
      void paceCollection(bytes); // a group commit's garbage (core/gc-pacer)
      // A turn of the event loop between group commits: with files read here and no manifest
      // file written, a folder of thousands was stored in one stretch of promise callbacks, and
      // requests (my other cells', the dashboard's) waited seconds for it.
      await new Promise<void>((resolve) => setImmediate(resolve));
      let stored = 0;
      outcomes.forEach((o, i) => {
        const f = batch[i]!;
        if (o.stored) {
          stored++;
          this.counts.stored++;
          this.retries.delete(f.abs);
          this.onChange?.(o.path, "stored");
        } else if (o.why === "error") {
          failed++;
          this.fail(`${o.path}: ${o.error}`);
          this.retryLater(f);
        }
        // "changed": its change is an event of its own, which schedules another look; "gone": likewise.
      });
      const one = outcomes.length === 1 && outcomes[0]!.stored ? outcomes[0]! : null;
      if (one?.stored) log("info", "watcher: stored", { path: one.path, version: one.version, size: bytes, new_chunks: one.new_chunks });
      else if (stored) log("info", "watcher: stored together", { files: stored, of: batch.length, bytes });
    }
    return failed;
  }
}

/**
 * `abs`'s lstat, or null when it is not there. Synchronous: a file in GROVE_HOME or a watched
 * folder is on a local disk, where a stat costs microseconds; an awaited one cost a promise and a
 * turn of the event loop per look (two looks a file), 0.6 s of the main thread for 10,000 files.
 */
function lstatNow(abs: string): Stats | null {
  try {
    return lstatSync(abs);
  } catch {
    return null;
  }
}
