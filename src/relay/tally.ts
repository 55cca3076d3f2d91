/** @module relay/tally — bytes counted per cell id, handed over and restarted at zero (relay credit: relay/hub, relay/relay-client). */
export class ByteTally {
  private counts = new Map<string, number>();

  add(id: string, bytes: number): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + bytes);
  }

  /** Add every count of `other` (a taken tally). */
  addAll(other: ReadonlyMap<string, number>): void {
    for (const [id, n] of other) this.add(id, n);
  }

  /** The counts so far; this tally starts again at zero. */
  take(): Map<string, number> {
    const out = this.counts;
    this.counts = new Map();
    return out;
  }
}
