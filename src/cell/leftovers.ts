/**
 * @module cell/leftovers — what a killed cell left half-done, cleared once at `grove start`
 * before anything else runs (no upload, round or pull can be writing yet):
 *
 *   - temp files of atomic writes (`.grove-tmp-HEX`, and `.NAME.tmp-HEX` from earlier builds;
 *     core/atomic) in chunks/, manifests/, grants/, models/ and GROVE_DIR itself, and
 *     `.grove-tmp-HEX` in GROVE_HOME (a restored version or a local get being written): removed
 *     (the rename never happened, so nothing refers to them);
 *   - GROVE_DIR/tmp (scratch; earlier builds spooled watched files there): emptied;
 *   - upload spools in GROVE_HOME (`.grove-upload-HEX`, ingest): the cell died between spooling
 *     and the rename into place. When the version was already recorded (the path is current,
 *     its file missing, size and SHA-256 match the spool) the rename is finished; otherwise the
 *     spool is removed.
 *
 * The trash collection also removes old chunk temp files while running (trash/collector), but
 * only after an hour: at start every temp file is known to be dead.
 */
import { sha256 } from "../core/sha256.ts";
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fsyncDir, isTempName } from "../core/atomic.ts";
import { confinedPath } from "../core/confine.ts";
import { errorMessage } from "../core/errors.ts";
import type { Layout } from "../core/layout.ts";
import { log } from "../core/log.ts";
import type { PlacementDb } from "../store/placement-db.ts";
import { UPLOAD_TEMP_MARK } from "../ingest/home-path.ts";

export interface LeftoverReport {
  /** Temp files removed (atomic-write temps, spool files, upload spools not recorded). */
  removed: number;
  bytes: number;
  /** Upload spools whose version was recorded: moved into place in GROVE_HOME. */
  finished: string[];
}

function entries(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function sha256Of(path: string): string {
  const h = sha256();
  const buf = Buffer.alloc(1 << 20);
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.byteLength, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/** Clear the leftovers of a killed cell (see the module comment). Call before the cell serves. */
export function clearLeftovers(layout: Layout, db: PlacementDb): LeftoverReport {
  const r: LeftoverReport = { removed: 0, bytes: 0, finished: [] };
  const remove = (p: string) => {
    try {
      const st = statSync(p);
      rmSync(p, { force: true, recursive: st.isDirectory() });
      r.removed++;
      r.bytes += st.isFile() ? st.size : 0;
    } catch (e) {
      log("warn", `could not remove a leftover temp file: ${errorMessage(e)}`, { path: p });
    }
  };
  const atomicTemps = (dir: string, deep: boolean) => {
    for (const e of entries(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (deep) atomicTemps(p, deep);
      } else if (e.isFile() && isTempName(e.name)) remove(p);
    }
  };
  atomicTemps(layout.chunks, true);
  atomicTemps(layout.manifests, true);
  atomicTemps(layout.grants, false);
  atomicTemps(layout.models, false);
  atomicTemps(layout.dir, false);
  for (const e of entries(layout.tmp)) remove(join(layout.tmp, e.name));
  homeSpools(layout.home, layout.home, db, r, remove);
  if (r.removed || r.finished.length)
    log("info", "cleared what an interrupted run left", { removed: r.removed, bytes: r.bytes, finished: r.finished.length });
  return r;
}

/**
 * Walk GROVE_HOME for upload spools (finish the rename when the version was recorded, else
 * remove) and for this build's atomic-write temps (removed; the old `.NAME.tmp-HEX` form is
 * left alone there, since a user may name a file so).
 */
function homeSpools(home: string, dir: string, db: PlacementDb, r: LeftoverReport, remove: (p: string) => void): void {
  for (const e of entries(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory()) homeSpools(home, p, db, r, remove);
    else if (e.isFile() && e.name.startsWith(UPLOAD_TEMP_MARK)) {
      const done = finishUpload(home, p, db);
      if (done) r.finished.push(done);
      else remove(p);
    } else if (e.isFile() && isTempName(e.name, false)) remove(p);
  }
}

/** The path whose recorded version `spool` holds and whose file is missing, moved into place; else null. */
function finishUpload(home: string, spool: string, db: PlacementDb): string | null {
  try {
    const rel = relative(home, dirname(spool)).split(sep).join("/");
    const size = statSync(spool).size;
    const candidates = db
      .list(rel)
      .filter(
        (f) =>
          (f.path.lastIndexOf("/") === -1 ? "" : f.path.slice(0, f.path.lastIndexOf("/"))) === rel &&
          f.size === size &&
          !existsSync(confinedPath(home, f.path)),
      );
    if (!candidates.length) return null;
    const hash = sha256Of(spool);
    const f = candidates.find((c) => c.file_hash === hash);
    if (!f) return null;
    const fd = openSync(spool, "r+");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const target = confinedPath(home, f.path);
    renameSync(spool, target);
    fsyncDir(dirname(target));
    return f.path;
  } catch (e) {
    log("warn", `an interrupted upload could not be finished: ${errorMessage(e)}`, { spool });
    return null;
  }
}
