/**
 * @module ingest/home-folders — GROVE_HOME's folders follow the tree's: a folder made (over WebDAV)
 * is made there too, and a folder deleted or moved away loses its empty directories. Best effort:
 * GROVE_HOME is the mirror, placement.db the record, and a directory that still holds anything (a
 * file the watcher has not stored yet) stays.
 */
import { mkdir, readdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { homeFile, type HomePath } from "./home-path.ts";

/** Make `path` (and its parents) in GROVE_HOME; false when something else is in the way. */
export async function makeHomeFolder(home: string, path: HomePath): Promise<boolean> {
  return mkdir(homeFile(home, path), { recursive: true }).then(
    () => true,
    () => false,
  );
}

/** Remove the empty directories at and below `path` in GROVE_HOME, deepest first. */
export async function pruneHomeFolder(home: string, path: HomePath): Promise<void> {
  const top = homeFile(home, path);
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
    await rmdir(dir).catch(() => {});
  };
  await walk(top);
}
