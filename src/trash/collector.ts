/**
 * @module trash/collector — the trash collection (docs/design.md, "Deletion"): the one place
 * where chunk files leave the disk for good. A periodic pass on the main thread, also run on
 * demand (`grove trash collect`):
 *
 *   1. retention: versions older than `version_retention_s` (never the current one) go to the trash;
 *   2. purged versions whose trash time (`trash_retention_s`) is over are forgotten: final;
 *   3. our chunks no live manifest needs go to the chunk trash, live ones leave it; manifests no
 *      longer live and with no version left in the trash are forgotten (rows, then file);
 *   4. our trashed chunks whose trash time is over lose their local copy (row, then file); the
 *      trash row stays while a peer still holds the chunk, so the sync round sends the
 *      DeleteRequest again until that peer acknowledges it;
 *   5. chunks kept for other cells that their owner asked to delete, trash time over: rows go;
 *   6. crash leftovers: chunk files no row needs, older than max(trash_retention_s, 60 s),
 *      manifest files no row names (older than 60 s), and temp files older than an hour.
 *
 * Each step is one immediate transaction that re-checks the references (store/references) of
 * what it removes; files are deleted only once it has committed. A crash in between leaves at
 * worst a file no row needs, which step 6 removes later: a referenced chunk is never deleted.
 * Skipped while a writer runs (ChunkStore.busy: an upload, a push from an owner), and while a
 * recovered cell has not got its manifests back.
 */
import type { Database } from "bun:sqlite";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { confinedPath } from "../core/confine.ts";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { ChunkHash } from "../core/types.ts";
import type { ChunkStore } from "../store/chunk-store.ts";
import type { Cell } from "../cell/cell.ts";
import { isFileNeeded, isLiveChunk, liveManifestSql } from "../store/references.ts";
import { purgeExpired, trashUnreferenced } from "./history.ts";

/** Crash leftovers are removed only when older than this (a pull in the sync Worker writes the file just before its row). */
export const ORPHAN_MIN_AGE_S = 60;
/** Temp files of interrupted chunk writes older than this are removed. */
export const TEMP_MAX_AGE_S = 3600;
/** The first periodic pass runs this long after the start at most. */
const FIRST_PASS_MS = 30_000;

export interface CollectContext {
  db: Database;
  store: ChunkStore;
  /** GROVE_DIR/manifests. */
  manifestsDir: string;
  /** Present while a recovered cell waits for its manifests (Layout.recovering): nothing is collected then. */
  recoveringFile: string;
  versionRetentionS: number;
  trashRetentionS: number;
}

export interface CollectReport {
  at: number;
  /** Why nothing was done, or null. */
  skipped: "busy" | "recovering" | null;
  /** Versions sent to the trash by `version_retention_s`. */
  versions_expired: number;
  /** Purged versions forgotten for good. */
  versions_collected: number;
  manifests_removed: number;
  /** Our chunks that went to the trash / came back out of it. */
  chunks_trashed: number;
  chunks_untrashed: number;
  /** Our local chunk copies removed. */
  chunks_collected: number;
  /** Records of chunks kept for other cells removed. */
  held_collected: number;
  /** Crash leftovers removed (unreferenced chunk files, old temp files). */
  orphans_removed: number;
  files_deleted: number;
  bytes_freed: number;
}

/** The collection's view of a running cell. */
export function collectContextOf(cell: Cell): CollectContext {
  return {
    db: cell.db.db,
    store: cell.store,
    manifestsDir: cell.layout.manifests,
    recoveringFile: cell.layout.recovering,
    versionRetentionS: cell.config.version_retention_s,
    trashRetentionS: cell.config.trash_retention_s,
  };
}

const HEX64 = /^[0-9a-f]{64}$/;
/** Chunk temp files (core/atomic): this build's `.grove-tmp-HEX`, earlier builds' `.{hash}.tmp-HEX`. */
const TEMP = /^(\.grove-tmp-[0-9a-f]{16}|\.[0-9a-f]{64}\.tmp-[0-9a-f]+)$/;

/** Delete chunks, rows or files (after the transaction that decided it); counts them and the bytes freed. */
function deleteFiles(store: ChunkStore, hashes: readonly ChunkHash[], r: CollectReport): void {
  for (const h of hashes) {
    if (!store.has(h)) continue; // already gone
    r.bytes_freed += store.remove(h);
    r.files_deleted++;
  }
}

/** One collection pass at time `now`. Synchronous: nothing else on this thread runs in between. */
export function collect(ctx: CollectContext, now = Date.now()): CollectReport {
  const r: CollectReport = {
    at: now,
    skipped: null,
    versions_expired: 0,
    versions_collected: 0,
    manifests_removed: 0,
    chunks_trashed: 0,
    chunks_untrashed: 0,
    chunks_collected: 0,
    held_collected: 0,
    orphans_removed: 0,
    files_deleted: 0,
    bytes_freed: 0,
  };
  if (existsSync(ctx.recoveringFile)) return { ...r, skipped: "recovering" };
  if (ctx.store.busy) return { ...r, skipped: "busy" };
  const { db } = ctx;
  const due = now - ctx.trashRetentionS * 1000;

  // 1-3: history and manifests (database only, but for the manifest files of forgotten manifests).
  const manifestFiles: string[] = [];
  db.transaction(() => {
    r.versions_expired = purgeExpired(db, ctx.versionRetentionS, now);
    r.versions_collected = db.query("DELETE FROM purged_versions WHERE purged_at <= ?").run(due).changes;
    const t = trashUnreferenced(db, now);
    r.chunks_trashed = t.trashed;
    r.chunks_untrashed = t.untrashed;
    // Not live and no version in the trash: nothing can bring it back. Its chunks are in the trash (above).
    const dead = db
      .query(
        `SELECT m.manifest_hash AS hash, m.manifest_file AS file FROM manifests m
         WHERE NOT ${liveManifestSql("m.manifest_hash")}
           AND NOT EXISTS (SELECT 1 FROM purged_versions p WHERE p.manifest_hash = m.manifest_hash)`,
      )
      .all({ now }) as { hash: string; file: string }[];
    for (const m of dead) {
      db.query("DELETE FROM manifest_chunks WHERE manifest_hash = ?").run(m.hash);
      db.query("DELETE FROM manifests WHERE manifest_hash = ?").run(m.hash);
      if (!db.query("SELECT 1 FROM manifests WHERE manifest_file = ?").get(m.file)) manifestFiles.push(m.file);
    }
    r.manifests_removed = dead.length;
  }).immediate();
  for (const f of manifestFiles) {
    try {
      rmSync(confinedPath(ctx.manifestsDir, f), { force: true });
    } catch (e) {
      log("warn", `a forgotten manifest's file name was not removed: ${errorMessage(e)}`);
    }
  }

  // 4: our own chunks whose trash time is over.
  const ownFiles: ChunkHash[] = [];
  db.transaction(() => {
    const rows = db.query("SELECT hash FROM chunk_trash WHERE trashed_at <= ?").values(due) as [ChunkHash][];
    for (const [hash] of rows) {
      if (isLiveChunk(db, hash, now)) {
        db.query("DELETE FROM chunk_trash WHERE hash = ?").run(hash);
        r.chunks_untrashed++;
        continue;
      }
      // A manifest still on record (a version in the trash) names it: it stays restorable.
      if (db.query("SELECT 1 FROM manifest_chunks WHERE chunk_hash = ? LIMIT 1").get(hash)) continue;
      if (db.query("DELETE FROM chunks WHERE hash = ?").run(hash).changes) r.chunks_collected++;
      db.query("UPDATE chunk_trash SET collected_at = ? WHERE hash = ? AND collected_at IS NULL").run(now, hash);
      // Forgotten once no peer holds it either (until then the DeleteRequest is sent again).
      if (!db.query("SELECT 1 FROM placements WHERE chunk_hash = ? LIMIT 1").get(hash))
        db.query("DELETE FROM chunk_trash WHERE hash = ?").run(hash);
      if (!isFileNeeded(db, hash)) ownFiles.push(hash);
    }
  }).immediate();
  deleteFiles(ctx.store, ownFiles, r);

  // 5: chunks kept for other cells, deleted by their owner, trash time over.
  const heldFiles: ChunkHash[] = [];
  db.transaction(() => {
    const rows = db.query("SELECT owner, chunk_hash FROM held WHERE trashed_at IS NOT NULL AND trashed_at <= ?").all(due) as {
      owner: string;
      chunk_hash: ChunkHash;
    }[];
    const del = db.query("DELETE FROM held WHERE owner = ? AND chunk_hash = ? AND trashed_at IS NOT NULL");
    for (const row of rows) r.held_collected += del.run(row.owner, row.chunk_hash).changes;
    for (const hash of new Set(rows.map((x) => x.chunk_hash))) if (!isFileNeeded(db, hash)) heldFiles.push(hash);
  }).immediate();
  deleteFiles(ctx.store, heldFiles, r);

  // 6: crash leftovers.
  sweep(ctx, now, r);
  sweepManifests(ctx, now, r);
  return r;
}

/** Manifest files no manifest row names (a crash after the row went, before the file did), old enough. */
function sweepManifests(ctx: CollectContext, now: number, r: CollectReport): void {
  const before = now - ORPHAN_MIN_AGE_S * 1000;
  let names: string[];
  try {
    names = readdirSync(ctx.manifestsDir, { recursive: true }).map(String);
  } catch {
    return;
  }
  const known = ctx.db.query("SELECT 1 FROM manifests WHERE manifest_file = ? LIMIT 1");
  for (const rel of names) {
    if (!rel.endsWith(".json") || rel.split("/").pop()!.startsWith(".")) continue;
    if (known.get(rel)) continue;
    const p = join(ctx.manifestsDir, rel);
    try {
      const st = statSync(p);
      if (!st.isFile() || st.mtimeMs >= before) continue;
      rmSync(p, { force: true });
      r.orphans_removed++;
      r.files_deleted++;
      r.bytes_freed += st.size;
    } catch {
      // gone meanwhile
    }
  }
}

/** Chunks (rows and files) no row needs (old enough), and old temp files of interrupted writes. */
function sweep(ctx: CollectContext, now: number, r: CollectReport): void {
  const orphanBefore = now - Math.max(ctx.trashRetentionS, ORPHAN_MIN_AGE_S) * 1000;
  const tempBefore = now - TEMP_MAX_AGE_S * 1000;
  const unneeded = [...ctx.store.inlineNames(orphanBefore)].filter((h) => !isFileNeeded(ctx.db, h));
  for (const h of unneeded) {
    const n = ctx.store.remove(h);
    r.orphans_removed++;
    r.files_deleted++;
    r.bytes_freed += n;
  }
  let dirs: string[];
  try {
    dirs = readdirSync(ctx.store.root).filter((d) => /^[0-9a-f]{2}$/.test(d));
  } catch {
    return; // no chunks/ yet
  }
  for (const d of dirs) {
    let names: string[];
    try {
      names = readdirSync(join(ctx.store.root, d));
    } catch {
      continue;
    }
    for (const name of names) {
      const p = join(ctx.store.root, d, name);
      const temp = TEMP.test(name);
      if (!temp && !(HEX64.test(name) && name.startsWith(d))) continue;
      if (!temp && isFileNeeded(ctx.db, name as ChunkHash)) continue;
      try {
        const st = statSync(p);
        if (!st.isFile() || st.mtimeMs >= (temp ? tempBefore : orphanBefore)) continue;
        rmSync(p, { force: true });
        r.orphans_removed++;
        r.files_deleted++;
        r.bytes_freed += st.size;
      } catch {
        // gone meanwhile
      }
    }
  }
}

/** How often the periodic pass runs: half the shorter retention, between 1 s and 1 h. */
export function collectIntervalMs(trashRetentionS: number, versionRetentionS: number): number {
  const shortest = Math.min(trashRetentionS, versionRetentionS > 0 ? versionRetentionS : Infinity);
  return Math.round(Math.min(3600, Math.max(1, shortest / 2)) * 1000);
}

/** The periodic pass (started by `grove start`). */
export class TrashCollector {
  private timer: ReturnType<typeof setInterval> | null = null;
  private first: ReturnType<typeof setTimeout> | null = null;
  last: CollectReport | null = null;

  constructor(private ctx: CollectContext) {}

  /** One pass now; logs what it did. */
  run(now = Date.now()): CollectReport {
    const r = collect(this.ctx, now);
    this.last = r;
    const did =
      r.versions_expired +
      r.versions_collected +
      r.manifests_removed +
      r.chunks_trashed +
      r.chunks_untrashed +
      r.chunks_collected +
      r.held_collected +
      r.files_deleted;
    if (did) {
      log("info", "trash collection", {
        versions_expired: r.versions_expired,
        versions_collected: r.versions_collected,
        manifests: r.manifests_removed,
        trashed: r.chunks_trashed,
        collected: r.chunks_collected,
        held_collected: r.held_collected,
        orphans: r.orphans_removed,
        files: r.files_deleted,
        bytes: r.bytes_freed,
      });
    }
    return r;
  }

  /** A pass soon after the start (a cell that never runs for a whole interval still collects), then every interval. */
  start(): void {
    const every = collectIntervalMs(this.ctx.trashRetentionS, this.ctx.versionRetentionS);
    const tick = () => {
      try {
        this.run();
      } catch (e) {
        log("error", `trash collection failed: ${errorMessage(e)}`);
      }
    };
    this.first = setTimeout(
      () => {
        this.first = null;
        tick();
        this.timer = setInterval(tick, every);
      },
      Math.min(every, FIRST_PASS_MS),
    );
  }

  stop(): void {
    if (this.first) clearTimeout(this.first);
    if (this.timer) clearInterval(this.timer);
    this.first = this.timer = null;
  }
}
