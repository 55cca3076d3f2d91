/**
 * @module net/route-score — picks the best route to a peer (docs/design.md: Talking between cells).
 *
 * score = latency_ms − MB/s × 0.1, lower wins (1 MB = 10^6 bytes). A route that was never
 * benchmarked (mb_s null) scores by its latency alone. Only reachable routes with a measured
 * latency compete. A relay route comes after every direct route that answers, whatever the
 * scores (it is the fallback: it costs the relay operator bandwidth and adds a hop), so a cell
 * moves back to a direct route as soon as one answers again. Scores within SCORE_EPSILON are a
 * tie, broken by kind (lan, tailscale, yggdrasil, wan, relay: ROUTE_KINDS) and then by URL, so
 * the choice is deterministic.
 */
import { ROUTE_KINDS, type RouteKind } from "./route-class.ts";

/** One way to reach a peer, with what the last probe and benchmark measured. */
export interface Route {
  url: string;
  kind: RouteKind;
  /** Outcome of the last probe. */
  reachable: boolean;
  /** Smoothed round-trip time; null until a probe has succeeded. */
  latency_ms: number | null;
  /** Smoothed throughput in MB/s; null when never benchmarked. */
  mb_s: number | null;
  /** Unix ms of the last probe / benchmark, null when there was none. */
  last_probe_at: number | null;
  last_benchmark_at: number | null;
}

/** Weight of throughput against latency: 10 MB/s is worth 1 ms. */
export const MB_S_WEIGHT = 0.1;
/** Scores closer than this are equal (guards against float noise such as 0.1 × 3). */
export const SCORE_EPSILON = 1e-9;

/** latency_ms − MB/s × 0.1; lower is better. `mbPerSec` null (never benchmarked) counts as 0. */
export function score(latencyMs: number, mbPerSec: number | null): number {
  return latencyMs - (mbPerSec ?? 0) * MB_S_WEIGHT;
}

/** The route's score, or null when it cannot compete (unreachable or no latency measured). */
export function routeScore(route: Route): number | null {
  if (!route.reachable || route.latency_ms === null || !Number.isFinite(route.latency_ms)) return null;
  const mb = route.mb_s !== null && Number.isFinite(route.mb_s) ? route.mb_s : null;
  return score(route.latency_ms, mb);
}

/** Total order of two competing routes: direct before relay, score, then kind preference, then URL. */
export function compareRoutes(a: Route, b: Route): number {
  if ((a.kind === "relay") !== (b.kind === "relay")) return a.kind === "relay" ? 1 : -1;
  const sa = routeScore(a) ?? Infinity;
  const sb = routeScore(b) ?? Infinity;
  if (Math.abs(sa - sb) > SCORE_EPSILON) return sa < sb ? -1 : 1;
  const ka = ROUTE_KINDS.indexOf(a.kind);
  const kb = ROUTE_KINDS.indexOf(b.kind);
  if (ka !== kb) return ka - kb;
  return a.url < b.url ? -1 : a.url > b.url ? 1 : 0;
}

/** The routes that can compete, best first (the next ones are fallbacks when the best fails). */
export function rankRoutes(routes: readonly Route[]): Route[] {
  return routes.filter((r) => routeScore(r) !== null).sort(compareRoutes);
}

/** The reachable route with the lowest score, or null when no route is reachable. */
export function bestRoute(routes: readonly Route[]): Route | null {
  return rankRoutes(routes)[0] ?? null;
}
