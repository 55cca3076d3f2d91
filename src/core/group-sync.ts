/**
 * @module core/group-sync — makes a group of freshly written files, or renamed entries, durable
 * at once (docs/design.md, "Small files, stored together").
 *
 * On Linux, a group of at least SYNCFS_MIN entries costs one syncfs(2) of the file system that
 * holds them: coreutils `sync --file-system`, run as a child process so the event loop never
 * blocks on it. The journal then commits the whole group together, where an fsync per file costs
 * a commit each (about 1 ms each on this project's test machine, 10,000 of them for a folder of
 * small files). syncfs also writes whatever else is dirty on that file system, which the kernel
 * would write within seconds anyway. Elsewhere (macOS), for a small group, or when `sync -f`
 * is missing or fails: an fsync of each entry, all in flight at once.
 */
import { open } from "node:fs/promises";
import { log } from "./log.ts";

/** Groups smaller than this are fsynced entry by entry (a child process costs a few ms). */
export const SYNCFS_MIN = 16;

let syncfsWorks: boolean | null = process.platform === "linux" && process.env.GROVE_SYNCFS !== "0" ? null : false;

/** syncfs(2) of the file system holding `path`, through `sync -f`; false when that is not available. */
async function syncfs(path: string): Promise<boolean> {
  if (syncfsWorks === false) return false;
  try {
    const p = Bun.spawn(["sync", "--file-system", path], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const code = await p.exited;
    if (code === 0) return (syncfsWorks = true);
    const why = (await new Response(p.stderr).text()).trim();
    log("warn", `sync --file-system failed (${why || `exit ${code}`}): files are fsynced one by one instead`);
  } catch (e) {
    log("info", `no \`sync --file-system\` here (${(e as Error).message}): files are fsynced one by one`);
  }
  syncfsWorks = false;
  return false;
}

/** Fsync one file by its path (for a caller holding no descriptor). */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Make these written files durable (their content and size; not yet their names: see syncFolders). */
export async function syncFiles(paths: readonly string[]): Promise<void> {
  if (!paths.length) return;
  if (paths.length >= SYNCFS_MIN && (await syncfs(paths[0]!))) return;
  await Promise.all(paths.map(fsyncFile));
}

/** Fsync one folder, off the event loop; a file system that refuses fsync on folders is let be (the rename is still atomic). */
async function fsyncFolder(dir: string): Promise<void> {
  try {
    await fsyncFile(dir);
  } catch {
    // as core/atomic's fsyncDir
  }
}

/** Make the entries renamed or created in these folders durable (all in flight at once: the event loop never waits on one). */
export async function syncFolders(dirs: readonly string[]): Promise<void> {
  if (!dirs.length) return;
  if (dirs.length >= SYNCFS_MIN && (await syncfs(dirs[0]!))) return;
  await Promise.all(dirs.map(fsyncFolder));
}
