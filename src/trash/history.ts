/**
 * @module trash/history — dropping versions from a file's history (`grove purge`, and the
 * retention pass for versions older than `version_retention_s`) and putting them back while they
 * wait in the trash (`grove trash restore`).
 *
 * A purged version moves from `file_versions` to `purged_versions`; in the same transaction the
 * chunks that no live manifest needs any more (store/references) go to `chunk_trash`. Nothing is
 * removed from disk here: trash/collector does that once `trash_retention_s` has passed, and the
 * sync round tells the peers keeping those chunks (a signed DeleteRequest).
 *
 * Only versions that are not current can be purged, except with "all" on a deleted file: then
 * every version goes, the deletion included, and the path is no longer listed anywhere.
 */
import type { Database } from "bun:sqlite";
import { conflict, notFound, GroveError } from "../core/errors.ts";
import type { ChunkHash, ManifestHash } from "../core/types.ts";
import type { ChunkStore } from "../store/chunk-store.ts";
import { liveChunkSql, liveManifestSql } from "../store/references.ts";

export interface PurgeResult {
  path: string;
  /** Version numbers dropped from the history (ascending); empty when there was nothing to drop. */
  purged: number[];
  /** Our chunks that went to the trash with them (still used elsewhere: not counted). */
  trashed_chunks: number;
  /** When the trash collection may remove them (unix ms); until then `grove trash restore` undoes this. */
  collect_after: number;
}

export interface TrashRestoreResult {
  path: string;
  /** Version numbers back in the history (ascending). */
  restored: number[];
}

/**
 * Our chunks that no live manifest references, from manifests that are no longer live, into
 * the chunk trash (dated `now`); chunks in the trash that are live again leave it. Call inside a
 * transaction. Returns how many chunks were trashed.
 */
export function trashUnreferenced(db: Database, now: number): { trashed: number; untrashed: number } {
  const untrashed = db.query(`DELETE FROM chunk_trash WHERE ${liveChunkSql("chunk_trash.hash")}`).run({ now }).changes;
  const trashed = db
    .query(
      `INSERT OR IGNORE INTO chunk_trash (hash, trashed_at)
       SELECT DISTINCT mc.chunk_hash, $now FROM manifests m JOIN manifest_chunks mc ON mc.manifest_hash = m.manifest_hash
       WHERE NOT ${liveManifestSql("m.manifest_hash")} AND NOT ${liveChunkSql("mc.chunk_hash")}`,
    )
    .run({ now }).changes;
  return { trashed, untrashed };
}

/** Move `versions` of `path` from the history to the trash, dated `now`. Inside a transaction. */
function moveToTrash(db: Database, path: string, versions: readonly number[], now: number): void {
  const ins = db.query(
    `INSERT OR REPLACE INTO purged_versions (path, version, manifest_hash, at, purged_at)
     SELECT path, version, manifest_hash, at, ? FROM file_versions WHERE path = ? AND version = ?`,
  );
  const del = db.query("DELETE FROM file_versions WHERE path = ? AND version = ?");
  for (const v of versions) {
    ins.run(now, path, v);
    del.run(path, v);
  }
}

/**
 * Drop version `which` (a number) of `path`, or "all": every version but the current one, or
 * every version when the file is deleted. 404 when the path or version is unknown, 409 for the
 * current version.
 */
export function purgeVersions(
  db: Database,
  path: string,
  which: number | "all",
  opts: { now?: number; trashRetentionS: number },
): PurgeResult {
  const now = opts.now ?? Date.now();
  return db
    .transaction((): PurgeResult => {
      const rows = db.query("SELECT version, manifest_hash FROM file_versions WHERE path = ? ORDER BY version").all(path) as {
        version: number;
        manifest_hash: ManifestHash | null;
      }[];
      if (!rows.length) throw notFound(`no file at '${path}'${inTrash(db, path) ? " (its versions are in the trash: `grove trash`)" : ""}`);
      const current = rows[rows.length - 1]!;
      let chosen: number[];
      if (which === "all") {
        chosen = (current.manifest_hash === null ? rows : rows.slice(0, -1)).map((r) => r.version);
      } else {
        if (!rows.some((r) => r.version === which))
          throw notFound(`'${path}' has no version ${which} (versions ${rows.map((r) => r.version).join(", ")})`);
        if (which === current.version) {
          throw conflict(
            `version ${which} is the current version of '${path}': only older versions can be purged (delete the file first, then purge --all to drop every version)`,
          );
        }
        chosen = [which];
      }
      moveToTrash(db, path, chosen, now);
      const { trashed } = trashUnreferenced(db, now);
      return { path, purged: chosen, trashed_chunks: trashed, collect_after: now + opts.trashRetentionS * 1000 };
    })
    .immediate();
}

function inTrash(db: Database, path: string): boolean {
  return db.query("SELECT 1 FROM purged_versions WHERE path = ? LIMIT 1").get(path) !== null;
}

/**
 * Versions older than `retentionS` that are not the current version of their path go to the
 * trash (the retention pass). Inside one transaction; returns how many.
 */
export function purgeExpired(db: Database, retentionS: number, now: number): number {
  if (retentionS <= 0) return 0;
  const old = db
    .query(
      `SELECT path, version FROM file_versions v
       WHERE v.at < ? AND v.version < (SELECT MAX(version) FROM file_versions w WHERE w.path = v.path)`,
    )
    .all(now - retentionS * 1000) as { path: string; version: number }[];
  const byPath = new Map<string, number[]>();
  for (const r of old) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r.version]);
  for (const [path, versions] of byPath) moveToTrash(db, path, versions, now);
  return old.length;
}

/**
 * Every purged version of `path` still in the trash goes back into its history (the current
 * version does not change: the newest version of a path is only ever purged together with the
 * older ones). Refused (409) when a chunk they need is no longer on this cell; 404 when nothing
 * of `path` is in the trash (never purged, or already collected: a purge is final then).
 */
export function restorePurged(db: Database, store: ChunkStore, path: string, now = Date.now()): TrashRestoreResult {
  return db
    .transaction((): TrashRestoreResult => {
      const rows = db.query("SELECT version, manifest_hash, at FROM purged_versions WHERE path = ? ORDER BY version").all(path) as {
        version: number;
        manifest_hash: ManifestHash | null;
        at: number;
      }[];
      if (!rows.length)
        throw notFound(
          `nothing of '${path}' is in the trash (never purged, or collected already: a purge is final once its trash time is over)`,
        );
      const hashes = [...new Set(rows.map((r) => r.manifest_hash).filter((h): h is ManifestHash => h !== null))];
      const chunksOf = db.query("SELECT chunk_hash FROM manifest_chunks WHERE manifest_hash = ?");
      const local = db.query("SELECT 1 FROM chunks WHERE hash = ?");
      for (const h of hashes) {
        if (!db.query("SELECT 1 FROM manifests WHERE manifest_hash = ?").get(h))
          throw new GroveError(`a purged version of '${path}' was collected already: it cannot come back`, 410, "gone");
        const missing = (chunksOf.values(h) as [ChunkHash][]).filter(([c]) => !local.get(c) || !store.has(c)).length;
        if (missing) {
          const v = rows
            .filter((r) => r.manifest_hash === h)
            .map((r) => r.version)
            .join(", ");
          throw conflict(`version ${v} of '${path}' cannot come back: ${missing} of its chunks are no longer on this cell`);
        }
      }
      const clash = db.query("SELECT 1 FROM file_versions WHERE path = ? AND version = ?");
      const ins = db.query("INSERT INTO file_versions (path, version, manifest_hash, at) VALUES (?, ?, ?, ?)");
      for (const r of rows) {
        if (clash.get(path, r.version))
          throw conflict(`version ${r.version} of '${path}' exists again: it cannot come back from the trash`);
        ins.run(path, r.version, r.manifest_hash, r.at);
      }
      db.query("DELETE FROM purged_versions WHERE path = ?").run(path);
      trashUnreferenced(db, now); // their chunks are live again: out of the trash
      return { path, restored: rows.map((r) => r.version) };
    })
    .immediate();
}

/**
 * "Delete now": version `version` of `path`, waiting in the trash, is gone for good at once, and
 * the chunks only it used with it (the next collection does the same once the trash time is
 * over). Runs `collect` (trash/collector), which refuses nothing it should keep: a chunk another
 * version or file still needs stays. 404 when that version is not in the trash.
 */
export function dropPurgedNow(
  ctx: { db: Database; collect: (now: number) => unknown },
  path: string,
  version: number,
  now = Date.now(),
): { path: string; version: number } {
  const { db } = ctx;
  const row = db.query("SELECT manifest_hash FROM purged_versions WHERE path = ? AND version = ?").get(path, version) as {
    manifest_hash: ManifestHash | null;
  } | null;
  if (!row) throw notFound(`version ${version} of '${path}' is not in the trash`);
  const chunks = row.manifest_hash
    ? (db.query("SELECT chunk_hash FROM manifest_chunks WHERE manifest_hash = ?").values(row.manifest_hash) as [ChunkHash][]).map(
        ([h]) => h,
      )
    : [];
  // Its trash time is over: the version and then its manifest go in this pass, and the chunks
  // nothing else needs go into the chunk trash...
  db.query("UPDATE purged_versions SET purged_at = 0 WHERE path = ? AND version = ?").run(path, version);
  ctx.collect(now);
  // ...whose time is over too: a second pass deletes them (a live one is taken out of the trash).
  const back = db.query("UPDATE chunk_trash SET trashed_at = 0 WHERE hash = ? AND collected_at IS NULL");
  db.transaction(() => {
    for (const h of chunks) back.run(h);
  })();
  if (chunks.length) ctx.collect(now);
  return { path, version };
}
