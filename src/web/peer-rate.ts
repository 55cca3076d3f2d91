/**
 * @module web/peer-rate — how many requests each peer may make: a token bucket per verified
 * peer (RATE per second, bursts of BURST). Counted after the signature checks, so a stranger who
 * claims an honest peer's id cannot spend that peer's budget. Past it: 429 with Retry-After.
 */

export const PEER_RATE_PER_S = 200;
export const PEER_BURST = 400;

interface Bucket {
  tokens: number;
  at: number;
}

export class PeerRate {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly ratePerS = PEER_RATE_PER_S,
    private readonly burst = PEER_BURST,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Take one request's token for `peer`: 0 when allowed, else the seconds to wait. */
  take(peer: string): number {
    const now = this.clock();
    let b = this.buckets.get(peer);
    if (!b) this.buckets.set(peer, (b = { tokens: this.burst, at: now }));
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerS);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerS));
  }

  forget(peer: string): void {
    this.buckets.delete(peer);
  }
}
