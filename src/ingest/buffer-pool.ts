/**
 * @module ingest/buffer-pool — reusable chunk-sized buffers, so sealing and opening a file of
 * any size allocates a fixed handful of buffers instead of two fresh 4 MiB ones per chunk
 * (fresh buffers are freed only when the garbage collector gets to them, which inflates RSS).
 * A buffer the pool lets go of (one over `keep`, or all at `clear`) is freed at once
 * (core/piece-release): the pool is its only holder once it is given back.
 */
import { releasePiece } from "../core/piece-release.ts";

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
    if (u.buffer.byteLength !== this.size) return;
    const whole = new Uint8Array(u.buffer as ArrayBuffer);
    if (this.free.length >= this.keep) return releasePiece(whole);
    this.free.push(whole);
  }

  /** Free the idle buffers now (the pool's user is done with it: a sync round that ended). */
  clear(): void {
    for (const b of this.free.splice(0)) releasePiece(b);
  }
}
