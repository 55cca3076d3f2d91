/**
 * @module core/file-writer — streams many small pieces into a file with large writes done off
 * the main thread: pieces are gathered into one buffer while the others are being written
 * (two buffers by default), so receiving, hashing and writing overlap on two cores. `createDirect`
 * writes with direct I/O where possible (core/direct-io): every write but the last is whole
 * buffers at buffer-aligned offsets, as O_DIRECT wants.
 */
import { open, type FileHandle } from "node:fs/promises";
import { DirectFile } from "./direct-io.ts";

/** Where the buffers go: an ordinary file handle or a DirectFile. */
interface Sink {
  write(buf: Uint8Array, pos: number): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

function handleSink(fh: FileHandle): Sink {
  return {
    async write(buf, pos) {
      let off = 0;
      while (off < buf.byteLength) off += (await fh.write(buf, off, buf.byteLength - off, pos + off)).bytesWritten;
    },
    sync: () => fh.sync(),
    close: () => fh.close(),
  };
}

export class FileWriter {
  /** Each buffer, made when first filled (a small file never makes the second). */
  private bufs: (Uint8Array | undefined)[];
  /** The write of each buffer, while it runs. */
  private pending: Promise<void>[];
  private cur = 0;
  private fill = 0;
  private position = 0;
  private failed: unknown = null;

  /** `buffers` - 1 writes may be in flight while the next buffer is filled. */
  private constructor(
    private sink: Sink,
    private readonly bufferBytes: number,
    buffers = 2,
  ) {
    this.bufs = Array.from({ length: buffers }, () => undefined);
    this.pending = this.bufs.map(() => Promise.resolve());
  }

  /** Open `path` (flags as fs.open, default "wx") with `bufferBytes` per buffer. */
  static async open(path: string, flags = "wx", mode = 0o644, bufferBytes = 4 << 20): Promise<FileWriter> {
    return new FileWriter(handleSink(await open(path, flags, mode)), bufferBytes);
  }

  /** Create `path` (must not exist), written with direct I/O where the system allows it. */
  static async createDirect(path: string, mode = 0o644, bufferBytes = 4 << 20, buffers = 2): Promise<FileWriter> {
    const f = await DirectFile.create(path, mode);
    // The bytes after a partial buffer's data are the writer's own: padding comes from there.
    return new FileWriter(
      { write: (b, p) => f.write(b, p, { spareTail: true }), sync: () => f.sync(), close: () => f.close() },
      bufferBytes,
      buffers,
    );
  }

  /** Bytes accepted so far. */
  get size(): number {
    return this.position + this.fill;
  }

  /** Append `piece`; resolves once it is buffered (may wait for a previous buffer's write). */
  async write(piece: Uint8Array): Promise<void> {
    let off = 0;
    while (off < piece.byteLength) {
      const buf = (this.bufs[this.cur] ??= new Uint8Array(this.bufferBytes));
      const n = Math.min(buf.byteLength - this.fill, piece.byteLength - off);
      buf.set(piece.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === buf.byteLength) await this.rotate();
    }
  }

  /** Start writing the current buffer; wait until the next one's earlier write is done so it can be refilled. */
  private async rotate(): Promise<void> {
    if (this.failed) throw this.failed;
    const i = this.cur;
    const len = this.fill;
    const at = this.position;
    this.position += len;
    this.fill = 0;
    this.pending[i] = this.writeAll(this.bufs[i]!, len, at).catch((e) => {
      this.failed ??= e;
    });
    this.cur = (i + 1) % this.bufs.length;
    await this.pending[this.cur];
    if (this.failed) throw this.failed;
  }

  private writeAll(buf: Uint8Array, len: number, at: number): Promise<void> {
    return this.sink.write(buf.subarray(0, len), at);
  }

  /** Write what is buffered, optionally fsync, and close. */
  async close(sync = false): Promise<void> {
    try {
      if (this.fill > 0) await this.rotate();
      await Promise.all(this.pending);
      if (this.failed) throw this.failed;
      if (sync) await this.sink.sync();
    } finally {
      await this.sink.close();
    }
  }

  /** Close without caring about buffered data (after an error). */
  async abort(): Promise<void> {
    await Promise.all(this.pending);
    await this.sink.close().catch(() => {});
  }
}
