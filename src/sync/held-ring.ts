/**
 * @module sync/held-ring — the shared memory in which the main thread hands the sync Worker the
 * sealed bytes of small chunks it just stored (push on store, sync/eager-push).
 *
 * One SharedArrayBuffer of MAX_HELD_BYTES, made once per Worker: the main thread copies a chunk
 * in at the next free place and posts only its offset; the Worker copies it into a batch body
 * (sync/batch-body) and says which places it let go of. No ArrayBuffer is made per chunk on
 * either side: a buffer posted or transferred per chunk was garbage in the Worker at once, and
 * the Worker's collector, which hears little allocation there, left hundreds of them (tens of
 * MiB) uncollected (issue 21: a cell's peak RSS).
 *
 * Places are taken in order around the ring and given back in any order; space is reused once
 * the oldest place taken is given back (a place given back early waits for those before it).
 * When there is no room the chunk goes by name instead (read back from chunks/).
 */

interface Place {
  at: number;
  end: number;
  free: boolean;
}

export class HeldRing {
  readonly buffer: SharedArrayBuffer;
  private readonly bytes: Uint8Array;
  /** Places taken, oldest first. */
  private places: Place[] = [];
  private byAt = new Map<number, Place>();
  private taken = 0;

  constructor(size: number) {
    this.buffer = new SharedArrayBuffer(size);
    this.bytes = new Uint8Array(this.buffer);
  }

  /** Bytes in places not given back yet. */
  get held(): number {
    return this.taken;
  }

  /** Copy `src` in: the offset of its place, or null when there is no room for it now. */
  put(src: Uint8Array): number | null {
    const at = this.room(src.byteLength);
    if (at === null) return null;
    this.bytes.set(src, at);
    const p = { at, end: at + src.byteLength, free: false };
    this.places.push(p);
    this.byAt.set(at, p);
    this.taken += src.byteLength;
    return at;
  }

  /** Where `n` bytes fit after the newest place (or from the start, before the oldest), else null. */
  private room(n: number): number | null {
    const size = this.bytes.byteLength;
    if (n <= 0 || n > size) return null;
    const first = this.places[0];
    const last = this.places[this.places.length - 1];
    if (!first || !last) return 0;
    if (last.end > first.at) {
      // Not wrapped: taken is [first.at, last.end).
      if (last.end + n <= size) return last.end;
      return n <= first.at ? 0 : null;
    }
    // Wrapped: taken is [first.at, end of ring) and [0, last.end).
    return last.end + n <= first.at ? last.end : null;
  }

  /** The Worker let go of the place at `at` (an unknown offset is ignored). */
  give(at: number): void {
    const p = this.byAt.get(at);
    if (!p || p.free) return;
    p.free = true;
    this.byAt.delete(at);
    this.taken -= p.end - p.at;
    let i = 0;
    while (i < this.places.length && this.places[i]!.free) i++;
    if (i) this.places.splice(0, i);
  }
}
