/**
 * @module tree/hlc — the hybrid logical clock that orders tree events across my cells
 * (docs/design.md, "One tree across my cells"). A stamp is (wall ms, counter): it never goes
 * backwards on one cell, and a stamp made after receiving another is greater than it, whatever the
 * cells' wall clocks say. Stamps far in the future (past `maxSkewMs`) are refused, so one cell with
 * a wrong clock cannot make its changes win for years.
 */

/** A point in hybrid logical time: milliseconds since the epoch, and a counter within one millisecond. */
export interface Stamp {
  readonly wall: number;
  readonly n: number;
}

/** Negative when `a` is before `b`, positive after, 0 when equal. */
export function compareStamps(a: Stamp, b: Stamp): number {
  return a.wall - b.wall || a.n - b.n;
}

/** How far ahead of our clock a received stamp may be (a day), before it is refused. */
export const MAX_SKEW_MS = 24 * 3600_000;

/** One cell's clock. `now` is injectable so tests drive it. */
export class HybridClock {
  private last: Stamp = { wall: 0, n: 0 };

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxSkewMs = MAX_SKEW_MS,
  ) {}

  /** A fresh stamp for a change made here: greater than every stamp made or seen before. */
  tick(): Stamp {
    const wall = Math.max(this.now(), this.last.wall);
    this.last = wall === this.last.wall ? { wall, n: this.last.n + 1 } : { wall, n: 0 };
    return this.last;
  }

  /**
   * Take in a stamp received from another cell, so what is made here afterwards comes after it.
   * Throws when it is more than `maxSkewMs` ahead of this cell's wall clock.
   */
  observe(s: Stamp): void {
    if (s.wall - this.now() > this.maxSkewMs) {
      throw new Error(`a change stamped ${new Date(s.wall).toISOString()} is too far in the future for this cell's clock`);
    }
    if (compareStamps(s, this.last) > 0) this.last = s;
  }
}
