/**
 * @module store/chunk-store — the content-addressed store of sealed chunks.
 *
 * A chunk's name is the SHA-256 of its sealed bytes. A small chunk (at most INLINE_MAX sealed
 * bytes: a file of up to 64 KiB) is a row of placement.db's `inline_chunks`; a larger one is
 * the file chunks/ab/abcd… (docs/design.md, "Small chunks live in placement.db"). A file per
 * small chunk cost an inode, a temp file, a rename and a share of a folder sync, which on a
 * folder of small files weighed more than the bytes; as a row it costs a part of one commit.
 * Writes are atomic (a transaction; temp + fsync + rename for files) and idempotent: a chunk
 * already present is not written again (deduplication). This module does not verify on read;
 * restore does (it needs the hash and the key anyway). Chunk files are written and read with
 * direct I/O where possible (core/direct-io).
 */
import type { Database, Statement } from "bun:sqlite";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { mkdir, open, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { tempPathFor, writeFileStaged } from "../core/atomic.ts";
import { syncFiles, syncFolders } from "../core/group-sync.ts";
import { DirectFile } from "../core/direct-io.ts";
import { isHex64, type ChunkHash } from "../core/types.ts";

/** Sealed chunks of at most this many bytes are rows of placement.db (64 KiB of content + the AEAD tag). */
export const INLINE_MAX = 64 * 1024 + 16;

/**
 * A chunk staged for `ChunkStore.commit`: written to its temp file, or (a small chunk) its bytes
 * held here until the commit's transaction.
 */
export type StagedChunk = { hash: ChunkHash; temp: string; final: string } | { hash: ChunkHash; inline: Uint8Array };

/** The prepared statements on `inline_chunks`. */
interface InlineRows {
  has: Statement;
  get: Statement;
  size: Statement;
  put: Statement;
  del: Statement;
}

export class ChunkStore {
  private readonly rows: InlineRows | null;

  /**
   * `root`: the chunks/ folder. `db`: placement.db, where small chunks live; without it (a store
   * opened by a tool or a test on a bare folder) every chunk is a file.
   */
  constructor(
    readonly root: string,
    private readonly db: Database | null = null,
  ) {
    this.rows = db
      ? {
          has: db.query("SELECT 1 FROM inline_chunks WHERE hash = ?"),
          get: db.query("SELECT body FROM inline_chunks WHERE hash = ?"),
          size: db.query("SELECT length(body) AS n FROM inline_chunks WHERE hash = ?"),
          put: db.query("INSERT OR IGNORE INTO inline_chunks (hash, body, stored_at) VALUES (?, ?, ?)"),
          del: db.query("DELETE FROM inline_chunks WHERE hash = ?"),
        }
      : null;
  }

  /** True when a chunk of `size` sealed bytes is kept as a row. */
  private inline(size: number): boolean {
    return this.rows !== null && size <= INLINE_MAX;
  }

  /** The row's bytes of chunk `hash`, or null when it is not a row. */
  private row(hash: ChunkHash): Uint8Array | null {
    if (!this.rows) return null;
    const r = this.rows.get.get(hash) as { body: Uint8Array } | null;
    return r ? r.body : null;
  }

  /** Writers at work in this process (ingest, a chunk pushed by its owner). */
  private writers = 0;

  /** True while a writer runs: the trash collection deletes no file then (trash/collector). */
  get busy(): boolean {
    return this.writers > 0;
  }

  /**
   * Run `fn` as a writer. A writer may find a chunk already present, skip writing it and record
   * a reference to it later; no file is collected meanwhile, so that chunk cannot vanish between.
   */
  async writing<T>(fn: () => Promise<T>): Promise<T> {
    this.writers++;
    try {
      return await fn();
    } finally {
      this.writers--;
    }
  }

  /** Where chunk `hash` lives when it is a file (it need not exist). */
  path(hash: ChunkHash): string {
    if (!isHex64(hash)) throw new Error(`not a chunk name: ${String(hash).slice(0, 80)}`);
    return join(this.root, hash.slice(0, 2), hash);
  }

  has(hash: ChunkHash): boolean {
    const p = this.path(hash);
    return (this.rows !== null && this.rows.has.get(hash) !== null) || existsSync(p);
  }

  /** Chunk `hash`'s sealed size, or null when it is not here. */
  size(hash: ChunkHash): number | null {
    const p = this.path(hash);
    const r = this.rows?.size.get(hash) as { n: number } | null | undefined;
    if (r) return r.n;
    try {
      return statSync(p).size;
    } catch {
      return null;
    }
  }

  /** Chunk `hash`'s sealed bytes (a new buffer). Throws ENOENT when it is not here. */
  async read(hash: ChunkHash): Promise<Uint8Array> {
    const p = this.path(hash);
    return this.row(hash) ?? asBytes(await readFile(p));
  }

  /** `read` on this thread. */
  readSync(hash: ChunkHash): Uint8Array {
    const p = this.path(hash);
    return this.row(hash) ?? asBytes(readFileSync(p));
  }

  /** Delete chunk `hash` (row and file); the sealed bytes freed, 0 when it was not here. */
  remove(hash: ChunkHash): number {
    const p = this.path(hash);
    let freed = 0;
    if (this.rows) {
      const n = this.size(hash);
      if (this.rows.del.run(hash).changes && n !== null) freed += n;
    }
    try {
      freed += statSync(p).size;
      rmSync(p, { force: true });
    } catch {
      // no file
    }
    return freed;
  }

  /** The names of the chunks kept as rows stored before `before` (unix ms), `step` at a time in name order (the trash collection's sweep). */
  *inlineNames(before: number, step = 1000): Generator<ChunkHash> {
    if (!this.db) return;
    const page = this.db.query("SELECT hash FROM inline_chunks WHERE hash > ? AND stored_at < ? ORDER BY hash LIMIT ?");
    let after = "";
    for (;;) {
      const rows = page.values(after, before, step) as [ChunkHash][];
      for (const [h] of rows) yield h;
      if (rows.length < step) return;
      after = rows[rows.length - 1]![0];
    }
  }

  /**
   * Store `sealed` under `hash` unless present, in two steps: resolves once `sealed` may be
   * reused, with `durable` resolving when the chunk is fsynced and in place. A small chunk is a
   * row: committed at once (its own commit), or, with `rows`, added there for the caller to
   * commit in its own transaction (`commitRows`: ingest records it with the version that names
   * it, one commit for both), `durable` then resolving at once.
   */
  async putStaged(
    hash: ChunkHash,
    sealed: Uint8Array,
    opts: { spareTail?: boolean; rows?: StagedChunk[] } = {},
  ): Promise<{ wrote: boolean; durable: Promise<void> }> {
    const p = this.path(hash);
    if (this.has(hash)) return { wrote: false, durable: Promise.resolve() };
    if (this.inline(sealed.byteLength)) {
      if (opts.rows)
        opts.rows.push({ hash, inline: sealed.slice() }); // the caller reuses `sealed`
      else this.rows!.put.run(hash, sealed, Date.now()); // synchronous FULL: durable when this returns
      return { wrote: true, durable: Promise.resolve() };
    }
    const { durable } = await writeFileStaged(p, sealed, 0o600, opts);
    return { wrote: true, durable };
  }

  /**
   * First step of a group write: `bytes` into a temp file beside chunk `hash`'s place, not
   * fsynced; null when the chunk is here already. `commit` makes a group of them durable. A small
   * chunk's bytes are held as they are until the commit: `reused` when the caller writes over
   * `bytes` before that (a pooled buffer), and they are copied.
   */
  async stage(hash: ChunkHash, bytes: Uint8Array, opts: { reused?: boolean } = {}): Promise<StagedChunk | null> {
    const final = this.path(hash);
    if (this.has(hash)) return null;
    if (this.inline(bytes.byteLength)) return { hash, inline: opts.reused ? bytes.slice() : bytes };
    const temp = tempPathFor(final);
    try {
      await writeFile(temp, bytes, { flag: "wx", mode: 0o600 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      await mkdir(dirname(final), { recursive: true });
      await writeFile(temp, bytes, { flag: "wx", mode: 0o600 });
    }
    return { hash, temp, final };
  }

  /**
   * Make staged chunks durable as one group (core/group-sync): their bytes synced together, then
   * renamed into place, then their folders synced; the small ones' rows committed in one
   * transaction (or left to the caller). When it throws, no chunk of the group was renamed into
   * place unsynced: the temp files are removed.
   */
  async commit(group: readonly StagedChunk[], opts: { rowsByCaller?: boolean } = {}): Promise<void> {
    const files = group.filter((g) => "temp" in g);
    if (files.length) {
      try {
        await syncFiles(files.map((g) => g.temp));
      } catch (e) {
        await Promise.all(files.map((g) => unlink(g.temp).catch(() => {})));
        throw e;
      }
      await Promise.all(files.map((g) => rename(g.temp, g.final)));
      await syncFolders([...new Set(files.map((g) => dirname(g.final)))]);
    }
    // rowsByCaller: the caller commits the rows (`commitRows`) in the transaction that names them.
    if (!opts.rowsByCaller) this.commitRows(group);
  }

  /** Undo a group that will not be committed: its temp files removed (its rows were never written). */
  async discard(group: readonly StagedChunk[]): Promise<void> {
    await Promise.all(group.map((g) => ("temp" in g ? unlink(g.temp).catch(() => {}) : undefined)));
  }

  /**
   * The rows of a group's small chunks, in one transaction; inside a caller's transaction they
   * are part of it (ingest-batch commits them with the versions that name them).
   */
  commitRows(group: readonly StagedChunk[]): void {
    const rows = group.filter((g) => "inline" in g);
    if (!rows.length) return;
    const put = this.rows!.put;
    const now = Date.now();
    this.db!.transaction(() => {
      for (const g of rows) put.run(g.hash, g.inline, now);
    })();
  }

  /**
   * Read chunk `hash`, of `buf.byteLength` bytes exactly, into `buf` (no allocation), through the
   * page cache: for small chunks, just written and likely still cached, where direct I/O would go
   * to the disk and `buf` (a frame in a batch body, sync/batch-body) is not aligned for it anyway.
   * Throws ENOENT when absent, and when the chunk is not that size.
   */
  async readExactInto(hash: ChunkHash, buf: Uint8Array): Promise<Uint8Array> {
    const row = this.row(hash);
    if (row) {
      if (row.byteLength !== buf.byteLength) throw new Error(`chunk ${hash} holds ${row.byteLength} bytes, not ${buf.byteLength}`);
      buf.set(row);
      return buf;
    }
    const fh = await open(this.path(hash), "r");
    try {
      const size = (await fh.stat()).size;
      if (size !== buf.byteLength) throw new Error(`chunk ${hash} holds ${size} bytes, not ${buf.byteLength}`);
      let n = 0;
      while (n < size) {
        const { bytesRead } = await fh.read(buf, n, size - n, n);
        if (!bytesRead) throw new Error(`chunk ${hash} ended at byte ${n} of ${size}`);
        n += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }

  /**
   * Read chunk `hash` into `buf` (no allocation); returns the view holding it. Throws ENOENT
   * when absent, and when the chunk is larger than `buf`.
   */
  async readInto(hash: ChunkHash, buf: Uint8Array): Promise<Uint8Array> {
    const row = this.row(hash);
    if (row) {
      if (row.byteLength > buf.byteLength) throw new Error(`chunk ${hash} is larger than a chunk can be`);
      buf.set(row);
      return buf.subarray(0, row.byteLength);
    }
    const f = await DirectFile.openRead(this.path(hash));
    try {
      const size = await f.size();
      if (size > buf.byteLength) throw new Error(`chunk ${hash} is larger than a chunk can be`);
      const n = await f.read(buf, size, 0, { spareTail: true });
      return buf.subarray(0, n);
    } finally {
      await f.release();
    }
  }
}

/** A Buffer read from a file as a plain Uint8Array over the same memory (`new Uint8Array(buffer)` would copy it: 4 MiB more garbage per chunk). */
function asBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
