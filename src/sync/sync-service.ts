/**
 * @module sync/sync-service — the main thread's handle on the sync Worker: starts it, runs a
 * round every `sync_interval_s`, `sync_after_change_s` after a store (`nudge`) and on demand
 * (`grove sync`, the Storage tab), and hands back each round's report. A sync asked for while
 * another waits to start joins that one; after every job the peer directory re-reads the route
 * figures the Worker wrote (`statsChanged`).
 */
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { Layout } from "../core/layout.ts";
import type { Card } from "../protocol/card.ts";
import type { RelayLink } from "../relay/relay-client.ts";
import type { RoundReport } from "../fleet/prober.ts";
import type { RecoveryRecord, SyncProgress, SyncReport } from "./round.ts";
import { MAX_HELD_BYTES, type FromWorker, type ToWorker } from "./sync-messages.ts";
import { BATCH_CHUNK_MAX } from "./wire.ts";
import { RoundHistory, type RoundPoint } from "./round-history.ts";
import type { CellId } from "../core/types.ts";
import { startMemTrace } from "./mem-trace.ts";
import { HeldRing } from "./held-ring.ts";
import { freeBuffer } from "../relay/free-buffer.ts";

/** Runs probe and sync rounds (the sync Worker), as the web and the CLI see it. */
export interface RoundRunner {
  probe(): Promise<RoundReport>;
  sync(): Promise<SyncReport>;
  readonly running: boolean;
  readonly last: SyncReport | null;
  /** How far the round now running is (null between rounds). */
  readonly progress: SyncProgress | null;
  readonly lastError: string | null;
  /** The round that restored this recovered cell since it started (null: none). */
  readonly recovery?: RecoveryRecord | null;
  /** The last rounds since the cell started, oldest first (sync/round-history). */
  history?(): RoundPoint[];
}

/** What the service needs: where the cell lives, and whom to tell. */
export interface SyncServiceDeps {
  layout: Pick<Layout, "dir" | "home">;
  /** The Worker wrote new route figures (after every job). */
  statsChanged(): void;
  /** After each sync round (grant and message deliveries, the update check). */
  afterRound(): void;
  /** The card this cell sends along with its inventories (fleet/self-card). */
  card(): Card;
  /** This thread's relay connections, which carry the Worker's calls through relays (null: none). */
  relay: Pick<RelayLink, "call"> | null;
  /** Called before a round (relay byte counts into the bounty ledger, so statements are current). */
  beforeRound(): void;
  /** placement.db's checkpoints on the main thread's commits (true), or taken by the Worker (false): PlacementDb.checkpointOnCommit. */
  checkpointOnCommit?(on: boolean): void;
}

type Pending = { resolve: (r: SyncReport | RoundReport) => void; reject: (e: Error) => void };

export class SyncService implements RoundRunner {
  private worker: Worker;
  /** Where small chunks' bytes go to the Worker (push on store), one per Worker. */
  private ring!: HeldRing;
  private ready: Promise<void>;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  /** Relay calls carried for the Worker, by its call number (a relay-cancel aborts one). */
  private relayCalls = new Map<number, AbortController>();
  private timer: ReturnType<typeof setInterval> | null = null;
  /** A sync queued behind a running one: later callers share it. */
  private queued: Promise<SyncReport> | null = null;
  private current: Promise<SyncReport> | null = null;
  last: SyncReport | null = null;
  /** How far the round now running is (null between rounds). */
  progress: SyncProgress | null = null;
  lastError: string | null = null;
  /** The round that restored this recovered cell (kept while the cell runs: later rounds do not carry it). */
  recovery: RecoveryRecord | null = null;
  private rounds = new RoundHistory();

  constructor(private deps: SyncServiceDeps) {
    startMemTrace("main"); // GROVE_MEM_TRACE only (sync/mem-trace)
    this.worker = this.spawn();
    this.ready = this.opened;
  }

  private opened: Promise<void> = Promise.resolve();

  /** Start the Worker and open the cell in it. A Worker that dies is replaced on the spot. */
  private spawn(): Worker {
    const w = new Worker(new URL("./sync-worker.ts", import.meta.url).href);
    this.opened = new Promise((resolve, reject) => {
      w.onmessage = (ev: MessageEvent<FromWorker>) => {
        const m = ev.data;
        if (m.type === "ready") {
          if (this.worker === w && !this.stopped) this.deps.checkpointOnCommit?.(false); // the Worker takes them
          return resolve();
        }
        if (m.type === "init-failed") return reject(new Error(`sync worker: ${m.error}`));
        if (m.type === "relay-call") return this.relayCall(w, m);
        if (m.type === "relay-cancel") return this.relayCalls.get(m.call)?.abort(new Error("the sync round abandoned the call"));
        if (m.type === "released") {
          if (this.worker === w) for (const at of m.at) this.ring.give(at);
          return;
        }
        if (m.type === "progress") {
          if (this.pending.has(m.id)) this.progress = m.progress;
          return;
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        this.deps.statsChanged();
        if (m.type === "failed") p.reject(new Error(m.error));
        else p.resolve(m.report);
      };
    });
    this.opened.catch((e) => log("error", errorMessage(e)));
    w.onerror = (ev) => {
      log("error", `sync worker crashed: ${ev.message}; starting a new one`);
      this.deps.checkpointOnCommit?.(true); // until the new one is ready
      for (const p of this.pending.values()) p.reject(new Error(`sync worker crashed: ${ev.message}`));
      this.pending.clear();
      for (const c of this.relayCalls.values()) c.abort(new Error("the sync worker crashed"));
      this.relayCalls.clear();
      if (this.stopped) return;
      w.terminate();
      this.worker = this.spawn();
      this.ready = this.opened;
    };
    const { layout } = this.deps;
    this.ring = new HeldRing(MAX_HELD_BYTES); // a new Worker: nothing of the old one's is held
    w.postMessage({ type: "init", dir: layout.dir, home: layout.home, ring: this.ring.buffer } satisfies ToWorker);
    return w;
  }

  /** Carry a Worker's peer call through this thread's relay connections. */
  private relayCall(w: Worker, m: Extract<FromWorker, { type: "relay-call" }>): void {
    const relay = this.deps.relay;
    const answer = (a: ToWorker) => {
      if (this.worker === w) w.postMessage(a);
    };
    if (!relay) return answer({ type: "relay-answer", call: m.call, ok: false, error: "this cell has no relay client" });
    const ctl = new AbortController();
    this.relayCalls.set(m.call, ctl);
    relay
      .call(m.relay, m.peer as CellId, m.request, m.timeoutMs, ctl.signal)
      .finally(() => freeBuffer(m.request.body)) // the Worker's copy, sealed into frames and sent: freed now, not when collected
      .then(
        (response) => answer({ type: "relay-answer", call: m.call, ok: true, response }),
        (e) => answer({ type: "relay-answer", call: m.call, ok: false, error: errorMessage(e) }),
      )
      .finally(() => {
        if (this.relayCalls.get(m.call) === ctl) this.relayCalls.delete(m.call);
      });
  }

  /**
   * A chunk this cell just stored, for the Worker to push to peers now (sync/eager-push). A small
   * one goes with its sealed bytes, copied into the ring shared with the Worker (sync/held-ring),
   * so the caller may reuse its buffer at once; a large one by name: copying 4 MiB for every chunk
   * cost more (page faults, garbage) than the Worker's read of it into a buffer it reuses.
   */
  chunkStored(hash: string, sealed: Uint8Array, durable: Promise<void>): void {
    if (this.stopped) return;
    const size = sealed.byteLength;
    // With its bytes while the ring has room (flow control: a folder of small files stored faster
    // than the peers take them never balloons the Worker); by name once it is in chunks/ (a chunk
    // is renamed into place when durable).
    const at = size <= BATCH_CHUNK_MAX ? this.ring.put(sealed) : null;
    if (at !== null) this.worker.postMessage({ type: "chunk", hash, size, at } satisfies ToWorker);
    else
      void durable.then(
        () => !this.stopped && this.worker.postMessage({ type: "chunk", hash, size, at: null } satisfies ToWorker),
        () => {},
      );
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private async job(kind: "sync" | "probe"): Promise<SyncReport | RoundReport> {
    await this.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (kind === "sync") {
        this.deps.beforeRound(); // the round's statements carry current relay figures
        this.post({ type: "run", id, kind, card: this.deps.card() });
      } else this.post({ type: "run", id, kind });
    });
  }

  probe(): Promise<RoundReport> {
    return this.job("probe") as Promise<RoundReport>;
  }

  /** A full sync round; resolves with its report once it has run. */
  sync(): Promise<SyncReport> {
    // Jobs run in order in the Worker. A sync asked for while one runs starts after it; callers
    // asking while that one still waits share it (it will see their changes).
    if (this.queued) return this.queued;
    const before = this.current;
    // `current` is cleared before callers see the result, so `running` is false by then.
    const p: Promise<SyncReport> = this.runSync().finally(() => {
      if (this.current === p) this.current = null;
    });
    this.current = p;
    if (before) {
      this.queued = p;
      void before
        .catch(() => {})
        .finally(() => {
          if (this.queued === p) this.queued = null;
        });
    }
    return p;
  }

  private async runSync(): Promise<SyncReport> {
    try {
      const r = (await this.job("sync").finally(() => (this.progress = null))) as SyncReport;
      this.last = r;
      this.rounds.add(r);
      if (r.restored) this.recovery = { at: r.started_at, restored: r.restored, errors: r.errors };
      this.deps.afterRound();
      this.lastError = null;
      if (r.chunks_pushed || r.chunks_pulled || r.released || r.audit_failed || r.restored || r.errors.length) {
        log("info", "sync round", {
          pushed: r.chunks_pushed,
          pulled: r.chunks_pulled,
          healed: r.healed,
          released: r.released,
          audited: r.audited,
          audit_failed: r.audit_failed,
          errors: r.errors.length,
          ms: r.duration_ms,
        });
      }
      return r;
    } catch (e) {
      this.lastError = errorMessage(e);
      throw e;
    }
  }

  /** The last rounds since the cell started, oldest first. */
  history(): RoundPoint[] {
    return this.rounds.list();
  }

  /** True while a sync round runs or waits. */
  get running(): boolean {
    return this.current !== null;
  }

  private nudgeTimer: ReturnType<typeof setTimeout> | null = null;

  /** Something changed (a file was stored): a round `afterS` seconds from the last nudge. */
  nudge(afterS: number): void {
    if (afterS <= 0 || this.stopped) return;
    if (this.nudgeTimer) clearTimeout(this.nudgeTimer);
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = null;
      void this.sync().catch((e) => log("error", `sync round failed: ${errorMessage(e)}`));
    }, afterS * 1000);
  }

  /** A round every `intervalS` seconds, and one now. */
  start(intervalS: number): void {
    this.tick();
    this.every(intervalS);
  }

  private tick = () => void this.sync().catch((e) => log("error", `sync round failed: ${errorMessage(e)}`));

  /** A round every `intervalS` seconds from now (config sync_interval_s changed: no round at once). */
  every(intervalS: number): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = this.stopped ? null : setInterval(this.tick, intervalS * 1000);
  }

  private stopped = false;

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.nudgeTimer) clearTimeout(this.nudgeTimer);
    this.worker.terminate();
    this.deps.checkpointOnCommit?.(true);
  }
}
