/**
 * @module fleet/peer-directory — who this cell's peers are and how to reach them, read-only: the
 * one interface features take (share, message, ai, update, web) instead of the whole fleet.
 *
 * `PeerBook` implements it over the peers table (fleet/peer-store) and the route figures the sync
 * Worker measures (net/peer-stats, re-read after each round with `reloadStats`).
 */
import type { CellId } from "../core/types.ts";
import type { Card } from "../protocol/card.ts";
import type { Layout } from "../core/layout.ts";
import { PeerStats } from "../net/peer-stats.ts";
import { rankRoutes, routeScore, type Route } from "../net/route-score.ts";
import { isRelayRoute } from "../net/route-class.ts";
import type { PeerRow, PeerStore } from "./peer-store.ts";

export interface PeerDirectory {
  get(id: string): PeerRow | null;
  list(): PeerRow[];
  /** The peer named by an id or a unique id prefix; 404/400 GroveError otherwise. */
  resolve(idOrPrefix: string): PeerRow;
  /** Its card as stored, or null when it is not a peer. */
  card(id: string): Card | null;
  /** Where to reach it now: its best measured route, else its card's first address; null when it is not a peer. */
  routeOf(id: CellId): string | null;
  /** Routes to try, best first: measured ones, then the card's other addresses (direct before relays). */
  routes(id: CellId): string[];
  /** Its best measured route, or null when none was measured. */
  best(id: CellId): Route | null;
  /** Every route measured lately, as measured. */
  measured(id: CellId): Route[];
  /** Score of the best measured route (lower is better), null when none answered lately. */
  score(id: CellId): number | null;
  uptimePct(id: CellId): number | null;
}

export class PeerBook implements PeerDirectory {
  private statsNow: PeerStats;

  constructor(
    private readonly store: PeerStore,
    private readonly layout: Pick<Layout, "peerSpeeds" | "peerHealth">,
  ) {
    this.statsNow = PeerStats.load(layout);
  }

  /** Route and uptime figures as last read (the sync Worker writes them). */
  get stats(): PeerStats {
    return this.statsNow;
  }

  /** Re-read peer_speeds.json / peer_health.json after the Worker wrote them. */
  reloadStats(): void {
    this.statsNow = PeerStats.load(this.layout);
  }

  get(id: string): PeerRow | null {
    return this.store.get(id);
  }

  list(): PeerRow[] {
    return this.store.list();
  }

  resolve(idOrPrefix: string): PeerRow {
    return this.store.resolve(idOrPrefix);
  }

  card(id: string): Card | null {
    const row = this.store.get(id);
    return row ? (JSON.parse(row.card) as Card) : null;
  }

  best(id: CellId): Route | null {
    return this.statsNow.speeds.best(id);
  }

  measured(id: CellId): Route[] {
    return this.statsNow.speeds.routes(id);
  }

  routeOf(id: CellId): string | null {
    const best = this.best(id);
    if (best?.reachable) return best.url;
    return this.card(id)?.addresses[0] ?? null;
  }

  routes(id: CellId): string[] {
    const ranked = rankRoutes(this.statsNow.speeds.routes(id)).map((r) => r.url);
    const card = this.card(id)?.addresses ?? [];
    return [...new Set([...ranked, ...card.filter((u) => !isRelayRoute(u)), ...card.filter(isRelayRoute)])];
  }

  score(id: CellId): number | null {
    const best = this.best(id);
    return best ? routeScore(best) : null;
  }

  uptimePct(id: CellId): number | null {
    return this.statsNow.health.uptimePct(id);
  }
}
