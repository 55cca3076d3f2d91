/**
 * @module ingest/buffer-pool — reusable chunk-sized buffers, so sealing and opening a file of
 * any size allocates a fixed handful of buffers instead of two fresh 4 MiB ones per chunk
 * (fresh buffers are freed only when the garbage collector gets to them, which inflates RSS).
 */

export class BufferPool {
  private free: Uint8Array[] = [];

  /** `size`: bytes per buffer; `keep`: most buffers held while idle. */
  constructor(
    readonly size: number,
    private keep = 16,
  ) {}

  /** A whole buffer of `size` bytes (recycled when one is free). */
  take(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(this.size);
  }

  /** Return a buffer (any view of it) for reuse. Foreign-sized buffers are dropped. */
  give(u: Uint8Array): void {
    if (u.buffer.byteLength !== this.size || this.free.length >= this.keep) return;
    this.free.push(new Uint8Array(u.buffer as ArrayBuffer));
  }
}
