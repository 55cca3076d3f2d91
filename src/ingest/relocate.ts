/**
 * @module ingest/relocate — copy or move stored files to other paths without sealing anything
 * again: each new path gets a version naming the same manifest, and a move also records a
 * deletion at the old path, all in one transaction (store/placement-db `relocate`). So history
 * keeps a move as a move, as far as the index can say it: the old path ends with a deletion, the
 * new one starts with the very manifest it had.
 *
 * The GROVE_HOME copies follow. A copy is written first and recorded after (a file on disk is
 * never newer than the version that describes it, so the watcher takes it as stored); a move is
 * recorded first and renamed after (the rename keeps the file's mtime, which the new version then
 * covers). A GROVE_HOME copy that is not the stored version (changed and not stored yet, or
 * missing) is never what moves or is copied: the new path gets the stored content from the chunks
 * instead, verified, and a changed old copy stays where it is for the watcher to store.
 */
import { copyFile, lstat, mkdir, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { errorMessage, notFound } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { tempPathFor } from "../core/atomic.ts";
import type { FileEntry } from "../store/placement-db.ts";
import { readManifest } from "../store/manifest.ts";
import { homeFile, type HomePath } from "./home-path.ts";
import { prepareParent } from "./ingest.ts";
import { exportFile } from "./local-files.ts";
import type { Vault } from "./vault.ts";

export interface Relocation {
  from: HomePath;
  to: HomePath;
}

/**
 * Copy (`mode` "copy") or move each `from` to its `to`; a `to` that has a file gets a new version
 * (the old one stays in history). 404 before anything changes when a `from` has no current file.
 * `also`: the caller's own changes to placement.db, made in the same transaction.
 *
 * @example await relocateFiles(vault, [{ from: "a.txt" as HomePath, to: "b/a.txt" as HomePath }], "move")
 */
export async function relocateFiles(vault: Vault, pairs: readonly Relocation[], mode: "copy" | "move", also?: () => void): Promise<void> {
  const found = pairs.map((p) => {
    const cur = vault.db.current(p.from);
    if (!cur) throw notFound(`no file at '${p.from}'`);
    return { ...p, cur };
  });
  if (mode === "copy") {
    for (const f of found) await placeCopy(vault, f.from, f.to, f.cur);
    record(vault, pairs, false, also);
  } else {
    record(vault, pairs, true, also);
    for (const f of found) {
      try {
        await placeMove(vault, f.from, f.to, f.cur);
      } catch (e) {
        // The index moved; GROVE_HOME is its mirror. Said, not thrown: the move itself happened.
        log("warn", `moved '${f.from}' to '${f.to}', but its copy in GROVE_HOME did not follow: ${errorMessage(e)}`);
      }
    }
  }
  for (const p of pairs) {
    vault.stored?.emit(p.to);
    if (mode === "move") vault.stored?.emit(p.from);
  }
}

function record(vault: Vault, pairs: readonly Relocation[], move: boolean, also?: () => void): void {
  vault.db.db.transaction(() => {
    vault.db.relocate(pairs, move);
    also?.();
  })();
}

/** True when GROVE_HOME's copy of `path` is the stored version `cur` (the watcher's test: size, and not changed since recorded). */
async function homeCopyIsCurrent(vault: Vault, path: HomePath, cur: FileEntry): Promise<boolean> {
  const st = await lstat(homeFile(vault.home, path)).catch(() => null);
  return st !== null && st.isFile() && st.size === cur.size && cur.updated_at >= Math.floor(st.mtimeMs);
}

/** Write the stored content of `cur` at `to` in GROVE_HOME, verified from the chunks. */
async function exportTo(vault: Vault, to: HomePath, cur: FileEntry): Promise<void> {
  const row = vault.db.manifest(cur.manifest_hash)!;
  await exportFile(vault, readManifest(vault.manifestsDir, row.manifest_file), homeFile(vault.home, to));
}

async function placeCopy(vault: Vault, from: HomePath, to: HomePath, cur: FileEntry): Promise<void> {
  await prepareParent(vault.home, to);
  if (!(await homeCopyIsCurrent(vault, from, cur))) return exportTo(vault, to, cur);
  const target = homeFile(vault.home, to);
  const tmp = tempPathFor(target);
  try {
    await copyFile(homeFile(vault.home, from), tmp);
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

async function placeMove(vault: Vault, from: HomePath, to: HomePath, cur: FileEntry): Promise<void> {
  const target = homeFile(vault.home, to);
  await mkdir(dirname(target), { recursive: true });
  if (await homeCopyIsCurrent(vault, from, cur)) await rename(homeFile(vault.home, from), target);
  else await exportTo(vault, to, cur);
}
