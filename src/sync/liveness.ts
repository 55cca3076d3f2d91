/**
 * @module sync/liveness — which peers are still in a sync round. A peer leaves the round when a
 * call to it fails (`fail`), or when it does not answer a ping: the re-check that follows a call
 * with no answer at all (`recheck`), or the stall watch over a chunk transfer (`transfer`). The
 * round asks `usable` before each call. Timers come from a `Clock` (real timers by default), so
 * tests drive the watch without waiting real seconds.
 */
import type { CellId } from "../core/types.ts";

/** How long a peer has to answer the ping that re-checks it after another peer went silent. */
export const RECHECK_TIMEOUT_MS = 5000;
/**
 * A chunk transfer still running after this long makes the round ping its peer (and again after
 * as long, while it runs); no answer within STALL_PING_TIMEOUT_MS aborts every transfer to that
 * peer. A slow link still answers a ping and keeps its full transfer timeout; a peer gone silent
 * (partition, lost link) costs about 25 s instead of the transfer timeout, for each transfer.
 */
export const STALL_CHECK_MS = 15_000;
export const STALL_PING_TIMEOUT_MS = 10_000;

/** The timers liveness sets: `realClock` in a round, a fake one in tests. */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

export const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

/** The peers a round reached (a `Map` of its links, or a `Set`). */
export interface RoundPeers {
  has(peer: CellId): boolean;
  keys(): Iterable<CellId>;
}

export interface LivenessOptions {
  /** The peers reached this round; read at each question (the round fills it after its probe). */
  peers: RoundPeers;
  /** Ping `peer`: settles when it answers (or fails) within about `timeoutMs`. */
  ping(peer: CellId, timeoutMs: number): Promise<unknown>;
  /** `peer` did not answer a re-check and left the round (for the round's report). */
  onSilent?(peer: CellId, e: unknown): void;
  clock?: Clock;
}

export class PeerLiveness {
  /** Peers that failed a call this round: not tried again until the next. */
  private failed = new Set<CellId>();
  /** Pinging the peers still in the round after a call got no answer (see `recheck`). */
  private rechecking: Promise<void> | null = null;
  /** Per peer: aborts its chunk transfers when it stops answering (see `transfer`). */
  private aborts = new Map<CellId, AbortController>();
  private stallPings = new Map<CellId, Promise<boolean>>();
  private clock: Clock;

  constructor(private opts: LivenessOptions) {
    this.clock = opts.clock ?? realClock;
  }

  /** `peer` failed a call: out of the round. */
  fail(peer: CellId): void {
    this.failed.add(peer);
  }

  /** Reached this round and not failed since (no waiting: see `usable`). */
  inRound(peer: CellId): boolean {
    return this.opts.peers.has(peer) && !this.failed.has(peer);
  }

  /** The peers still in the round. */
  live(): CellId[] {
    return [...this.opts.peers.keys()].filter((p) => !this.failed.has(p));
  }

  /** Still in the round (waits for a re-check in progress first). */
  async usable(peer: CellId): Promise<boolean> {
    if (this.rechecking) await this.rechecking;
    return this.inRound(peer);
  }

  /**
   * A call got no answer at all: the peer went away, or our own link did (a partition, the
   * laptop leaving its network) since the round's probe. Ping every peer still in the round, at
   * once and briefly; those that do not answer are dropped from the round, so it does not wait
   * out a full call timeout on each of them in turn. Concurrent failures share one re-check.
   */
  recheck(): Promise<void> {
    this.rechecking ??= Promise.all(
      this.live().map(async (peer) => {
        try {
          await this.ping(peer, RECHECK_TIMEOUT_MS);
        } catch (e) {
          if (!this.failed.has(peer)) {
            this.failed.add(peer);
            this.opts.onSilent?.(peer, e);
          }
        }
      }),
    ).then(() => {
      this.rechecking = null;
    });
    return this.rechecking;
  }

  /** Run chunk transfer `fn` with `peer`, watched: see STALL_CHECK_MS. */
  async transfer<T>(peer: CellId, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let ctl = this.aborts.get(peer);
    if (!ctl) this.aborts.set(peer, (ctl = new AbortController()));
    const abort = ctl;
    let done = false;
    let timer: unknown;
    const watch = () => {
      timer = this.clock.setTimeout(async () => {
        const alive = await this.answersPing(peer);
        if (done) return;
        if (alive) watch();
        else abort.abort(new Error(`no answer to a ping for ${STALL_PING_TIMEOUT_MS / 1000} s while a transfer was running`));
      }, STALL_CHECK_MS);
    };
    watch();
    try {
      return await fn(abort.signal);
    } finally {
      done = true;
      this.clock.clearTimeout(timer);
    }
  }

  /** One ping at a time per peer; concurrent askers share it. */
  private answersPing(peer: CellId): Promise<boolean> {
    let p = this.stallPings.get(peer);
    if (!p) {
      p = this.ping(peer, STALL_PING_TIMEOUT_MS).then(
        () => true,
        () => false,
      );
      this.stallPings.set(peer, p);
      void p.finally(() => this.stallPings.delete(peer));
    }
    return p;
  }

  /** The ping, given up after `timeoutMs` on the clock (the call has its own timeout too). */
  private ping(peer: CellId, timeoutMs: number): Promise<unknown> {
    let timer: unknown;
    const late = new Promise<never>((_, reject) => {
      timer = this.clock.setTimeout(() => reject(new Error(`no answer to a ping within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    return Promise.race([this.opts.ping(peer, timeoutMs), late]).finally(() => this.clock.clearTimeout(timer));
  }
}
