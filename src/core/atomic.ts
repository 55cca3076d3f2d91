/**
 * @module core/atomic — durable writes: temp file + fsync + rename, then fsync of the directory.
 *
 * Temp files are named `.grove-tmp-` + 16 random hex characters beside their target, whatever
 * the target is called: a name of 255 bytes (the most a file system takes) cannot grow a suffix,
 * and the watcher ignores `.grove-` names, so a temp file in GROVE_HOME is never taken for a
 * user's file. Builds before this named them `.{name}.tmp-{hex}`; `isTempName` knows both.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync, mkdirSync, unlinkSync } from "node:fs";
import { rename, mkdir, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { DirectFile } from "./direct-io.ts";

/** Prefix of every temp file name (reserved: ingest/home-path refuses it as a user's name). */
export const TEMP_MARK = ".grove-tmp-";

const TEMP_NAME = /^\.grove-tmp-[0-9a-f]{16}$/;
/** The temp names of earlier builds: `.{target name}.tmp-{hex}`. */
const OLD_TEMP_NAME = /^\..+\.tmp-[0-9a-f]+$/;

/** A temp name beside `path`, on the same file system so rename is atomic; short, whatever `path` is called. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `${TEMP_MARK}${randomBytes(8).toString("hex")}`);
}

/**
 * True for a temp file name of an atomic write: this build's, or (unless `legacy` is false) an
 * earlier build's. Where users name files (GROVE_HOME), only this build's form is Grove's own.
 */
export function isTempName(name: string, legacy = true): boolean {
  return TEMP_NAME.test(name) || (legacy && OLD_TEMP_NAME.test(name));
}

/** fsync a directory so a rename inside it survives a crash. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write `data` to `path` atomically with the given mode (synchronous; for small state files). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, "wx", mode);
  try {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {}
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/**
 * Write `data` to `path` atomically, in two steps: the returned promise resolves once the bytes
 * are in a temp file (so the caller may reuse `data`); `durable` resolves once that file is
 * fsynced and renamed into place. Used on the hot path for chunks, where many fsyncs can then
 * be in flight while later chunks are still being sealed.
 */
export async function writeFileStaged(
  path: string,
  data: Uint8Array,
  mode = 0o644,
  opts: { spareTail?: boolean } = {},
): Promise<{ durable: Promise<void> }> {
  const tmp = tempPathFor(path);
  let f: DirectFile;
  try {
    f = await DirectFile.create(tmp, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    await mkdir(dirname(path), { recursive: true });
    f = await DirectFile.create(tmp, mode);
  }
  const fail = async (e: unknown): Promise<never> => {
    await f.release().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  };
  try {
    await f.write(data, 0, opts);
  } catch (e) {
    return fail(e);
  }
  const durable = (async () => {
    try {
      await f.sync();
    } catch (e) {
      return fail(e);
    }
    await f.release();
    await rename(tmp, path);
  })();
  durable.catch(() => {}); // the caller awaits it; never an unhandled rejection meanwhile
  return { durable };
}

/**
 * Write `data` to `path` through a temp file renamed into place, without an fsync: readers see
 * the old file or the whole new one, but a crash may leave either, or a torn one. Only for a file
 * whose content is durable elsewhere and repaired from there (store/manifest-settle).
 */
export async function writeFileUnsynced(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, data, { mode, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, data, { mode, flag: "wx" });
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}
