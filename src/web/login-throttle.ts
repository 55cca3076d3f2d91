/**
 * @module web/login-throttle — how fast wrong passwords (and setup codes) may be tried.
 *
 * Per source address: the first FREE_FAILURES failures cost nothing; after that each one doubles
 * the wait before the next try (1 s, 2 s, 4 s … at most MAX_WAIT_S), counted from that failure.
 * A success clears the address; failures are forgotten after FORGET_MS. A refused try is answered
 * at once (it runs no password check). Across addresses, at most MAX_CHECKS password checks
 * (600,000 PBKDF2 iterations each) run at a time and MAX_WAITING more wait for a slot; past that
 * the answer is "busy" at once, so a burst of guesses cannot make the owner wait unseen.
 */

export const FREE_FAILURES = 3;
export const MAX_WAIT_S = 60;
const FORGET_MS = 15 * 60_000;
const MAX_ADDRESSES = 10_000;
export const MAX_CHECKS = 2;
export const MAX_WAITING = 4;

interface Record {
  failures: number;
  last: number;
}

/** The outcome of asking to run a check. */
export type Gate = { ok: true; release: () => void } | { ok: false; reason: "throttled" | "busy"; waitS: number };

export class LoginThrottle {
  private readonly byAddr = new Map<string, Record>();
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly clock: () => number = Date.now) {}

  /** Seconds `addr` must still wait before its next try (0 = it may try now). */
  waitFor(addr: string): number {
    const r = this.byAddr.get(addr);
    if (!r) return 0;
    const now = this.clock();
    if (now - r.last > FORGET_MS) {
      this.byAddr.delete(addr);
      return 0;
    }
    if (r.failures < FREE_FAILURES) return 0;
    const waitMs = Math.min(MAX_WAIT_S, 2 ** (r.failures - FREE_FAILURES)) * 1000;
    return Math.max(0, Math.ceil((r.last + waitMs - now) / 1000));
  }

  failed(addr: string): void {
    const r = this.byAddr.get(addr) ?? { failures: 0, last: 0 };
    r.failures++;
    r.last = this.clock();
    this.byAddr.delete(addr); // re-insert: the map's order is least recently failed first
    this.byAddr.set(addr, r);
    while (this.byAddr.size > MAX_ADDRESSES) this.byAddr.delete(this.byAddr.keys().next().value!);
  }

  succeeded(addr: string): void {
    this.byAddr.delete(addr);
  }

  /** Ask for a check slot for `addr`: refused when the address must wait or too many checks queue. */
  async enter(addr: string): Promise<Gate> {
    const waitS = this.waitFor(addr);
    if (waitS > 0) return { ok: false, reason: "throttled", waitS };
    if (this.running >= MAX_CHECKS) {
      if (this.queue.length >= MAX_WAITING) return { ok: false, reason: "busy", waitS: 2 };
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else this.running++;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        const next = this.queue.shift();
        if (next)
          next(); // the slot passes on
        else this.running--;
      },
    };
  }

  /** Checks running and waiting now (tests, status). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.queue.length };
  }
}
