// Route choice: direct before relay; score = latency_ms − MB/s × 0.1, lowest reachable wins, ties by kind then URL.
import { expect, test } from "bun:test";
import { bestRoute, compareRoutes, rankRoutes, routeScore, score, type Route } from "../../src/net/route-score.ts";
import type { RouteKind } from "../../src/net/route-class.ts";

function route(url: string, kind: RouteKind, latency_ms: number | null, mb_s: number | null, reachable = true): Route {
  return { url, kind, reachable, latency_ms, mb_s, last_probe_at: 1000, last_benchmark_at: mb_s === null ? null : 1000 };
}

const scores: [number, number | null, number][] = [
  [10, 0, 10],
  [10, 50, 5],
  [10, null, 10],
  [1, 100, -9],
  [0, 0, 0],
  [200, 1000, 100],
  [3.5, 12.5, 2.25],
];
for (const [lat, mb, want] of scores) test(`score(${lat}, ${mb}) = ${want}`, () => expect(score(lat, mb)).toBeCloseTo(want, 9));

test("the lowest score wins, throughput included", () => {
  const slowLink = route("http://10.0.0.2:5678", "lan", 5, 1); // 4.9
  const fastLink = route("http://100.64.0.2:5678", "tailscale", 8, 100); // -2
  expect(bestRoute([slowLink, fastLink])?.url).toBe(fastLink.url);
  expect(rankRoutes([slowLink, fastLink]).map((r) => r.url)).toEqual([fastLink.url, slowLink.url]);
});

test("the choice changes when the speeds swap", () => {
  const a = "http://10.0.0.2:5678";
  const b = "http://[200::2]:5678";
  const before = [route(a, "lan", 2, 80), route(b, "yggdrasil", 40, 5)];
  expect(bestRoute(before)?.url).toBe(a);
  const after = [route(a, "lan", 40, 5), route(b, "yggdrasil", 2, 80)];
  expect(bestRoute(after)?.url).toBe(b);
  // only throughput swaps: 20 ms − 10 vs 20 ms − 0.5
  expect(bestRoute([route(a, "lan", 20, 5), route(b, "yggdrasil", 20, 100)])?.url).toBe(b);
  expect(bestRoute([route(a, "lan", 20, 100), route(b, "yggdrasil", 20, 5)])?.url).toBe(a);
});

test("unreachable routes and routes without a latency never win", () => {
  const down = route("http://10.0.0.2:5678", "lan", 1, 1000, false);
  const noLatency = route("http://10.0.0.3:5678", "lan", null, null);
  const up = route("wss://relay.example", "relay", 300, 1);
  expect(bestRoute([down, noLatency, up])?.url).toBe(up.url);
  expect(routeScore(down)).toBeNull();
  expect(routeScore(noLatency)).toBeNull();
  expect(rankRoutes([down, noLatency, up])).toHaveLength(1);
});

test("null when no route is reachable (or there are none)", () => {
  expect(bestRoute([])).toBeNull();
  expect(bestRoute([route("http://10.0.0.2:5678", "lan", 1, 10, false), route("http://8.8.8.8", "wan", null, null)])).toBeNull();
});

test("an unbenchmarked route scores by latency alone", () => {
  const measured = route("http://8.8.8.8:5678", "wan", 12, 10); // 11
  const fresh = route("http://9.9.9.9:5678", "wan", 10.5, null); // 10.5
  expect(routeScore(fresh)).toBe(10.5);
  expect(bestRoute([measured, fresh])?.url).toBe(fresh.url);
  expect(bestRoute([measured, { ...fresh, latency_ms: 11.5 }])?.url).toBe(measured.url);
});

test("ties go to the preferred kind: lan, tailscale, yggdrasil, wan, relay", () => {
  const same = (url: string, kind: RouteKind) => route(url, kind, 10, 20); // all score 8
  const all = [
    same("wss://relay.example", "relay"),
    same("http://8.8.8.8:5678", "wan"),
    same("http://[200::2]:5678", "yggdrasil"),
    same("http://100.64.0.2:5678", "tailscale"),
    same("http://10.0.0.2:5678", "lan"),
  ];
  expect(rankRoutes(all).map((r) => r.kind)).toEqual(["lan", "tailscale", "yggdrasil", "wan", "relay"]);
  expect(rankRoutes([...all].reverse()).map((r) => r.kind)).toEqual(["lan", "tailscale", "yggdrasil", "wan", "relay"]);
});

test("a relay route comes after every direct route that answers, even with a better score; alone, it is used", () => {
  const relay = route("ws://relay.example/v1/relay", "relay", 1, 900);
  const slowWan = route("http://8.8.8.8:5678", "wan", 250, 1);
  expect(rankRoutes([relay, slowWan]).map((r) => r.kind)).toEqual(["wan", "relay"]);
  expect(compareRoutes(relay, slowWan)).toBeGreaterThan(0);
  expect(bestRoute([relay, { ...slowWan, reachable: false }])?.kind).toBe("relay");
});

test("scores equal up to float noise tie; then the URL decides", () => {
  // 16.4 − 64 × 0.1 is 9.999999999999998 in floating point; 10 − 0 is 10
  expect(score(16.4, 64)).not.toBe(10);
  const a = route("http://10.0.0.9:5678", "lan", 16.4, 64);
  const b = route("http://10.0.0.1:5678", "lan", 10, null);
  expect(bestRoute([a, b])?.url).toBe(b.url);
  expect(bestRoute([b, a])?.url).toBe(b.url);
  const lanTie = route("http://10.0.0.1:5678", "lan", 18.1, 81); // 10.000000000000002
  const tsTie = route("http://100.64.0.1:5678", "tailscale", 10, null);
  expect(bestRoute([tsTie, lanTie])?.url).toBe(lanTie.url);
  expect(compareRoutes(b, b)).toBe(0);
});

test("rankRoutes does not reorder its input", () => {
  const input = [route("http://8.8.8.8", "wan", 50, null), route("http://10.0.0.1", "lan", 1, null)];
  rankRoutes(input);
  expect(input.map((r) => r.kind)).toEqual(["wan", "lan"]);
});
