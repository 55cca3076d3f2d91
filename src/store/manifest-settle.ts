/**
 * @module store/manifest-settle — writes and makes durable the files of manifests a store
 * recorded as pending (docs/design.md, "What is durable, and when").
 *
 * A store (ingest/ingest, ingest/ingest-batch, mine/write-versions) commits a new manifest's exact
 * text in placement.db (`manifest_pending`) with its version, and writes no file: readers find the
 * text there until the file exists (store/manifest `manifestText`), and the names a store picks
 * count the pending ones (`manifestNameTaken`). `settlePending` writes the files, makes them
 * durable as one group, then their folders, then forgets the rows; ingest/settler runs it once
 * the store has been quiet for a moment, so neither the file creations nor their fsyncs are on the
 * path of a store: creating them cost a folder of 1,000 small files dropped in about 0.2 s per
 * group commit of 250, as long as reading and sealing the files. `repairPendingSync` runs when the
 * cell opens, before anything reads a manifest: a file a crash left torn is written again,
 * durably, from its text (one not written yet is left to the settler).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomicSync, writeFileUnsynced } from "../core/atomic.ts";
import { confinedPath } from "../core/confine.ts";
import { eachAtOnce } from "../core/each-at-once.ts";
import { syncFiles, syncFolders } from "../core/group-sync.ts";
import { log } from "../core/log.ts";
import type { PlacementDb } from "./placement-db.ts";

/** Rows handled per step. */
const STEP = 512;
/** Manifest files written at once by `settlePending`. */
const WRITE_AHEAD = 16;

/**
 * True when `rel` names a manifest already: its file exists, or a store recorded it as pending
 * (not written yet). A store picks another name then (ingest/ingest `uniqueManifestRel`).
 */
export function manifestNameTaken(db: PlacementDb, manifestsDir: string, rel: string): boolean {
  return existsSync(confinedPath(manifestsDir, rel)) || db.pendingManifestBody(rel) !== null;
}

/**
 * Write again (durably) every pending manifest file that a crash left torn: one that exists and
 * differs from its text (readers take a file over the text). One not written yet stays pending:
 * readers find its text, and the settler writes it. Returns how many were written again.
 */
export function repairPendingSync(db: PlacementDb, manifestsDir: string): number {
  const repaired: string[] = [];
  const forgotten: string[] = [];
  for (const r of db.pendingManifests(Number.MAX_SAFE_INTEGER)) {
    if (!r.recorded) {
      forgotten.push(r.manifest_file); // its manifest was forgotten by trash collection: nothing to write
      continue;
    }
    const p = confinedPath(manifestsDir, r.manifest_file);
    let now: string;
    try {
      now = readFileSync(p, "utf8");
    } catch {
      continue; // not written yet (or lost): the settler writes it
    }
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
  for (;;) {
    const rows = db.pendingManifests(STEP);
    if (!rows.length) return settled;
    const folders = new Set<string>();
    const paths: string[] = [];
    const missing: { p: string; body: string }[] = [];
    for (const r of rows) {
      if (!r.recorded) continue; // its manifest was forgotten meanwhile (trash collection): nothing to keep
      const p = confinedPath(manifestsDir, r.manifest_file);
      // Its folder, and the folders above it up to manifests/ (writing it may have made them).
      for (let d = dirname(p); d.length > manifestsDir.length && d.startsWith(manifestsDir); d = dirname(d)) folders.add(d);
      folders.add(manifestsDir);
      paths.push(p);
      // Not written yet (a store leaves that to this), or lost meanwhile: written from its body.
      if (!existsSync(p)) missing.push({ p, body: r.body });
    }
    await eachAtOnce(missing, WRITE_AHEAD, ({ p, body }) => writeFileUnsynced(p, body, 0o600));
    // As one group (core/group-sync: one syncfs on Linux), not an fsync per file: a folder of
    // 10,000 small files settled 10,000 fsyncs, now about 40 syncfs (STEP rows, files then folders).
    await syncFiles(paths);
    await syncFolders([...folders]);
    db.settledManifests(rows.map((r) => r.manifest_file));
    settled += rows.length;
  }
}
