/** @module ingest/vault — what ingest and restore need from a cell: keys, store, index, crypto. */
import type { CellId } from "../core/types.ts";
import type { CipherSuite } from "../crypto/index.ts";
import type { ChunkStore } from "../store/chunk-store.ts";
import type { PlacementDb } from "../store/placement-db.ts";
import type { CryptoPool } from "./crypto-pool.ts";
import type { BufferPool } from "./buffer-pool.ts";

export interface Vault {
  /** GROVE_HOME: the user's file tree. */
  home: string;
  /** GROVE_DIR/manifests. */
  manifestsDir: string;
  masterKey: Uint8Array;
  owner: CellId;
  db: PlacementDb;
  store: ChunkStore;
  suite: CipherSuite;
  pool: CryptoPool;
  /** Reusable buffers of CHUNK_BUFFER_SIZE bytes for reading, sealing, opening and writing chunks. */
  buffers: BufferPool;
  /** Called after a new version is stored (the cell schedules a sync round). */
  onStored?: (path: string) => void;
}
