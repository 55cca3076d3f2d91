/** @module ingest/vault — what ingest and restore need from a cell: keys, store, index, crypto. */
import type { CellId, ChunkHash } from "../core/types.ts";
import type { KeyRing } from "../crypto/key-ring.ts";
import type { CipherSuite } from "../crypto/index.ts";
import type { ChunkStore } from "../store/chunk-store.ts";
import type { PlacementDb } from "../store/placement-db.ts";
import type { CryptoPool } from "./crypto-pool.ts";
import type { BufferPool } from "./buffer-pool.ts";
import type { Settler } from "./settler.ts";

export interface Vault {
  /** GROVE_HOME: the user's file tree. */
  home: string;
  /** GROVE_DIR/manifests. */
  manifestsDir: string;
  /** Which key seals new files, and which opens a manifest (this cell's own, or my other cells'). */
  keys: KeyRing;
  owner: CellId;
  db: PlacementDb;
  store: ChunkStore;
  suite: CipherSuite;
  pool: CryptoPool;
  /** Reusable buffers of CHUNK_BUFFER_SIZE bytes for reading, sealing, opening and writing chunks. */
  buffers: BufferPool;
  /** Fsyncs, once the store is quiet, what stores wrote without one (ingest/settler); absent: each store does it itself. */
  settler?: Settler;
  /** Hear of each new version stored (the running cell schedules a sync round); absent in one-shot uses. */
  stored?: StoreListeners;
  /** Where a chunk this cell does not hold is fetched from (my other cells); absent: only the local store. */
  remote?: RemoteChunks;
  /**
   * Hears each new chunk a put writes: its sealed bytes (valid only during the call), and when
   * it is durable in chunks/ (the running cell pushes it to peers at once: sync/eager-push);
   * absent in one-shot uses.
   */
  chunkStored?: (hash: ChunkHash, sealed: Uint8Array, durable: Promise<void>) => void;
  /**
   * Describes new versions in this cell's tree events, called inside the transaction that records
   * them (mine/my-tree), so that one commit makes both durable; absent in one-shot uses. Must not
   * throw: what it leaves undescribed is described when `stored` is told.
   */
  describe?: (paths: readonly string[]) => void;
}

/** Fetches a sealed chunk of a manifest from another cell; the reader still checks its name and tag. */
export type ChunkFetch = (m: { source_path: string; owner: string; file_hash: string }, hash: string) => Promise<Uint8Array>;

/** The source of chunks not held here, set once the running cell can reach my other cells (mine/my-tree). */
export class RemoteChunks {
  source: ChunkFetch | null = null;
}

/** Listeners told the path of each new version stored, and of each file deleted. */
export class StoreListeners {
  private readonly fns = new Set<(path: string) => void>();
  /** Listen; returns how to stop. */
  on(fn: (path: string) => void): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  emit(path: string): void {
    for (const fn of this.fns) fn(path);
  }
}
