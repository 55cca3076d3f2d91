/**
 * @module sync/placement-plan — decides, from what is known, where each of our chunks should be
 * (docs/design.md: Placement). Pure: no I/O, so the rules are tested on their own.
 *
 * - Copies of a chunk = this cell's copy (if held) + confirmed copies on peers that still count
 *   (not lost: heard from within `peer_lost_after_s`).
 * - Under R: push to reachable peers that do not hold it, favorites first, then by route score
 *   (lower wins), then id. The list is ordered so a refusal moves on to the next peer.
 * - Over R (strict cap): release from reachable holders, the least preferred first (never this
 *   cell's own copy).
 */
import type { CellId, ChunkHash } from "../core/types.ts";

export interface PlanPeer {
  id: CellId;
  /** Heard from within peer_lost_after_s: its copies count. */
  counted: boolean;
  /** Answered this round: can be pushed to or released from now. */
  reachable: boolean;
  favorite: boolean;
  /** Best route score (lower is better); null when unmeasured. */
  score: number | null;
}

export interface PlanChunk {
  hash: ChunkHash;
  local: boolean;
  holders: readonly CellId[];
}

export interface PushTask {
  hash: ChunkHash;
  /** Copies still wanted. */
  need: number;
  /** Where to try, best first (more than `need` when available: refusals move on). */
  candidates: CellId[];
  /** Some peer held it before (a lost or failed copy): pushing it is healing. */
  wasPlaced: boolean;
}

export interface Plan {
  push: PushTask[];
  release: { peer: CellId; hash: ChunkHash }[];
  /** Chunks with fewer than R counted copies before this plan runs. */
  under: number;
  /** Chunks with no copy anywhere we know of (not here, not on any counted peer). */
  lost: ChunkHash[];
}

/** Peers in placement preference: favorites, then lower score, then id. */
export function rankPeers(peers: readonly PlanPeer[]): PlanPeer[] {
  return [...peers].sort((a, b) => {
    if (a.favorite !== b.favorite) return a.favorite ? -1 : 1;
    const sa = a.score ?? Number.POSITIVE_INFINITY;
    const sb = b.score ?? Number.POSITIVE_INFINITY;
    if (sa !== sb) return sa < sb ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

export function planPlacement(chunks: readonly PlanChunk[], peers: readonly PlanPeer[], factor: number): Plan {
  const ranked = rankPeers(peers);
  const byId = new Map(peers.map((p) => [p.id, p]));
  const plan: Plan = { push: [], release: [], under: 0, lost: [] };
  for (const c of chunks) {
    const counted = c.holders.filter((h) => byId.get(h)?.counted);
    const copies = (c.local ? 1 : 0) + counted.length;
    if (copies === 0) {
      plan.lost.push(c.hash);
      continue;
    }
    if (copies < factor) {
      plan.under++;
      if (!c.local) continue; // only a cell holding the bytes can push them (it pulls first)
      const holding = new Set(c.holders);
      const candidates = ranked.filter((p) => p.reachable && !holding.has(p.id)).map((p) => p.id);
      if (candidates.length) plan.push.push({ hash: c.hash, need: factor - copies, candidates, wasPlaced: c.holders.length > 0 });
    } else if (copies > factor) {
      const releasable = ranked.filter((p) => p.reachable && counted.includes(p.id)).reverse();
      for (const p of releasable.slice(0, copies - factor)) plan.release.push({ peer: p.id, hash: c.hash });
    }
  }
  return plan;
}
