/**
 * @module ingest/local-files — store a file straight from this machine's disk, and write a stored
 * file straight to it. Used by the local CLI: bulk bytes never cross a socket, and every read
 * and write is 4 MiB (on small VMs each system call is expensive; see docs/design.md).
 */
import { open, realpath, rename, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { badRequest } from "../core/errors.ts";
import { tempPathFor } from "../core/atomic.ts";
import { CHUNK_SIZE } from "../core/types.ts";
import type { Manifest } from "../store/manifest.ts";
import { restorePieces, type ByteRange } from "./restore.ts";
import type { Vault } from "./vault.ts";

/** Check that `source` is an absolute path to a readable regular file; returns its size. */
export async function localSource(source: string): Promise<number> {
  if (!source.startsWith("/")) throw badRequest("source must be an absolute path");
  const st = await stat(source).catch(() => null);
  if (!st) throw badRequest(`cannot read ${source}: no such file`);
  if (!st.isFile()) throw badRequest(`${source} is not a regular file`);
  const fh = await open(source, "r").catch((e: NodeJS.ErrnoException) => {
    throw badRequest(`cannot read ${source}: ${e.code ?? e.message}`);
  });
  await fh.close();
  return st.size;
}

/** The bytes of `path` in CHUNK_SIZE reads. Each piece is valid until the next one is asked for. */
export async function* readPieces(path: string): AsyncGenerator<Uint8Array> {
  const fh = await open(path, "r");
  const buf = new Uint8Array(CHUNK_SIZE);
  try {
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** Check that `dest` is an absolute path whose folder exists, outside the cell's state folder; returns it. */
export async function localDestination(dest: string, stateDir: string): Promise<string> {
  if (!dest.startsWith("/")) throw badRequest("dest must be an absolute path");
  const real = await realpath(dirname(dest)).catch(() => dirname(dest));
  const state = await realpath(stateDir).catch(() => stateDir);
  if (real === state || real.startsWith(state + "/")) throw badRequest(`refusing to write inside the cell's state folder (${stateDir})`);
  const d = await stat(dirname(dest)).catch(() => null);
  if (!d?.isDirectory()) throw badRequest(`folder ${dirname(dest)} does not exist`);
  const t = await stat(dest).catch(() => null);
  if (t?.isDirectory()) throw badRequest(`${dest} is a folder`);
  return dest;
}

/**
 * Write the verified plaintext of `m` to `dest` (temp file renamed into place when complete;
 * fsynced first when `sync`). On any failure nothing is left at `dest`.
 */
export async function exportFile(
  vault: Vault,
  m: Manifest,
  dest: string,
  opts: { sync?: boolean; range?: ByteRange; onProgress?: (done: number, total: number) => void } = {},
): Promise<number> {
  const pieces = await restorePieces(vault, m, opts.range);
  const tmp = tempPathFor(dest);
  const fh = await open(tmp, "wx", 0o644);
  let n = 0;
  try {
    // Each piece is a whole verified chunk in a recycled buffer: written as it is (one large
    // write, no copy) before the next piece is asked for; the prefetch window keeps the
    // workers busy meanwhile.
    for await (const piece of pieces) {
      let off = 0;
      while (off < piece.byteLength) off += (await fh.write(piece, off, piece.byteLength - off, n + off)).bytesWritten;
      n += piece.byteLength;
      opts.onProgress?.(n, m.total_size);
    }
    if (opts.sync) await fh.sync();
    await fh.close();
    await rename(tmp, dest);
    return n;
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
}
