/**
 * @module trash/listing — what waits in the trash and when it will be collected: `grove trash`,
 * GET /api/trash. Three kinds: purged versions (restorable until collected), our own chunks
 * nobody needs any more (local copy, and the peers still asked to delete theirs), and chunks
 * kept for other cells that their owner asked to delete.
 */
import type { Database } from "bun:sqlite";
import type { CellId, ChunkHash, ManifestHash } from "../core/types.ts";

export interface TrashedVersion {
  path: string;
  version: number;
  manifest_hash: ManifestHash | null;
  /** Bytes of that version's content (null: it recorded a deletion). */
  size: number | null;
  deleted: boolean;
  at: number;
  purged_at: number;
  collect_after: number;
}

export interface TrashedChunk {
  hash: ChunkHash;
  /** Sealed size when this cell still has its copy, else null. */
  size: number | null;
  local: boolean;
  /** Peers still holding it for us (they get the DeleteRequest each round until they acknowledge). */
  peers: number;
  trashed_at: number;
  collect_after: number;
}

export interface TrashedHeld {
  owner: CellId;
  hash: ChunkHash;
  size: number;
  trashed_at: number;
  collect_after: number;
}

export interface TrashListing {
  trash_retention_s: number;
  version_retention_s: number;
  versions: TrashedVersion[];
  chunks: TrashedChunk[];
  held: TrashedHeld[];
  totals: { versions: number; chunks: number; chunk_bytes: number; held: number; held_bytes: number };
}

export function trashListing(db: Database, cfg: { trash_retention_s: number; version_retention_s: number }): TrashListing {
  const keep = cfg.trash_retention_s * 1000;
  const versions = (
    db
      .query(
        `SELECT p.path, p.version, p.manifest_hash, m.total_size AS size, p.at, p.purged_at FROM purged_versions p
         LEFT JOIN manifests m ON m.manifest_hash = p.manifest_hash ORDER BY p.purged_at, p.path, p.version`,
      )
      .all() as Omit<TrashedVersion, "deleted" | "collect_after">[]
  ).map((v) => ({
    ...v,
    size: v.manifest_hash === null ? null : v.size,
    deleted: v.manifest_hash === null,
    collect_after: v.purged_at + keep,
  }));
  const chunks = (
    db
      .query(
        `SELECT t.hash, c.size, t.trashed_at, (SELECT COUNT(*) FROM placements p WHERE p.chunk_hash = t.hash) AS peers
         FROM chunk_trash t LEFT JOIN chunks c ON c.hash = t.hash ORDER BY t.trashed_at, t.hash`,
      )
      .all() as { hash: ChunkHash; size: number | null; trashed_at: number; peers: number }[]
  ).map((c) => ({ ...c, local: c.size !== null, collect_after: c.trashed_at + keep }));
  const held = (
    db
      .query(
        "SELECT owner, chunk_hash AS hash, size, trashed_at FROM held WHERE trashed_at IS NOT NULL ORDER BY trashed_at, owner, chunk_hash",
      )
      .all() as Omit<TrashedHeld, "collect_after">[]
  ).map((h) => ({ ...h, collect_after: h.trashed_at + keep }));
  return {
    trash_retention_s: cfg.trash_retention_s,
    version_retention_s: cfg.version_retention_s,
    versions,
    chunks,
    held,
    totals: {
      versions: versions.length,
      chunks: chunks.length,
      chunk_bytes: chunks.reduce((n, c) => n + (c.size ?? 0), 0),
      held: held.length,
      held_bytes: held.reduce((n, h) => n + h.size, 0),
    },
  };
}
