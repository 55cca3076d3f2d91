/**
 * @module sync/chunk-push — placing small chunks on peers in batches, for the sync round and for
 * the push on store (sync/eager-push): which peer each chunk goes to next, one request per peer
 * (POST /peer/sync/chunks), and what became of each (docs/design.md, "Placement").
 *
 * A chunk refused ("full", "over_allowance") or not reached moves on to its next candidate; a
 * peer that refuses is not asked again by this placement. A peer without batches (a build before
 * them answers 404) gets its chunks one by one.
 */
import { PeerCallError } from "../net/peer-client.ts";
import type { CellId, ChunkHash } from "../core/types.ts";
import type { PeerLink } from "./peer-link.ts";
import type { PushTask } from "./placement-plan.ts";
import * as W from "./wire.ts";

/** What became of a chunk sent to a peer ("failed": not sent, the error already reported). */
export type ChunkOutcome = W.ChunkBatchResult | "failed";

/** A chunk to place: its task (where it may go, how many copies) and its sealed bytes. */
export interface PlaceItem {
  task: PushTask;
  bytes: Uint8Array;
}

export interface PlaceHooks {
  /** Peers that refused (full, over allowance) in this placement: skipped. */
  full: Set<CellId>;
  /** Still worth calling now. */
  usable(peer: CellId): Promise<boolean>;
  /** Send these chunks to `peer` (see sendChunks). */
  send(peer: CellId, chunks: { hash: ChunkHash; bytes: Uint8Array }[]): Promise<ChunkOutcome[]>;
  /**
   * `peer` holds these chunks now, durably ("stored", or "had" them already): one call per answer,
   * so the caller records them in one commit (a commit per chunk was most of a round's database
   * writes for small files: issue 21).
   */
  placed(peer: CellId, items: PlaceItem[]): void;
  /** `peer` refused a chunk for lack of room or allowance. */
  refused(peer: CellId, why: "full" | "over_allowance"): void;
}

/** Place each item on as many of its candidates as it needs, one request per peer per pass. */
export async function placeChunks(items: readonly PlaceItem[], hooks: PlaceHooks): Promise<void> {
  const state = items.map((it) => ({ it, placed: 0, next: 0 }));
  for (;;) {
    const byPeer = new Map<CellId, typeof state>();
    for (const s of state) {
      while (s.placed < s.it.task.need && s.next < s.it.task.candidates.length) {
        const peer = s.it.task.candidates[s.next++]!;
        if (hooks.full.has(peer)) continue;
        byPeer.set(peer, [...(byPeer.get(peer) ?? []), s]);
        break;
      }
    }
    if (!byPeer.size) return;
    await Promise.all(
      [...byPeer].map(async ([peer, list]) => {
        if (!(await hooks.usable(peer))) return;
        const results = await hooks.send(
          peer,
          list.map((s) => ({ hash: s.it.task.hash, bytes: s.it.bytes })),
        );
        const placed: PlaceItem[] = [];
        list.forEach((s, i) => {
          const r = results[i];
          if (r === "stored" || r === "had") {
            s.placed++;
            placed.push(s.it);
          } else if (r === "full" || r === "over_allowance") {
            hooks.refused(peer, r); // told before it counts as full: the first refusal can be said once
            hooks.full.add(peer);
          }
        });
        if (placed.length) hooks.placed(peer, placed);
      }),
    );
  }
}

/**
 * Send chunks to one peer: a batch, or one by one when one is larger than a batch takes, to a
 * peer in `noBatch`, or to one that answers the batch with 404 (then added to `noBatch`). `transfer` runs each call (the round watches the
 * peer with it); `error` hears what failed.
 */
export async function sendChunks(
  link: PeerLink,
  chunks: readonly { hash: ChunkHash; bytes: Uint8Array }[],
  opts: {
    noBatch: Set<CellId>;
    transfer: <T>(fn: (signal?: AbortSignal) => Promise<T>) => Promise<T>;
    error: (what: string, e: unknown) => void;
    olderBuild?: () => void;
    /** These chunks' batch body, already encoded (sync/batch-body); else encoded when sent. */
    body?: Uint8Array;
  },
): Promise<ChunkOutcome[]> {
  // A large chunk goes alone, as always (a batch carries small ones only).
  const batchable = chunks.every((c) => c.bytes.byteLength <= W.BATCH_CHUNK_MAX);
  if (batchable && !opts.noBatch.has(link.peer)) {
    try {
      return await opts.transfer((signal) => link.putChunks(chunks, signal, opts.body));
    } catch (e) {
      if (!(e instanceof PeerCallError && e.status === 404)) {
        opts.error(`pushing ${chunks.length} chunks`, e);
        return chunks.map(() => "failed");
      }
      opts.noBatch.add(link.peer); // a build without batches: one by one from now on
      opts.olderBuild?.();
    }
  }
  const out: ChunkOutcome[] = [];
  for (const c of chunks) {
    try {
      await opts.transfer((signal) => link.putChunk(c.hash, c.bytes, signal));
      out.push("stored");
    } catch (e) {
      if (e instanceof PeerCallError && e.status === 507) out.push("full");
      else if (e instanceof PeerCallError && e.status === 402) out.push("over_allowance");
      else {
        opts.error(`pushing chunk ${c.hash.slice(0, 12)}`, e);
        out.push("failed");
      }
    }
  }
  return out;
}

/** Push tasks of small chunks in batches: at most MAX_BATCH_CHUNKS each, and a body of at most MAX_CHUNK_BATCH_BODY. */
export function batchesOf<T extends { hash: ChunkHash }>(tasks: readonly T[], sizeOf: (t: T) => number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const t of tasks) {
    const n = W.CHUNK_FRAME_HEAD + sizeOf(t);
    if (cur.length && (cur.length >= W.MAX_BATCH_CHUNKS || bytes + n > W.MAX_CHUNK_BATCH_BODY)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(t);
    bytes += n;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * `body` (a batch built for `items`, sync/batch-body) when `chunks` are exactly those items, in
 * order: then it is sent as it is; else (a subset, another peer's pass) undefined, encoded anew.
 */
export function bodyIfWhole(
  chunks: readonly { bytes: Uint8Array }[],
  items: readonly PlaceItem[],
  body: Uint8Array | undefined,
): Uint8Array | undefined {
  if (!body || chunks.length !== items.length) return undefined;
  for (let i = 0; i < chunks.length; i++) if (chunks[i]!.bytes !== items[i]!.bytes) return undefined;
  return body;
}
