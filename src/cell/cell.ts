/**
 * @module cell/cell — one running Grove: opens GROVE_DIR, loads config and keys, wires the
 * store, index and crypto together. Web and CLI take a Cell; features take the narrower Vault.
 */
import { repairPendingSync } from "../store/manifest-settle.ts";
import { findPendingManifests } from "../store/manifest.ts";
import { Settler } from "../ingest/settler.ts";
import type { Layout } from "../core/layout.ts";
import { loadConfig, type Config } from "../config/config.ts";
import { selectSuite, type CipherSuite } from "../crypto/index.ts";
import { chooseEd25519 } from "../crypto/ed25519.ts";
import { ChunkStore } from "../store/chunk-store.ts";
import { PlacementDb } from "../store/placement-db.ts";
import { HeldStore } from "../store/held-store.ts";
import { Placements } from "../store/placements.ts";
import { createPool, type CryptoPool } from "../ingest/crypto-pool.ts";
import { BufferPool } from "../ingest/buffer-pool.ts";
import { CHUNK_BUFFER_SIZE } from "../core/types.ts";
import { RemoteChunks, StoreListeners, type Vault } from "../ingest/vault.ts";
import { EventLog } from "../tree/event-log.ts";
import { initStateDir, loadKeyRing, loadKeys } from "./state-dir.ts";
import type { CellKeys } from "../crypto/keys.ts";
import { log } from "../core/log.ts";

export interface Cell {
  layout: Layout;
  config: Config;
  keys: CellKeys;
  db: PlacementDb;
  store: ChunkStore;
  /** What this cell keeps for other cells. */
  held: HeldStore;
  /** Where our own chunks are in the fleet. */
  placements: Placements;
  /** The tree events of my cells (tree/event-log): the one tree every cell of mine lists. */
  tree: EventLog;
  suite: CipherSuite;
  pool: CryptoPool;
  vault: Vault;
  startedAt: number;
  /** Close the crypto workers and the database (the running cell's services stop first: cell/runtime). */
  close(): void;
}

export interface OpenedCell {
  cell: Cell;
  /** The recovery phrase when this start created the identity (show it once), else null. */
  newPhrase: string | null;
  /** The name this start gave the cell when it wrote config.json, else null. */
  newName: string | null;
}

/**
 * Open (and on first run create) the cell in `layout`. The config is validated before
 * anything is written, so a bad config.json stops the start and is left untouched.
 */
export function openCell(layout: Layout): OpenedCell {
  const { config, unknownKeys } = loadConfig(layout.config);
  for (const k of unknownKeys) log("warn", `config.json: unknown key "${k}" ignored`);
  const { phrase, name } = initStateDir(layout);
  const keys = loadKeys(layout);
  const db = new PlacementDb(layout.placementDb);
  repairPendingSync(db, layout.manifests); // before anything reads a manifest
  findPendingManifests(layout.manifests, (rel) => db.pendingManifestBody(rel));
  const settler = new Settler(db, { manifests: layout.manifests, home: layout.home });
  if (db.pendingManifests(1).length) settler.soon();
  const store = new ChunkStore(layout.chunks, db.db);
  const suite = selectSuite(config.crypto);
  chooseEd25519(config.crypto);
  const pool = createPool(suite, config.crypto_workers, config.crypto);
  const buffers = new BufferPool(CHUNK_BUFFER_SIZE, pool.parallelism * 2 + 2);
  const vault: Vault = {
    home: layout.home,
    manifestsDir: layout.manifests,
    keys: loadKeyRing(layout, keys),
    owner: keys.id,
    db,
    store,
    suite,
    pool,
    buffers,
    stored: new StoreListeners(),
    remote: new RemoteChunks(),
    settler,
  };
  const held = new HeldStore(db.db, store, () => config.max_peer_storage_bytes);
  const placements = new Placements(db.db);
  const cell: Cell = {
    layout,
    config,
    keys,
    db,
    store,
    held,
    placements,
    tree: new EventLog(db.db, keys.id),
    suite,
    pool,
    vault,
    startedAt: Date.now(),
    close() {
      settler.stop();
      pool.close();
      db.close();
    },
  };
  return { cell, newPhrase: phrase, newName: name };
}
