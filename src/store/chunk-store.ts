/**
 * @module store/chunk-store — the content-addressed store of sealed chunks: chunks/ab/abcd….
 *
 * A chunk's name is the SHA-256 of its sealed bytes. Writes are atomic (temp + fsync +
 * rename) and idempotent: a chunk already present is not written again (deduplication).
 * This module does not verify on read; restore does (it needs the hash and the key anyway).
 */
import { existsSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { writeFileStaged } from "../core/atomic.ts";
import { isHex64, type ChunkHash } from "../core/types.ts";

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
  async putStaged(hash: ChunkHash, sealed: Uint8Array): Promise<{ wrote: boolean; durable: Promise<void> }> {
    const p = this.path(hash);
    if (existsSync(p)) return { wrote: false, durable: Promise.resolve() };
    const { durable } = await writeFileStaged(p, sealed, 0o600);
    return { wrote: true, durable };
  }

  /**
   * Read chunk `hash` into `buf` (no allocation); returns the view holding it. Throws ENOENT
   * when absent, and when the chunk is larger than `buf`.
   */
  async readInto(hash: ChunkHash, buf: Uint8Array): Promise<Uint8Array> {
    const fh = await open(this.path(hash), "r");
    try {
      let n = 0;
      for (;;) {
        if (n === buf.byteLength) {
          const extra = await fh.read(new Uint8Array(1), 0, 1, n);
          if (extra.bytesRead > 0) throw new Error(`chunk ${hash} is larger than a chunk can be`);
          break;
        }
        const { bytesRead } = await fh.read(buf, n, buf.byteLength - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      return buf.subarray(0, n);
    } finally {
      await fh.close();
    }
  }
}
