/**
 * @module sync/eager-push — push on store (docs/design.md, "Push on store"): each new chunk a put
 * seals is handed to the sync Worker at once (the main thread posts its sealed bytes) and sent to
 * its peers while the rest of the file is still being sealed, so two copies exist after about
 * max(ingest, transfer) rather than their sum.
 *
 * - Where: the placement rules (sync/placement-plan) on what the Worker knows now: peers whose
 *   best route answered the last probe, heard from within `peer_lost_after_s`; copies already
 *   confirmed count.
 * - Memory: small chunks come with their sealed bytes, kept up to MAX_HELD_BYTES; large ones (and
 *   small ones past that) come by name, and are read from chunks/ into reused buffers when their
 *   turn comes, so a fast put never balloons the Worker.
 * - Durability as for a round: a peer acknowledges a chunk once it is durable there, and only
 *   acknowledged copies are recorded (placements). What is not placed here (no peer reached, a
 *   refusal everywhere) the next round places.
 * - A round waits for the queue to drain before it plans (the Worker runs jobs in turn), so no
 *   chunk is pushed twice.
 */
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { shortId } from "../core/format.ts";
import { CHUNK_BUFFER_SIZE, type CellId, type ChunkHash } from "../core/types.ts";
import type { Card } from "../protocol/card.ts";
import { PeerLink } from "./peer-link.ts";
import { planPlacement, type PlanPeer } from "./placement-plan.ts";
import { batchesOf, placeChunks, sendChunks, type PlaceItem } from "./chunk-push.ts";
import type { SyncContext } from "./round.ts";
import * as W from "./wire.ts";
import { BufferPool } from "../ingest/buffer-pool.ts";
import { routeScore } from "../net/route-score.ts";
import { MAX_HELD_BYTES } from "./sync-messages.ts";

export { MAX_HELD_BYTES };
/** Groups in flight at once (a batch of small chunks, or one large chunk). */
const PARALLEL = 3;
/** A peer that refused (full, allowance) is left to the rounds for this long. */
const REFUSED_FOR_MS = 60_000;

interface Queued {
  hash: ChunkHash;
  size: number;
  bytes: Uint8Array | null;
}

export class EagerPush {
  private queue: Queued[] = [];
  private held = 0;
  private running: Promise<void> | null = null;
  private links = new Map<CellId, PeerLink>();
  private noBatch = new Set<CellId>();
  private refusedUntil = new Map<CellId, number>();
  /** Buffers chunks named without their bytes are read into (direct I/O), reused: a group holds one per chunk. */
  private readonly buffers = new BufferPool(CHUNK_BUFFER_SIZE, PARALLEL * 2);
  /** Chunks queued or in flight: a round started meanwhile leaves them to this. */
  private readonly inFlight = new Set<ChunkHash>();
  /** What was placed since the Worker started (for logs and tests). */
  readonly counts = { placed: 0, bytes: 0, left_to_round: 0 };

  /** `released(bytes)`: bytes handed in with a chunk are let go of (the main thread's budget; sync/sync-service). */
  constructor(
    private readonly ctx: SyncContext,
    private readonly released: (bytes: number) => void = () => {},
  ) {}

  /** A chunk stored by this cell just now, of `size` sealed bytes; `bytes`: them (a copy this module owns), or null. */
  add(hash: ChunkHash, size: number, bytes: Uint8Array | null): void {
    const { config } = this.ctx;
    if (!config.push_on_store || config.replication_factor < 2 || this.inFlight.has(hash)) {
      if (bytes) this.released(size);
      return;
    }
    const keep = bytes !== null && this.held + size <= MAX_HELD_BYTES;
    if (keep) this.held += size;
    else if (bytes) this.released(size);
    this.queue.push({ hash, size, bytes: keep ? bytes : null });
    this.inFlight.add(hash);
    this.kick();
  }

  /** Drain the queue unless a drain runs; one added as the last drain was ending starts the next. */
  private kick(): void {
    this.running ??= this.drain().finally(() => {
      this.running = null;
      if (this.queue.length) this.kick();
    });
  }

  /** True while `hash` waits here or is being sent. */
  pending(hash: ChunkHash): boolean {
    return this.inFlight.has(hash);
  }

  /** Resolves once every chunk handed in so far was placed or left to the rounds. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (;;) {
          const group = this.takeGroup();
          if (!group.length) return;
          try {
            await this.place(group);
          } catch (e) {
            log("warn", `push on store: ${errorMessage(e)}; the next round places these chunks`, { chunks: group.length });
            this.counts.left_to_round += group.length;
          } finally {
            let letGo = 0;
            for (const q of group) {
              this.inFlight.delete(q.hash);
              if (q.bytes) letGo += q.size;
            }
            this.held -= letGo;
            if (letGo) this.released(letGo);
          }
        }
      }),
    );
  }

  /** The next group: small chunks together (a batch), or one large chunk alone. */
  private takeGroup(): Queued[] {
    const first = this.queue[0];
    if (!first) return [];
    if (first.size > W.BATCH_CHUNK_MAX) return this.queue.splice(0, 1);
    let n = 0;
    while (n < this.queue.length && n < W.MAX_BATCH_CHUNKS && this.queue[n]!.size <= W.BATCH_CHUNK_MAX) n++;
    return this.queue.splice(0, batchesOf(this.queue.slice(0, n), (q) => q.size)[0]!.length);
  }

  /** The peers as the placement rules see them now. */
  private planPeers(): PlanPeer[] {
    const { config, peers, prober } = this.ctx;
    const now = Date.now();
    const lostBefore = now - config.peer_lost_after_s * 1000;
    return peers.list().map((p) => {
      const best = prober.stats.speeds.best(p.id);
      return {
        id: p.id,
        counted: p.last_seen !== null && p.last_seen >= lostBefore,
        reachable: best?.reachable === true && (this.refusedUntil.get(p.id) ?? 0) < now,
        favorite: p.favorite,
        score: best ? routeScore(best) : null,
      };
    });
  }

  private link(peer: CellId): PeerLink | null {
    const best = this.ctx.prober.stats.speeds.best(peer);
    const row = this.ctx.peers.get(peer);
    if (!best?.reachable || !row) return null;
    const cur = this.links.get(peer);
    if (cur && cur.url === best.url) return cur;
    const link = new PeerLink(this.ctx.caller, peer, best.url, (JSON.parse(row.card) as Card).x25519);
    this.links.set(peer, link);
    return link;
  }

  private async place(group: Queued[]): Promise<void> {
    const { placements, store, config } = this.ctx;
    if (!group.length) return;
    const peers = this.planPeers();
    if (!peers.some((p) => p.reachable)) {
      this.counts.left_to_round += group.length;
      log("info", "push on store: no peer reachable now; the next round places these chunks", { chunks: group.length });
      return;
    }
    const holders = new Map(group.map((q) => [q.hash, placements.holdersOf(q.hash)]));
    const plan = planPlacement(
      group.map((q) => ({ hash: q.hash, local: true, holders: holders.get(q.hash) ?? [] })),
      peers,
      config.replication_factor,
    );
    if (!plan.push.length) return;
    const byHash = new Map(group.map((q) => [q.hash, q]));
    const items: PlaceItem[] = [];
    const taken: Uint8Array[] = [];
    try {
      for (const task of plan.push) {
        const q = byHash.get(task.hash)!;
        let bytes = q.bytes;
        if (!bytes) {
          // A large chunk is sent from the buffer it is read into; a small one is copied out, so a
          // batch holds one buffer at a time.
          const buf = this.buffers.take();
          const small = q.size <= W.BATCH_CHUNK_MAX;
          if (!small) taken.push(buf);
          try {
            bytes = await store.readInto(task.hash, buf);
            if (small) bytes = bytes.slice();
          } catch {
            this.counts.left_to_round++; // not in chunks/ (a put undone): a round decides
            continue;
          } finally {
            if (small) this.buffers.give(buf);
          }
        }
        items.push({ task, bytes });
      }
      await this.send(items);
    } finally {
      for (const b of taken) this.buffers.give(b);
    }
  }

  /** Place `items` on their candidates: one request per peer (sync/chunk-push). */
  private async send(items: PlaceItem[]): Promise<void> {
    const { placements } = this.ctx;
    const full = new Set<CellId>();
    const send = (peer: CellId, chunks: { hash: ChunkHash; bytes: Uint8Array }[]) => {
      const link = this.link(peer);
      if (!link) return Promise.resolve(chunks.map(() => "failed" as const));
      return sendChunks(link, chunks, {
        noBatch: this.noBatch,
        transfer: (fn) => fn(),
        error: (what, e) =>
          log("info", `push on store: ${what} to ${shortId(peer)} failed; the next round tries again`, { error: errorMessage(e) }),
      });
    };
    await placeChunks(items, {
      full,
      usable: async (peer) => this.link(peer) !== null,
      send,
      placed: (peer, it) => {
        placements.confirm(peer, it.task.hash, it.bytes.byteLength);
        this.counts.placed++;
        this.counts.bytes += it.bytes.byteLength;
      },
      refused: (peer) => this.refusedUntil.set(peer, Date.now() + REFUSED_FOR_MS),
    });
  }
}
