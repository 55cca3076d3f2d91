/**
 * @module core/direct-io — large file reads and writes that bypass the page cache (O_DIRECT)
 * where the platform and file system allow it, and ordinary ones everywhere else.
 *
 * Why: on the small VMs Grove runs on, buffered writeback costs the kernel ~4 s of CPU per GiB
 * written and fsynced (measured: `dd bs=4M conv=fsync` 4.7 s with 3.8 s sys, `oflag=direct`
 * 1.2 s with 0.2 s sys), CPU that sealing needs. Chunks and upload spools are written once and
 * not read soon after, so caching them buys nothing (docs/design.md, "Direct I/O").
 *
 * O_DIRECT wants the memory address, the file offset and the length aligned to the block size.
 * A `DirectFile` takes care of that: the aligned head of a request goes straight from/to the
 * caller's buffer; an unaligned tail goes through a small aligned scratch block (a padded write,
 * cut back with ftruncate before sync/close); a request that cannot be aligned at all (odd
 * address or offset) uses a second, ordinary descriptor. Where O_DIRECT does not exist (macOS)
 * or the file system refuses it (tmpfs: EINVAL), or GROVE_DIRECT_IO=0, everything is ordinary.
 */
import { totalmem } from "node:os";
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { ptr } from "bun:ffi";

/** Alignment used for addresses, offsets and lengths (the largest common logical block size). */
export const DIRECT_ALIGN = 4096;

const O_DIRECT: number | undefined = (constants as Record<string, number>).O_DIRECT;

/**
 * Whether a local file being stored (read twice: hashed, then sealed) is read through the page
 * cache, so that ingest's second pass finds it there instead of reading the disk again: when it
 * takes at most a quarter of this machine's memory, or of its container's limit. A larger file
 * would push everything else out of the cache and be gone before pass 2: it is read with direct
 * I/O both times.
 */
export function fitsPageCache(size: number): boolean {
  // In a memory-limited container (cgroup), the limit, not the host's memory, is what the cache gets.
  const limit = process.constrainedMemory?.() ?? 0;
  const memory = limit > 0 ? Math.min(totalmem(), limit) : totalmem();
  return size <= memory / 4;
}

/** Whether this process tries O_DIRECT at all. */
export function directIoEnabled(): boolean {
  return O_DIRECT !== undefined && O_DIRECT !== 0 && process.env.GROVE_DIRECT_IO !== "0";
}

function aligned(n: number): boolean {
  return n % DIRECT_ALIGN === 0;
}

/** Bytes from the start of view `u` to the end of its buffer. */
function roomIn(u: Uint8Array): number {
  return u.buffer.byteLength - u.byteOffset;
}

function addressAligned(u: Uint8Array): boolean {
  return u.byteLength > 0 && aligned(Number(ptr(u)));
}

/** A zeroed block of DIRECT_ALIGN bytes at an aligned address. */
function scratchBlock(): Uint8Array {
  const raw = new Uint8Array(DIRECT_ALIGN * 2);
  const off = (DIRECT_ALIGN - (Number(ptr(raw)) % DIRECT_ALIGN)) % DIRECT_ALIGN;
  return raw.subarray(off, off + DIRECT_ALIGN);
}

type Mode = "create" | "read";

export class DirectFile {
  private plain: FileHandle | null = null;
  private scratch: Uint8Array | null = null;
  /** Bytes the file should hold (the logical end of what was written). */
  private end = 0;
  /** The file may hold padding past `end` (a padded tail write). */
  private padded = false;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    /** Whether `fh` was opened with O_DIRECT. */
    readonly direct: boolean,
    private mode: Mode,
  ) {}

  /** Create `path` (must not exist) for writing. */
  static async create(path: string, fileMode = 0o644): Promise<DirectFile> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
    if (directIoEnabled()) {
      try {
        return new DirectFile(path, await open(path, flags | O_DIRECT!, fileMode), true, "create");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EINVAL") throw e;
        // Linux creates the file before it refuses O_DIRECT: it is ours, empty; open it again.
        return new DirectFile(path, await open(path, constants.O_WRONLY | constants.O_CREAT, fileMode), false, "create");
      }
    }
    return new DirectFile(path, await open(path, flags, fileMode), false, "create");
  }

  /**
   * Open `path` for reading. `cached`: through the page cache on purpose (a file read twice in a
   * row, whose second pass should find it there; see ingest).
   */
  static async openRead(path: string, opts: { cached?: boolean } = {}): Promise<DirectFile> {
    if (directIoEnabled() && !opts.cached) {
      try {
        return new DirectFile(path, await open(path, constants.O_RDONLY | O_DIRECT!), true, "read");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EINVAL") throw e;
      }
    }
    return new DirectFile(path, await open(path, "r"), false, "read");
  }

  /** The ordinary descriptor for requests O_DIRECT cannot take (opened on first need). */
  private async ordinary(): Promise<FileHandle> {
    if (!this.direct) return this.fh;
    this.plain ??= await open(this.path, this.mode === "read" ? "r" : "r+");
    return this.plain;
  }

  private block(): Uint8Array {
    this.scratch ??= scratchBlock();
    return this.scratch;
  }

  /**
   * Write all of `data` at `pos`. `data` may be reused once this resolves. With `spareTail`, the
   * bytes of `data`'s buffer after the view (up to the next 4 KiB boundary) are the caller's
   * scratch: they are zeroed and written as the padding, one request instead of two.
   */
  async write(data: Uint8Array, pos: number, opts: { spareTail?: boolean } = {}): Promise<void> {
    const len = data.byteLength;
    if (len === 0) return;
    this.end = Math.max(this.end, pos + len);
    if (!this.direct || !aligned(pos) || !addressAligned(data)) return writeAll(await this.ordinary(), data, pos);
    const rest = len % DIRECT_ALIGN;
    if (rest === 0) return writeAll(this.fh, data, pos);
    const whole = len - rest + DIRECT_ALIGN;
    if (opts.spareTail && roomIn(data) >= whole) {
      const padded = new Uint8Array(data.buffer, data.byteOffset, whole);
      padded.fill(0, len); // never old bytes of the buffer (plaintext, say) on the disk
      await writeAll(this.fh, padded, pos);
      this.padded = true;
      return;
    }
    const head = len - rest;
    if (head > 0) await writeAll(this.fh, data.subarray(0, head), pos);
    const b = this.block();
    b.fill(0);
    b.set(data.subarray(head), 0);
    await writeAll(this.fh, b, pos + head);
    this.padded = true;
  }

  /**
   * Read up to `len` bytes at `pos` into `buf` (from 0); fewer only at the end of the file. With
   * `spareTail`, `buf`'s buffer after `len` (up to the next 4 KiB boundary) may be overwritten:
   * one request instead of two.
   */
  async read(buf: Uint8Array, len: number, pos: number, opts: { spareTail?: boolean } = {}): Promise<number> {
    if (len === 0) return 0;
    if (!this.direct || !aligned(pos) || !addressAligned(buf)) return readFull(await this.ordinary(), buf, len, pos);
    const rest = len % DIRECT_ALIGN;
    const whole = rest === 0 ? len : len - rest + DIRECT_ALIGN;
    if (rest === 0 || (opts.spareTail && roomIn(buf) >= whole)) {
      const n = await readFull(this.fh, new Uint8Array(buf.buffer, buf.byteOffset, whole), whole, pos, true);
      return Math.min(n, len);
    }
    const head = len - rest;
    const got = head > 0 ? await readFull(this.fh, buf, head, pos, true) : 0;
    if (got < head) return got;
    const b = this.block();
    const n = await readFull(this.fh, b, DIRECT_ALIGN, pos + head, true);
    const take = Math.min(n, len - head);
    buf.set(b.subarray(0, take), head);
    return got + take;
  }

  /** Current size of the file on disk. */
  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  /** Cut padding off, then fsync (data and the metadata needed to read it back). */
  async sync(): Promise<void> {
    await this.trim();
    await this.fh.sync();
  }

  private async trim(): Promise<void> {
    if (!this.padded) return;
    await this.fh.truncate(this.end);
    this.padded = false;
  }

  /** Cut padding off and close (no fsync). */
  async close(): Promise<void> {
    try {
      await this.trim();
    } finally {
      await this.release();
    }
  }

  /** Close both descriptors, whatever state the file is in (after an error). */
  async release(): Promise<void> {
    await this.plain?.close().catch(() => {});
    this.plain = null;
    await this.fh.close();
  }
}

async function writeAll(fh: FileHandle, data: Uint8Array, pos: number): Promise<void> {
  let off = 0;
  while (off < data.byteLength) off += (await fh.write(data, off, data.byteLength - off, pos + off)).bytesWritten;
}

/** Read until `len` bytes or the end of the file. Direct reads stop at an unaligned count: that is the end. */
async function readFull(fh: FileHandle, buf: Uint8Array, len: number, pos: number, direct = false): Promise<number> {
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
    if (direct && !aligned(bytesRead)) break;
  }
  return got;
}
