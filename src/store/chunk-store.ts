/**
 * @module store/chunk-store — the content-addressed store of sealed chunks: chunks/ab/abcd….
 *
 * A chunk's name is the SHA-256 of its sealed bytes. Writes are atomic (temp + fsync +
 * rename) and idempotent: a chunk already present is not written again (deduplication).
 * This module does not verify on read; restore does (it needs the hash and the key anyway).
 * Chunks are written and read with direct I/O where possible (core/direct-io).
 */
import { existsSync } from "node:fs";
import { mkdir, open, rename, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { tempPathFor, writeFileStaged } from "../core/atomic.ts";
import { syncFiles, syncFolders } from "../core/group-sync.ts";
import { DirectFile } from "../core/direct-io.ts";
import { isHex64, type ChunkHash } from "../core/types.ts";

/** A chunk written to its temp file, waiting for `ChunkStore.commit`. */
export interface StagedChunk {
  hash: ChunkHash;
  temp: string;
  final: string;
}

export class ChunkStore {
  constructor(readonly root: string) {}

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

  /** Where chunk `hash` lives (it need not exist). */
  path(hash: ChunkHash): string {
    if (!isHex64(hash)) throw new Error(`not a chunk name: ${String(hash).slice(0, 80)}`);
    return join(this.root, hash.slice(0, 2), hash);
  }

  has(hash: ChunkHash): boolean {
    return existsSync(this.path(hash));
  }

  /**
   * Store `sealed` under `hash` unless present, in two steps: resolves once `sealed` may be
   * reused, with `durable` resolving when the chunk is fsynced and in place.
   */
  async putStaged(
    hash: ChunkHash,
    sealed: Uint8Array,
    opts: { spareTail?: boolean } = {},
  ): Promise<{ wrote: boolean; durable: Promise<void> }> {
    const p = this.path(hash);
    if (existsSync(p)) return { wrote: false, durable: Promise.resolve() };
    const { durable } = await writeFileStaged(p, sealed, 0o600, opts);
    return { wrote: true, durable };
  }

  /**
   * First step of a group write: `bytes` into a temp file beside chunk `hash`'s place, not
   * fsynced; null when the chunk is here already. `commit` makes a group of them durable.
   */
  async stage(hash: ChunkHash, bytes: Uint8Array): Promise<StagedChunk | null> {
    const final = this.path(hash);
    if (existsSync(final)) return null;
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
   * renamed into place, then their folders synced. When it throws, no chunk of the group was
   * renamed into place unsynced: the temp files are removed.
   */
  async commit(group: readonly StagedChunk[]): Promise<void> {
    if (!group.length) return;
    try {
      await syncFiles(group.map((g) => g.temp));
    } catch (e) {
      await Promise.all(group.map((g) => unlink(g.temp).catch(() => {})));
      throw e;
    }
    await Promise.all(group.map((g) => rename(g.temp, g.final)));
    await syncFolders([...new Set(group.map((g) => dirname(g.final)))]);
  }

  /**
   * Read chunk `hash`, of `buf.byteLength` bytes exactly, into `buf` (no allocation), through the
   * page cache: for small chunks, just written and likely still cached, where direct I/O would go
   * to the disk and `buf` (a frame in a batch body, sync/batch-body) is not aligned for it anyway.
   * Throws ENOENT when absent, and when the chunk is not that size.
   */
  async readExactInto(hash: ChunkHash, buf: Uint8Array): Promise<Uint8Array> {
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
