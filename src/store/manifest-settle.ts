/**
 * @module store/manifest-settle — makes durable the manifest files a group commit of small files
 * wrote without an fsync (ingest/ingest-batch; docs/design.md, "Small files, stored together").
 *
 * Such a file's exact content is in placement.db (`manifest_pending`), committed with its version.
 * `repairPendingSync` runs when the cell opens, before anything reads a manifest: a file a crash
 * left missing or torn is written again, durably, from that body. `settlePending` makes the
 * files durable as one group, then their folders, then forgets the rows; ingest/settler runs it once
 * the store has been quiet for a moment, so these fsyncs stay off the path of a drop-in.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomicSync, writeFileUnsynced } from "../core/atomic.ts";
import { confinedPath } from "../core/confine.ts";
import { eachAtOnce } from "../core/each-at-once.ts";
import { syncFiles, syncFolders } from "../core/group-sync.ts";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { PlacementDb } from "./placement-db.ts";

/** Rows handled per step. */
const STEP = 512;
/** Manifest files written at once by `writeManifestsUnsynced`. */
const WRITE_AHEAD = 16;

/** Per manifests folder (in this thread): the files `writeManifestsUnsynced` is writing now. */
const writing = new Map<string, Map<string, number>>();

/**
 * Write the files of manifests whose bodies were just committed as pending, without an fsync:
 * after that commit, not before it, so the store's answer and my other cells' poke do not wait
 * for a file to be created (readers find a body not written yet in placement.db: store/manifest
 * `manifestText`). `settlePending` leaves a file alone while it is written here, and makes it
 * durable the next time. A file that cannot be written now is written by `settlePending` (its
 * row stays) or, after a crash, by `repairPendingSync`.
 */
export async function writeManifestsUnsynced(manifestsDir: string, files: readonly { rel: string; body: string }[]): Promise<void> {
  if (!files.length) return;
  let busy = writing.get(manifestsDir);
  if (!busy) writing.set(manifestsDir, (busy = new Map()));
  for (const f of files) busy.set(f.rel, (busy.get(f.rel) ?? 0) + 1);
  await eachAtOnce(files, WRITE_AHEAD, async (f) => {
    try {
      await writeFileUnsynced(confinedPath(manifestsDir, f.rel), f.body, 0o600);
    } catch (e) {
      log("warn", `manifest ${f.rel} not written yet; written from placement.db when the store is quiet: ${errorMessage(e)}`);
    } finally {
      const n = busy!.get(f.rel)! - 1;
      if (n > 0) busy!.set(f.rel, n);
      else busy!.delete(f.rel);
    }
  });
}

/** Write again (durably) every pending manifest file that is missing or differs from its body. Returns how many. */
export function repairPendingSync(db: PlacementDb, manifestsDir: string): number {
  const repaired: string[] = [];
  const forgotten: string[] = [];
  for (const r of db.pendingManifests(Number.MAX_SAFE_INTEGER)) {
    if (!r.recorded) {
      forgotten.push(r.manifest_file); // its manifest was forgotten by trash collection: nothing to write
      continue;
    }
    const p = confinedPath(manifestsDir, r.manifest_file);
    let now: string | null = null;
    try {
      now = readFileSync(p, "utf8");
    } catch {}
    if (now === r.body) continue;
    writeFileAtomicSync(p, r.body, 0o600); // durable: its row may go
    repaired.push(r.manifest_file);
  }
  if (forgotten.length || repaired.length) db.settledManifests([...forgotten, ...repaired]);
  if (repaired.length) log("warn", "manifests written again from placement.db after an interrupted store", { files: repaired.length });
  return repaired.length;
}

/** Fsync every pending manifest file and its folder, then forget the rows. Returns how many. */
export async function settlePending(db: PlacementDb, manifestsDir: string): Promise<number> {
  let settled = 0;
  const busy = writing.get(manifestsDir);
  for (;;) {
    // A file being written now is left for the next time (its writer asks the settler again).
    const rows = db.pendingManifests(STEP).filter((r) => !busy?.has(r.manifest_file));
    if (!rows.length) return settled;
    const folders = new Set<string>();
    const paths: string[] = [];
    for (const r of rows) {
      if (!r.recorded) continue; // its manifest was forgotten meanwhile (trash collection): nothing to keep
      const p = confinedPath(manifestsDir, r.manifest_file);
      folders.add(dirname(p));
      paths.push(p);
      // Lost meanwhile (a disk problem, a user): written again from its body, durably.
      if (!existsSync(p)) writeFileAtomicSync(p, r.body, 0o600);
    }
    // As one group (core/group-sync: one syncfs on Linux), not an fsync per file: a folder of
    // 10,000 small files settled 10,000 fsyncs, now about 40 syncfs (STEP rows, files then folders).
    await syncFiles(paths);
    await syncFolders([...folders]);
    db.settledManifests(rows.map((r) => r.manifest_file));
    settled += rows.length;
  }
}
