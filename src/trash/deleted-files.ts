/**
 * @module trash/deleted-files — the Trash's deleted files, beside its purged versions: when the
 * trash collection would take each one on its own, "Delete now" (the file's whole history goes
 * for good at once), and "Empty trash now" (every deleted file and every purged version goes).
 *
 * A deleted file's newest version records the deletion; its content versions are older ones, so
 * the retention pass (trash/collector step 1, `version_retention_s`) moves them to the trash once
 * the newest of them is that old, and the collection takes them `trash_retention_s` later. With
 * `version_retention_s` 0 (the default) nothing expires: a deleted file waits until deleted.
 *
 * Both actions go through the same steps as everything else (trash/history's purge, then the
 * collector, which re-checks every reference): a chunk that another file or version still needs
 * stays. Refused (409, nothing changed) while the collector would skip (an upload running, a
 * recovering cell), so nothing is left half done.
 */
import type { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { conflict, notFound } from "../core/errors.ts";
import type { ChunkHash } from "../core/types.ts";
import type { CollectContext, CollectReport } from "./collector.ts";
import { purgeVersions } from "./history.ts";

/**
 * When the trash collection would remove each deleted file's content on its own (unix ms, a pass
 * at or after it), or null when nothing expires (`version_retention_s` 0). Keyed by path.
 */
export function deletedCollectAfter(
  db: Database,
  cfg: { trash_retention_s: number; version_retention_s: number },
): Map<string, number | null> {
  const rows = db
    .query(
      `SELECT v.path, MAX(v.at) AS last FROM file_versions v
       WHERE v.manifest_hash IS NOT NULL
         AND (SELECT d.manifest_hash FROM file_versions d WHERE d.path = v.path ORDER BY d.version DESC LIMIT 1) IS NULL
       GROUP BY v.path`,
    )
    .all() as { path: string; last: number }[];
  const keep = cfg.version_retention_s > 0 ? (cfg.version_retention_s + cfg.trash_retention_s) * 1000 : null;
  return new Map(rows.map((r) => [r.path, keep === null ? null : r.last + keep]));
}

/** What the actions need of a cell: its collection context and the pass itself. */
export interface DropContext {
  ctx: CollectContext;
  collect: (now: number) => CollectReport;
}

/** Refused, nothing changed, while the collector would skip its pass. */
function ready(d: DropContext): void {
  if (existsSync(d.ctx.recoveringFile)) throw conflict("this cell is still recovering its files: try again once it is done");
  if (d.ctx.store.busy) throw conflict("an upload is running: try again in a moment");
}

/** True when `path`'s newest version records a deletion. */
function isDeleted(db: Database, path: string): boolean {
  const row = db.query("SELECT manifest_hash FROM file_versions WHERE path = ? ORDER BY version DESC LIMIT 1").get(path) as {
    manifest_hash: string | null;
  } | null;
  return row !== null && row.manifest_hash === null;
}

/**
 * Purged versions (of `path`, or all of them) are due now: two collection passes, as
 * trash/history's dropPurgedNow does for one version (the versions and manifests first, then the
 * chunks only they used, whose trash time is set over too; a live one leaves the trash instead).
 */
function dropPurged(d: DropContext, path: string | null, now: number): CollectReport[] {
  const { db } = d.ctx;
  const where = path === null ? "" : " WHERE path = ?";
  const args = path === null ? [] : [path];
  const chunks = (
    db
      .query(
        `SELECT DISTINCT mc.chunk_hash FROM manifest_chunks mc
         WHERE mc.manifest_hash IN (SELECT manifest_hash FROM purged_versions${where})`,
      )
      .values(...args) as [ChunkHash][]
  ).map(([h]) => h);
  db.query(`UPDATE purged_versions SET purged_at = 0${where}`).run(...args);
  const reports = [d.collect(now)];
  const back = db.query("UPDATE chunk_trash SET trashed_at = 0 WHERE hash = ? AND collected_at IS NULL");
  db.transaction(() => {
    for (const h of chunks) back.run(h);
  })();
  if (chunks.length) reports.push(d.collect(now));
  return reports;
}

/** "Delete now" of a deleted file: its whole history (the deletion included) is gone for good. 404 when it is not a deleted file. */
export function deleteFileNow(d: DropContext, path: string, now = Date.now()): { path: string; versions: number } {
  if (!isDeleted(d.ctx.db, path)) throw notFound(`'${path}' is not a deleted file in the trash`);
  ready(d);
  const r = purgeVersions(d.ctx.db, path, "all", { now, trashRetentionS: d.ctx.trashRetentionS });
  dropPurged(d, path, now);
  return { path, versions: r.purged.length };
}

/** "Empty trash now": every deleted file's history and every purged version go for good, with the chunks only they used. */
/** Returns how many deleted files and how many versions purged before went, and the bytes freed here. */
export function emptyTrashNow(d: DropContext, now = Date.now()): { files: number; versions: number; bytes_freed: number } {
  ready(d);
  const { db } = d.ctx;
  const deleted = (
    db
      .query(
        `SELECT DISTINCT v.path FROM file_versions v
         WHERE v.version = (SELECT MAX(version) FROM file_versions w WHERE w.path = v.path) AND v.manifest_hash IS NULL`,
      )
      .values() as [string][]
  ).map(([p]) => p);
  const versions = (db.query("SELECT COUNT(*) AS n FROM purged_versions").get() as { n: number }).n;
  for (const path of deleted) purgeVersions(db, path, "all", { now, trashRetentionS: d.ctx.trashRetentionS });
  // Every chunk already waiting in the trash is due too (a live one leaves it instead).
  db.query("UPDATE chunk_trash SET trashed_at = 0 WHERE collected_at IS NULL").run();
  const reports = dropPurged(d, null, now);
  return { files: deleted.length, versions, bytes_freed: reports.reduce((n, r) => n + r.bytes_freed, 0) };
}
