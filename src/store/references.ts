/**
 * @module store/references — the one place that answers "is this still needed?" for manifests,
 * chunks and chunk files (docs/design.md, "Deletion"):
 *
 *  - a manifest is *live* while a version of a path names it, or a grant this cell made for it
 *    is active (not revoked, not expired);
 *  - one of our chunks is *live* while a live manifest references it: anything else is garbage
 *    and goes to the trash (src/trash);
 *  - a chunk *file* in chunks/ is *needed* while any row refers to it: an owner's `held` row
 *    (trashed or not: a trashed one is collected on its own schedule), our own `chunks` row, or
 *    any manifest still on record (one whose versions wait in the trash included).
 *
 * Whoever deletes asks again inside the (immediate) transaction that decides it, so a reference
 * made meanwhile by another connection (the sync Worker) is seen.
 */
import type { Database } from "bun:sqlite";
import type { ChunkHash, ManifestHash } from "../core/types.ts";

/** SQL: true when the manifest hash in column `col` is live. Binds `$now` (unix ms). */
export function liveManifestSql(col: string): string {
  return `(EXISTS (SELECT 1 FROM file_versions v WHERE v.manifest_hash = ${col})
    OR EXISTS (SELECT 1 FROM grants g WHERE g.manifest_hash = ${col} AND g.direction = 'out'
               AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $now)))`;
}

/** SQL: true when chunk hash in column `col` is referenced by a live manifest. Binds `$now`. */
export function liveChunkSql(col: string): string {
  return `EXISTS (SELECT 1 FROM manifest_chunks lc WHERE lc.chunk_hash = ${col} AND ${liveManifestSql("lc.manifest_hash")})`;
}

/** SQL: true when some row still needs the file of the chunk hash in column `col`. */
export function fileNeededSql(col: string): string {
  return `(EXISTS (SELECT 1 FROM held h WHERE h.chunk_hash = ${col})
    OR EXISTS (SELECT 1 FROM chunks c WHERE c.hash = ${col})
    OR EXISTS (SELECT 1 FROM manifest_chunks r WHERE r.chunk_hash = ${col}))`;
}

/** True when a live manifest of this cell references chunk `hash`. */
export function isLiveChunk(db: Database, hash: ChunkHash, now = Date.now()): boolean {
  return (db.query(`SELECT ${liveChunkSql("$hash")} AS live`).get({ hash, now }) as { live: number }).live === 1;
}

/** True when some row (owner, own copy, manifest) still needs chunk file `hash`. */
export function isFileNeeded(db: Database, hash: ChunkHash): boolean {
  return (db.query(`SELECT ${fileNeededSql("$hash")} AS needed`).get({ hash }) as { needed: number }).needed === 1;
}

/** True when manifest `hash` is live. */
export function isLiveManifest(db: Database, hash: ManifestHash, now = Date.now()): boolean {
  return (db.query(`SELECT ${liveManifestSql("$hash")} AS live`).get({ hash, now }) as { live: number }).live === 1;
}
