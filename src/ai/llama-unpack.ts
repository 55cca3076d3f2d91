/**
 * @module ai/llama-unpack — unpack the llama.cpp files an executable carries (ai/llama-assets)
 * into a real folder once, because a shared library can only be loaded from disk.
 *
 *   <base>/<key>/            the files, laid out as under node_modules, plus .grove-llama.json
 *   <base>/.tmp-<key>-XXXX   one unpacking in progress (written, synced, then renamed into place)
 *
 * The folder appears whole or not at all (temp folder + rename), so a crash half-way leaves only a
 * temp folder, removed by a later unpacking. A folder already there is reused when its marker
 * names the same key and every file has its size; else it is replaced. After a fresh unpacking,
 * the folders of other keys (older builds) are removed. Failures (disk full, read-only, not a
 * folder) become one error saying what was tried where, and why.
 */
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { LlamaAsset } from "./llama-assets.ts";

const MARKER = ".grove-llama.json";
/** A temp folder older than this is left over from a crash (an unpacking takes about a second). */
const STALE_TMP_MS = 10 * 60_000;

export interface UnpackResult {
  dir: string;
  /** false: an earlier unpacking was reused. */
  unpacked: boolean;
  bytes: number;
  ms: number;
}

/** Thrown when the files cannot be written; the message says where and why. */
export class LlamaUnpackError extends Error {
  override name = "LlamaUnpackError";
}

/** Is `dir` a complete unpacking of `files` under `key`? */
function complete(dir: string, key: string, files: LlamaAsset[]): boolean {
  try {
    const marker = JSON.parse(readFileSync(join(dir, MARKER), "utf8")) as { key?: unknown };
    if (marker.key !== key) return false;
    return files.every((f) => statSync(join(dir, f.rel)).size === f.bytes);
  } catch {
    return false;
  }
}

/** Flush a written file to disk (the rename that publishes it must not outrun its bytes). */
function sync(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Copy an embedded file out: Bun.write streams it, where readFileSync would hold a second copy in memory. */
export type CopyOut = (f: LlamaAsset, dest: string) => Promise<number>;
const bunCopy: CopyOut = (f, dest) => Bun.write(dest, Bun.file(f.src));

function why(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const hint: Record<string, string> = {
    ENOSPC: "the disk is full",
    EDQUOT: "the disk quota is used up",
    EROFS: "the file system is read-only",
    EACCES: "permission denied",
    EPERM: "permission denied",
    ENOTDIR: "a file is in the way of a folder",
    EEXIST: "a file is in the way of a folder",
  };
  const msg = (err?.message ?? String(e)).split("\n")[0];
  return err?.code && hint[err.code] ? `${hint[err.code]} (${msg})` : msg;
}

/** Remove leftovers in `base`: other keys' folders (when `others`) and stale temp folders. */
function tidy(base: string, key: string, others: boolean): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === key) continue;
    const path = join(base, name);
    try {
      if (name.startsWith(".tmp-")) {
        if (Date.now() - statSync(path).mtimeMs > STALE_TMP_MS) rmSync(path, { recursive: true, force: true });
      } else if (others && existsSync(join(path, MARKER))) {
        rmSync(path, { recursive: true, force: true });
      }
    } catch {} // tidying is best effort
  }
}

/**
 * Make sure `<base>/<key>` holds `files` (copied out with `copy`, by default from the executable)
 * and return it. Reuses a complete earlier unpacking; throws LlamaUnpackError when writing fails.
 */
export async function unpackLlama(base: string, key: string, files: LlamaAsset[], copy: CopyOut = bunCopy): Promise<UnpackResult> {
  const t0 = performance.now();
  const dir = join(base, key);
  const bytes = files.reduce((n, f) => n + f.bytes, 0);
  if (complete(dir, key, files)) return { dir, unpacked: false, bytes, ms: performance.now() - t0 };

  let tmp: string | null = null;
  try {
    mkdirSync(base, { recursive: true, mode: 0o700 });
    tmp = mkdtempSync(join(base, `.tmp-${key}-`));
    for (const f of files) {
      const out = join(tmp, f.rel);
      mkdirSync(dirname(out), { recursive: true });
      const n = await copy(f, out);
      if (n !== f.bytes) throw new Error(`the executable's copy of ${f.rel} has ${n} bytes, not ${f.bytes}`);
      if (/\.(node|so|dylib)$/.test(f.rel)) chmodSync(out, 0o755);
      sync(out);
    }
    writeFileSync(join(tmp, MARKER), JSON.stringify({ key, files: files.length, bytes }) + "\n", { mode: 0o644 });
    sync(join(tmp, MARKER));
    // A broken earlier unpacking is moved aside first (rename cannot replace a non-empty folder).
    if (existsSync(dir)) {
      if (complete(dir, key, files)) {
        // Another process finished the same unpacking meanwhile: use that one.
        rmSync(tmp, { recursive: true, force: true });
        return { dir, unpacked: false, bytes, ms: performance.now() - t0 };
      }
      const aside = `${tmp}-old`;
      renameSync(dir, aside);
      rmSync(aside, { recursive: true, force: true });
    }
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!complete(dir, key, files)) throw e;
      rmSync(tmp, { recursive: true, force: true }); // lost a race to an identical unpacking
      return { dir, unpacked: false, bytes, ms: performance.now() - t0 };
    }
    tmp = null;
  } catch (e) {
    try {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    } catch {} // the error that matters is e
    if (e instanceof LlamaUnpackError) throw e;
    const mb = (bytes / 1e6).toFixed(0);
    throw new LlamaUnpackError(`local models need llama.cpp's libraries (${mb} MB) unpacked once into ${dir}, and that failed: ${why(e)}`);
  }
  tidy(base, key, true);
  return { dir, unpacked: true, bytes, ms: performance.now() - t0 };
}
