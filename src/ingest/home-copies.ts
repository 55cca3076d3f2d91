/**
 * @module ingest/home-copies — the plaintext copies in GROVE_HOME that a put writes without an
 * fsync (docs/design.md, "What is durable, and when"). A copy is a view: the sealed chunks and
 * the manifest, durable before the put answers, rebuild it. Each such copy is recorded in
 * placement.db (`home_pending`) in the transaction of its version.
 *
 * `settleHomeCopies` fsyncs them once the store is quiet (ingest/settler) and forgets the rows.
 * `repairHomeCopies` runs when a cell starts, before the watcher looks at GROVE_HOME: a copy
 * still pending after a crash that is missing, or does not hash to its version's content, is
 * written again from the chunks, so the watcher never takes a torn copy for a new version. A
 * copy modified since (its mtime past the row's time: someone else wrote it) is left to the
 * watcher, which stores it as the new version it is.
 */
import { createReadStream, existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { sha256 } from "../core/sha256.ts";
import { syncFiles, syncFolders } from "../core/group-sync.ts";
import { readManifest } from "../store/manifest.ts";
import type { PlacementDb } from "../store/placement-db.ts";
import { homeFile, type HomePath } from "./home-path.ts";
import { exportFile } from "./local-files.ts";
import type { Vault } from "./vault.ts";

const STEP = 256;

async function hashOf(path: string): Promise<string> {
  const h = sha256();
  for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(piece as Uint8Array);
  return h.digest("hex");
}

/**
 * Fsync every pending copy recorded at `since` or later that is still there, then its folder,
 * then forget the rows. Returns how many. Rows from before a crash wait for `repairHomeCopies`.
 */
export async function settleHomeCopies(db: PlacementDb, home: string, since = 0): Promise<number> {
  let settled = 0;
  for (;;) {
    const rows = db.pendingHomeCopies(STEP, since);
    if (!rows.length) return settled;
    const present = rows.map((r) => homeFile(home, r.path as HomePath)).filter((p) => existsSync(p));
    await syncFiles(present);
    await syncFolders([...new Set(present.map((p) => dirname(p)))]);
    db.settledHomeCopies(rows);
    settled += rows.length;
  }
}

/** After a crash: write again, from the chunks, each pending copy a crash left missing or torn. Returns the paths rewritten. */
export async function repairHomeCopies(vault: Vault): Promise<string[]> {
  const rewritten: string[] = [];
  const rows = vault.db.pendingHomeCopies(Number.MAX_SAFE_INTEGER);
  for (const r of rows) {
    const cur = vault.db.current(r.path);
    if (!cur || cur.file_hash !== r.file_hash) continue; // superseded, or deleted: not this row's to mend
    const target = homeFile(vault.home, r.path as HomePath);
    try {
      const st = await stat(target).catch(() => null);
      if (st && !st.isFile()) continue; // a folder made there since: left alone
      if (st && st.mtimeMs > r.at) continue; // written since by someone else: the watcher's
      if (st && st.size === cur.size && (await hashOf(target)) === r.file_hash) continue;
      const row = vault.db.manifest(cur.manifest_hash);
      if (!row) continue;
      await exportFile(vault, readManifest(vault.manifestsDir, row.manifest_file), target, { sync: true });
      rewritten.push(r.path);
    } catch (e) {
      log("warn", `could not write again the copy of '${r.path}' in GROVE_HOME: ${errorMessage(e)}`);
    }
  }
  if (rewritten.length)
    log("warn", "copies in GROVE_HOME a crash left incomplete were written again from the chunks", { files: rewritten.length });
  await settleHomeCopies(vault.db, vault.home);
  return rewritten;
}
