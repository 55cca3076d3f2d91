/** @module relay/bucket — a token bucket: `rate` events a second on average, bursts of `burst` (the hub's per-connection limits). */
export class TokenBucket {
  private tokens: number;
  private refilled: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.refilled = now();
  }

  /** Take one token; false when the bucket is empty (the event is over the rate). */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.refilled) / 1000) * this.rate);
    this.refilled = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
