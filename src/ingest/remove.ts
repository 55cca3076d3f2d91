/** @module ingest/remove — delete a file to history: a tombstone version, and its GROVE_HOME copy removed. Chunks stay. */
import { unlink } from "node:fs/promises";
import { notFound } from "../core/errors.ts";
import { homeFile, type HomePath } from "./home-path.ts";
import type { Vault } from "./vault.ts";

/** Listeners on `vault.stored` hear of each path deleted, as of each version stored. Returns the tombstone's version number. 404 when the path has no current file. */
export async function removeFile(vault: Vault, path: HomePath): Promise<number> {
  if (!vault.db.current(path)) throw notFound(`no file at '${path}'`);
  const version = vault.db.markDeleted(path);
  await unlink(homeFile(vault.home, path)).catch(() => {});
  vault.stored?.emit(path);
  return version;
}

/**
 * Delete several files to history in one transaction (a folder's files: all or none recorded),
 * then remove their GROVE_HOME copies. 404 when one has no current file, before anything changes.
 * `also`: the caller's own changes to placement.db, made in the same transaction.
 */
export async function removeFiles(vault: Vault, paths: readonly HomePath[], also?: () => void): Promise<void> {
  vault.db.db.transaction(() => {
    for (const p of paths) {
      if (!vault.db.current(p)) throw notFound(`no file at '${p}'`);
      vault.db.markDeleted(p);
    }
    also?.();
  })();
  for (const p of paths) await unlink(homeFile(vault.home, p)).catch(() => {});
  for (const p of paths) vault.stored?.emit(p);
}
