/**
 * @module store/chunk-store — the content-addressed store of sealed chunks: chunks/ab/abcd….
 *
 * A chunk's name is the SHA-256 of its sealed bytes. Writes are atomic (temp + fsync +
 * rename) and idempotent: a chunk already present is not written again (deduplication).
 * This module does not verify on read; restore does (it needs the hash and the key anyway).
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic.ts";
import { isHex64, type ChunkHash } from "../core/types.ts";

export class ChunkStore {
  constructor(readonly root: string) {}

  /** Where chunk `hash` lives (it need not exist). */
  path(hash: ChunkHash): string {
    if (!isHex64(hash)) throw new Error(`not a chunk name: ${String(hash).slice(0, 80)}`);
    return join(this.root, hash.slice(0, 2), hash);
  }

  has(hash: ChunkHash): boolean {
    return existsSync(this.path(hash));
  }

  /** Size on disk, or null when absent. */
  size(hash: ChunkHash): number | null {
    try {
      return statSync(this.path(hash)).size;
    } catch {
      return null;
    }
  }

  /** Store `sealed` under `hash` unless present. Returns true when bytes were written. */
  async put(hash: ChunkHash, sealed: Uint8Array): Promise<boolean> {
    const p = this.path(hash);
    if (existsSync(p)) return false;
    await writeFileAtomic(p, sealed, 0o600);
    return true;
  }

  /** The raw sealed bytes; throws ENOENT when absent. */
  async read(hash: ChunkHash): Promise<Uint8Array> {
    return await Bun.file(this.path(hash)).bytes();
  }
}
