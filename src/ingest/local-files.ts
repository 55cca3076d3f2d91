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
import { DirectFile, fitsPageCache } from "../core/direct-io.ts";
import type { Manifest } from "../store/manifest.ts";
import { restorePieces, type ByteRange } from "./restore.ts";
import type { Vault } from "./vault.ts";
import type { BufferPool } from "./buffer-pool.ts";

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

/**
 * The bytes of `path` in CHUNK_SIZE reads (direct I/O where possible, or through the page cache
 * with `cached`), the next one already in flight while a piece is used (two buffers from
 * `buffers`: reused, not garbage). Each piece is valid until the next one is asked for.
 */
async function* readPieces(path: string, buffers: BufferPool, cached: boolean): AsyncGenerator<Uint8Array> {
  const f = await DirectFile.openRead(path, { cached });
  const bufs = [buffers.take(), buffers.take()];
  const reads: Promise<Uint8Array>[] = [];
  let next = 0;
  let eof = false;
  const more = () => {
    // A yielded piece's buffer is read into again only after the consumer asks for the next one.
    while (!eof && reads.length < bufs.length) {
      const buf = bufs[next % bufs.length]!;
      const at = next * CHUNK_SIZE;
      next++;
      const r = f.read(buf, CHUNK_SIZE, at).then((n) => {
        if (n < CHUNK_SIZE) eof = true;
        return buf.subarray(0, n);
      });
      r.catch(() => {}); // observed in turn
      reads.push(r);
    }
  };
  try {
    more();
    while (reads.length) {
      const piece = await reads.shift()!;
      if (piece.byteLength === 0) return;
      yield piece;
      if (piece.byteLength < CHUNK_SIZE) return;
      more();
    }
  } finally {
    await Promise.allSettled(reads);
    await f.release();
    for (const b of bufs) buffers.give(b);
  }
}

/**
 * The pieces of a local file of `size` bytes that ingest stores (and reads again in pass 2): read
 * through the page cache when it fits there (core/direct-io fitsPageCache), else direct.
 */
export function localFilePieces(path: string, size: number, buffers: BufferPool): AsyncGenerator<Uint8Array> {
  return readPieces(path, buffers, fitsPageCache(size));
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
  const pieces = await restorePieces(vault, m, opts.range, { handOver: true });
  const tmp = tempPathFor(dest);
  const fh = await DirectFile.create(tmp, 0o644);
  let n = 0;
  // Each piece is a whole verified chunk in a recycled buffer, written as it is (one large
  // write, no copy, direct I/O where possible) while the next piece is awaited; its buffer goes
  // back once written. Direct: on this VM, filling 1 GiB of fresh page cache cost up to 4 s of
  // kernel CPU (docs/design.md, "Direct I/O").
  const writing: Promise<void>[] = [];
  try {
    for await (const piece of pieces) {
      const at = n;
      n += piece.byteLength;
      const w = fh.write(piece, at, { spareTail: true }).finally(() => vault.buffers.give(piece));
      w.catch(() => {}); // awaited below
      writing.push(w);
      if (writing.length > 1) await writing.shift();
      opts.onProgress?.(n, m.total_size);
    }
    await Promise.all(writing);
    if (opts.sync) await fh.sync();
    await fh.close();
    await rename(tmp, dest);
    return n;
  } catch (e) {
    await Promise.allSettled(writing);
    await fh.release().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
}
