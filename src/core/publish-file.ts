/**
 * @module core/publish-file — move a finished temp file (written and fsynced beside its target)
 * into place in one step: replacing what is there, or never replacing anything.
 *
 * Replacing is rename(2). Never replacing is link(2) then unlink of the temp name: link fails
 * with EEXIST when the target exists, however it got there (even a moment before, even a
 * dangling symlink), so a race cannot clobber a file. On a file system without hard links
 * (FAT, exFAT, some network mounts) the target name is first created exclusively (O_EXCL),
 * then the temp file is renamed over that placeholder of ours.
 */
import { link, open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { fsyncDir } from "./atomic.ts";

/** link(2) errors that mean "no hard links here", not "the target is taken". */
const NO_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

/**
 * Put `tmp` at `target` (same folder). `replace`: an existing target is replaced; else nothing
 * is replaced and "exists" is returned (the temp file is removed). `sync`: fsync the folder
 * afterwards, so the new name survives a crash.
 */
export async function publishFile(tmp: string, target: string, opts: { replace: boolean; sync?: boolean }): Promise<"written" | "exists"> {
  const done = (): "written" => {
    if (opts.sync) fsyncDir(dirname(target) || ".");
    return "written";
  };
  if (opts.replace) {
    await rename(tmp, target);
    return done();
  }
  try {
    await link(tmp, target);
  } catch (e) {
    if (code(e) === "EEXIST") return unlink(tmp).then(() => "exists" as const);
    if (!NO_LINKS.has(code(e) ?? "")) throw e;
    try {
      await (await open(target, "wx")).close();
    } catch (e2) {
      if (code(e2) === "EEXIST") return unlink(tmp).then(() => "exists" as const);
      throw e2;
    }
    await rename(tmp, target);
    return done();
  }
  await unlink(tmp);
  return done();
}
