/**
 * @module ingest/restore-version — make an older version of a file current again: its content
 * is written back to GROVE_HOME (every chunk verified on the way, temp file + rename) and a new
 * version pointing at the old manifest is recorded. Nothing is re-sealed; history only grows.
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { badRequest, notFound } from "../core/errors.ts";
import { readManifest } from "../store/manifest.ts";
import { homeFile, type HomePath } from "./home-path.ts";
import { exportFile } from "./local-files.ts";
import type { Vault } from "./vault.ts";

export interface Restored {
  path: HomePath;
  /** The new current version (or the current one when it already had this content). */
  version: number;
  restored_from: number;
  /** False when the chosen version's content was already current. */
  changed: boolean;
}

export async function restoreVersion(vault: Vault, path: HomePath, version: number): Promise<Restored> {
  const versions = vault.db.versions(path);
  if (!versions.length) throw notFound(`no file at '${path}'`);
  const v = versions.find((x) => x.version === version);
  if (!v)
    throw notFound(
      `'${path}' has no version ${version} (versions ${versions
        .map((x) => x.version)
        .reverse()
        .join(", ")})`,
    );
  if (!v.manifest_hash) throw badRequest(`version ${version} of '${path}' is a deletion: pick a version with content`);
  const cur = vault.db.current(path);
  if (cur?.manifest_hash === v.manifest_hash) return { path, version: cur.version, restored_from: version, changed: false };
  const row = vault.db.manifest(v.manifest_hash)!;
  const m = readManifest(vault.manifestsDir, row.manifest_file);
  // Content first (a missing or damaged chunk stops here, before anything is recorded), then the
  // version, so the file on disk is never newer than the version that describes it.
  const target = homeFile(vault.home, path);
  await mkdir(dirname(target), { recursive: true });
  await exportFile(vault, m, target, { sync: true });
  const newVersion = vault.db.reinstate(path, v.manifest_hash);
  vault.stored?.emit(path);
  return { path, version: newVersion, restored_from: version, changed: true };
}
