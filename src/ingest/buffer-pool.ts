/**
 * @module ingest/buffer-pool — reusable chunk-sized buffers, so sealing and opening a file of
 * any size allocates a fixed handful of buffers instead of two fresh 4 MiB ones per chunk
 * (fresh buffers are freed only when the garbage collector gets to them, which inflates RSS).
 * The idle buffers are freed at once (core/piece-release) at `clear`, or once the pool has not
 * been used for `idleMs`: nothing else holds a buffer that waited in the pool. So a cell that
 * stored a large file does not keep the buffers of that put through the transfer that follows
 * (24 MiB of a cell's peak, issue 21), nor while idle.
 */
import { releasePiece } from "../core/piece-release.ts";

/** A pool not used for this long frees its idle buffers. */
export const POOL_IDLE_MS = 2000;

export class BufferPool {
  private free: Uint8Array[] = [];
  private usedAt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** `size`: bytes per buffer; `keep`: most buffers held while in use; `idleMs`: unused this long, they are freed. */
  constructor(
    readonly size: number,
    private keep = 16,
    private idleMs = POOL_IDLE_MS,
  ) {}

  /** A whole buffer of `size` bytes (recycled when one is free). */
  take(): Uint8Array {
    this.usedAt = Date.now();
    return this.free.pop() ?? new Uint8Array(this.size);
  }

  /** Return a buffer (any view of it) for reuse. Foreign-sized buffers are dropped. */
  give(u: Uint8Array): void {
    if (u.buffer.byteLength !== this.size) return;
    const whole = new Uint8Array(u.buffer as ArrayBuffer);
    // Over `keep`: dropped for the collector, not freed now (a caller may give back a buffer a
    // stream still reads; one idle in the pool for idleMs is another matter).
    if (this.free.length >= this.keep) return;
    this.free.push(whole);
    this.usedAt = Date.now();
    this.timer ??= this.idleCheck(this.idleMs);
  }

  /** Buffers kept for reuse now. */
  get idle(): number {
    return this.free.length;
  }

  private idleCheck(ms: number): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => {
      this.timer = null;
      if (!this.free.length) return;
      const quiet = Date.now() - this.usedAt;
      if (quiet >= this.idleMs) this.clear();
      else this.timer = this.idleCheck(this.idleMs - quiet);
    }, ms);
    (t as { unref?: () => void }).unref?.(); // never keeps a process alive
    return t;
  }

  /** Free the idle buffers now (the pool's user is done with it: a sync round that ended). */
  clear(): void {
    for (const b of this.free.splice(0)) releasePiece(b);
  }
}
