/**
 * @module sync/eager-push — push on store (docs/design.md, "Push on store"): each new chunk a put
 * seals is handed to the sync Worker at once (the main thread posts its sealed bytes) and sent to
 * its peers while the rest of the file is still being sealed, so two copies exist after about
 * max(ingest, transfer) rather than their sum.
 *
 * - Where: the placement rules (sync/placement-plan) on what the Worker knows now: peers whose
 *   best route answered the last probe, heard from within `peer_lost_after_s`; copies already
 *   confirmed count.
 * - Memory: small chunks come with their sealed bytes, in the ring the main thread shares with
 *   the Worker (sync/held-ring, MAX_HELD_BYTES); large ones (and small ones that find the ring
 *   full) come by name, and are read from chunks/ when their turn comes. Each group
 *   in flight (PARALLEL) uses one pooled buffer: a large chunk is read into it and sent from it, a
 *   batch of small ones is built in it as the request body (sync/batch-body), so nothing is
 *   allocated per chunk and a fast put never balloons the Worker.
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
import { batchesOf, bodyIfWhole, placeChunks, sendChunks, type PlaceItem } from "./chunk-push.ts";
import { BatchBody } from "./batch-body.ts";
import type { SyncContext } from "./round.ts";
import * as W from "./wire.ts";
import { BufferPool } from "../ingest/buffer-pool.ts";
import { paceCollection } from "../core/gc-pacer.ts";
import { DrainPool } from "../core/drain-pool.ts";
import { routeScore } from "../net/route-score.ts";
/**
 * Groups in flight at once (a batch of small chunks, or one large chunk). Each large chunk in
 * flight holds a pooled 4 MiB buffer in the Worker; measured on a 1 GiB drop-in (bench/replicate
 * a, two runs each), two in flight reached B in 7.1-8.3 s and three in 7.0-7.9 s, with cell A's
 * peak at 160-172 and 166-172 MiB; one at a time took 8.9-9.8 s (A 146 MiB).
 */
const PARALLEL = 2;
/** A peer that refused (full, allowance) is left to the rounds for this long. */
const REFUSED_FOR_MS = 60_000;

interface Queued {
  hash: ChunkHash;
  size: number;
  /** Its place in the ring (its bytes there), or null: read from chunks/. */
  at: number | null;
}

export class EagerPush {
  private queue: Queued[] = [];
  /** PARALLEL groups at most in flight; a chunk added while fewer are goes at once (core/drain-pool). */
  private readonly pool = new DrainPool(
    PARALLEL,
    () => this.queue.length > 0,
    () => this.step(),
  );
  private links = new Map<CellId, PeerLink>();
  private noBatch = new Set<CellId>();
  private refusedUntil = new Map<CellId, number>();
  /** One per group in flight, reused: a large chunk read into it (direct I/O), or a batch body built in it (sync/batch-body). */
  private readonly buffers = new BufferPool(CHUNK_BUFFER_SIZE, PARALLEL);
  /** Chunks queued or in flight: a round started meanwhile leaves them to this. */
  private readonly inFlight = new Set<ChunkHash>();
  /** What was placed since the Worker started (for logs and tests). */
  readonly counts = { placed: 0, bytes: 0, left_to_round: 0 };

  /**
   * `ring`: the memory shared with the main thread (sync/held-ring); `released(at)`: those places
   * in it are let go of (the main thread may reuse them; sync/sync-service).
   */
  constructor(
    private readonly ctx: SyncContext,
    private readonly ring: Uint8Array = new Uint8Array(0),
    private readonly released: (at: number[]) => void = () => {},
  ) {}

  /** A chunk stored by this cell just now, of `size` sealed bytes; `at`: where they are in the ring, or null. */
  add(hash: ChunkHash, size: number, at: number | null): void {
    const { config } = this.ctx;
    const inRing = at !== null && at >= 0 && at + size <= this.ring.byteLength;
    if (!config.push_on_store || config.replication_factor < 2 || this.inFlight.has(hash)) {
      if (at !== null) this.released([at]);
      return;
    }
    if (at !== null && !inRing) this.released([at]);
    this.queue.push({ hash, size, at: inRing ? at : null });
    this.inFlight.add(hash);
    this.pool.kick();
  }

  /** True while `hash` waits here or is being sent. */
  pending(hash: ChunkHash): boolean {
    return this.inFlight.has(hash);
  }

  /** Resolves once every chunk handed in so far was placed or left to the rounds. */
  async idle(): Promise<void> {
    await this.pool.idle();
  }

  /** Place the next group, if any (taken before the first await: core/drain-pool); false when none waits. */
  private async step(): Promise<boolean> {
    const group = this.takeGroup();
    if (!group.length) return false;
    try {
      await this.place(group);
    } catch (e) {
      log("warn", `push on store: ${errorMessage(e)}; the next round places these chunks`, { chunks: group.length });
      this.counts.left_to_round += group.length;
    } finally {
      const letGo: number[] = [];
      for (const q of group) {
        this.inFlight.delete(q.hash);
        if (q.at !== null) letGo.push(q.at);
      }
      if (letGo.length) this.released(letGo);
    }
    return true;
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
    // One pooled buffer per group: a large chunk is read into it and sent from it; a group of
    // small ones is built in it as the batch's body, each chunk copied in (its bytes came with it)
    // or read from chunks/ into its frame. Nothing else is allocated per chunk.
    const buf = this.buffers.take();
    try {
      const items: PlaceItem[] = [];
      const batch = group[0]!.size <= W.BATCH_CHUNK_MAX ? new BatchBody(buf) : null;
      for (const task of plan.push) {
        const q = byHash.get(task.hash)!;
        const into = batch ? batch.frame(task.hash, q.size) : buf;
        if (!into) {
          this.counts.left_to_round++; // cannot happen (takeGroup sized the batch): a round places it
          continue;
        }
        let bytes: Uint8Array;
        if (q.at !== null && batch) bytes = (into.set(this.ring.subarray(q.at, q.at + q.size)), into);
        else {
          try {
            bytes = batch ? await store.readExactInto(task.hash, into) : await store.readInto(task.hash, into);
          } catch {
            batch?.undo();
            this.counts.left_to_round++; // not in chunks/ (a put undone): a round decides
            continue;
          }
        }
        items.push({ task, bytes });
      }
      await this.send(items, batch?.body);
    } finally {
      this.buffers.give(buf);
      void paceCollection(group.reduce((n, q) => n + q.size, 0)); // a pushed group's garbage (core/gc-pacer)
    }
  }

  /** Place `items` on their candidates: one request per peer (sync/chunk-push). */
  private async send(items: PlaceItem[], body: Uint8Array | undefined): Promise<void> {
    const { placements } = this.ctx;
    const full = new Set<CellId>();
    const send = (peer: CellId, chunks: { hash: ChunkHash; bytes: Uint8Array }[]) => {
      const link = this.link(peer);
      if (!link) return Promise.resolve(chunks.map(() => "failed" as const));
      return sendChunks(link, chunks, {
        body: bodyIfWhole(chunks, items, body),
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
      placed: (peer, its) => {
        placements.confirmMany(
          peer,
          its.map((it) => ({ hash: it.task.hash, size: it.bytes.byteLength })),
        );
        for (const it of its) {
          this.counts.placed++;
          this.counts.bytes += it.bytes.byteLength;
        }
      },
      refused: (peer) => this.refusedUntil.set(peer, Date.now() + REFUSED_FOR_MS),
    });
  }
}
