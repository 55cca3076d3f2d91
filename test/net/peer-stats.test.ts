// peer_speeds.json and peer_health.json: measurements survive a restart, corrupt files are set
// aside, the moving averages, uptime and benchmark schedule follow the documented rules.
import { afterAll, afterEach, beforeEach, expect, spyOn, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PeerHealth, PeerSpeeds, PeerStats } from "../../src/net/peer-stats.ts";
import type { CellId } from "../../src/core/types.ts";

const root = mkdtempSync(join(tmpdir(), "grove-peer-stats-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const A = "a".repeat(64) as CellId;
const B = "b".repeat(64) as CellId;
const LAN = "http://192.168.1.5:5678";
const TS = "http://100.64.0.5:5678";
const RELAY = "wss://relay.example:5680";
const KB256 = 256 * 1024;
const HOUR = 3600_000;

let dir = "";
let n = 0;
let warnings: string[] = [];
let spy: ReturnType<typeof spyOn> | undefined;
beforeEach(() => {
  dir = join(root, String(n++));
  warnings = [];
  spy = spyOn(process.stderr, "write").mockImplementation(((chunk: string | Uint8Array) => {
    warnings.push(String(chunk));
    return true;
  }) as typeof process.stderr.write);
});
afterEach(() => spy?.mockRestore());

const paths = () => ({ peerSpeeds: join(dir, "peer_speeds.json"), peerHealth: join(dir, "peer_health.json") });

test("missing files load empty and nothing is written until save", () => {
  const stats = PeerStats.load(paths());
  expect(stats.speeds.peers()).toEqual([]);
  expect(stats.health.peers()).toEqual([]);
  expect(stats.speeds.get(A, LAN)).toBeNull();
  expect(stats.health.get(A)).toBeNull();
  expect(stats.speeds.best(A)).toBeNull();
  expect(existsSync(dir)).toBe(false);
  expect(warnings).toEqual([]);
});

test("a round trip survives a restart, with files in the documented shape", () => {
  const stats = PeerStats.load(paths());
  stats.recordRound(
    A,
    [
      { url: LAN, ok: true, latency_ms: 2 },
      { url: TS, ok: true, latency_ms: 30 },
      { url: RELAY, ok: false, latency_ms: null },
    ],
    1_000,
  );
  stats.speeds.recordBenchmark(A, LAN, KB256, 0.01, 1_500);
  stats.recordRound(B, [{ url: TS, ok: false, latency_ms: null }], 1_000);
  stats.save();

  const mode = 0o644 & ~process.umask();
  expect(statSync(paths().peerSpeeds).mode & 0o777).toBe(mode);
  expect(statSync(paths().peerHealth).mode & 0o777).toBe(mode);
  expect(readdirSync(dir).sort()).toEqual(["peer_health.json", "peer_speeds.json"]); // no temp files left

  const speedsJson = JSON.parse(readFileSync(paths().peerSpeeds, "utf8"));
  expect(Object.keys(speedsJson)).toEqual([A, B]);
  expect(Object.keys(speedsJson[A])).toEqual([TS, LAN, RELAY].sort());
  expect(speedsJson[A][LAN]).toEqual({
    latency_ms: 2,
    mb_s: 26.214,
    samples: 1,
    last_probe_at: 1_000,
    last_benchmark_at: 1_500,
    reachable: true,
  });
  expect(speedsJson[A][RELAY]).toEqual({
    latency_ms: null,
    mb_s: null,
    samples: 0,
    last_probe_at: 1_000,
    last_benchmark_at: null,
    reachable: false,
  });
  const healthJson = JSON.parse(readFileSync(paths().peerHealth, "utf8"));
  expect(healthJson).toEqual({
    [A]: { first_seen: 1_000, last_seen: 1_000, probes: 1, successes: 1, uptime_pct: 100 },
    [B]: { first_seen: null, last_seen: null, probes: 1, successes: 0, uptime_pct: 0 },
  });

  // "restart": new instances read what the old ones wrote
  const again = PeerStats.load(paths());
  expect(again.speeds.get(A, LAN)).toEqual(speedsJson[A][LAN]);
  expect(again.speeds.get(A, TS)).toEqual(stats.speeds.get(A, TS));
  expect(again.health.get(A)).toEqual(stats.health.get(A));
  expect(again.speeds.best(A)?.url).toBe(LAN);
  // sorted by URL: "http://100…" < "http://192…" < "wss://…"
  expect(again.speeds.routes(A).map((r) => [r.url, r.kind])).toEqual([
    [TS, "tailscale"],
    [LAN, "lan"],
    [RELAY, "relay"],
  ]);

  // measurements keep accumulating across restarts
  again.recordRound(
    A,
    [
      { url: LAN, ok: false, latency_ms: null },
      { url: TS, ok: false, latency_ms: null },
    ],
    2_000,
  );
  again.save();
  const third = PeerStats.load(paths());
  expect(third.health.get(A)).toEqual({ first_seen: 1_000, last_seen: 1_000, probes: 2, successes: 1, uptime_pct: 50 });
  expect(third.speeds.best(A)).toBeNull();
  expect(warnings).toEqual([]);
});

test("latency and throughput are moving averages (α = 0.5, first sample as is)", () => {
  const s = PeerSpeeds.load(paths().peerSpeeds);
  s.recordProbe(A, LAN, true, 10, 1);
  expect(s.get(A, LAN)?.latency_ms).toBe(10);
  s.recordProbe(A, LAN, true, 20, 2);
  expect(s.get(A, LAN)?.latency_ms).toBe(15);
  s.recordProbe(A, LAN, true, 20, 3);
  expect(s.get(A, LAN)?.latency_ms).toBe(17.5);

  s.recordBenchmark(A, LAN, 1_000_000, 0.1, 10); // 10 MB/s
  expect(s.get(A, LAN)).toMatchObject({ mb_s: 10, samples: 1, last_benchmark_at: 10 });
  s.recordBenchmark(A, LAN, KB256, 0.005, 20); // 52.4288 MB/s
  expect(s.get(A, LAN)).toMatchObject({ mb_s: 31.214, samples: 2, last_benchmark_at: 20 });
});

test("a failed probe marks the route unreachable and keeps its last latency", () => {
  const s = PeerSpeeds.load(paths().peerSpeeds);
  s.recordProbe(A, LAN, true, 4, 100);
  s.recordBenchmark(A, LAN, KB256, 0.01, 100);
  expect(s.recordProbe(A, LAN, false, null, 200)).toBe(true);
  expect(s.get(A, LAN)).toMatchObject({ reachable: false, latency_ms: 4, mb_s: 26.214, last_probe_at: 200 });
  expect(s.best(A)).toBeNull();
  s.recordProbe(A, LAN, true, 8, 300);
  expect(s.get(A, LAN)).toMatchObject({ reachable: true, latency_ms: 6 });
  expect(s.best(A)?.url).toBe(LAN);
});

test("results older than the last recorded one are ignored", () => {
  const s = PeerSpeeds.load(paths().peerSpeeds);
  s.recordProbe(A, LAN, true, 4, 500);
  expect(s.recordProbe(A, LAN, false, null, 400)).toBe(false);
  expect(s.get(A, LAN)).toMatchObject({ reachable: true, last_probe_at: 500 });
  s.recordBenchmark(A, LAN, 1_000_000, 1, 500);
  expect(s.recordBenchmark(A, LAN, 1_000_000, 0.001, 499)).toBe(false);
  expect(s.get(A, LAN)).toMatchObject({ mb_s: 1, samples: 1 });
});

test("the best route follows the measurements, and changes when the speeds swap", () => {
  const s = PeerSpeeds.load(paths().peerSpeeds);
  const round = (lanMs: number, tsMs: number, at: number) => {
    s.recordProbe(A, LAN, true, lanMs, at);
    s.recordProbe(A, TS, true, tsMs, at);
  };
  round(2, 50, 1);
  expect(s.best(A)?.url).toBe(LAN);
  round(50, 2, 2); // averages meet at 26 ms: a tie, which goes to the lan route
  expect(s.best(A)?.url).toBe(LAN);
  round(50, 2, 3); // 38 vs 14
  expect(s.best(A)?.url).toBe(TS);
  // throughput alone can decide: +300 MB/s is worth 30 ms
  s.recordBenchmark(A, LAN, 300_000_000, 0.5, 4); // 600 MB/s → −60
  expect(s.best(A)?.url).toBe(LAN);
});

test("benchmarkDue: never benchmarked, interval elapsed, clock went back; not while unreachable", () => {
  const s = PeerSpeeds.load(paths().peerSpeeds);
  const interval = 6 * 3600;
  expect(s.benchmarkDue(A, LAN, interval, 0)).toBe(true); // nothing known
  s.recordProbe(A, LAN, true, 3, 10 * HOUR);
  expect(s.benchmarkDue(A, LAN, interval, 10 * HOUR)).toBe(true); // probed, never benchmarked
  s.recordBenchmark(A, LAN, KB256, 0.02, 10 * HOUR);
  expect(s.benchmarkDue(A, LAN, interval, 10 * HOUR)).toBe(false);
  expect(s.benchmarkDue(A, LAN, interval, 16 * HOUR - 1)).toBe(false);
  expect(s.benchmarkDue(A, LAN, interval, 16 * HOUR)).toBe(true);
  expect(s.benchmarkDue(A, LAN, 60, 10 * HOUR + 60_000)).toBe(true);
  expect(s.benchmarkDue(A, LAN, interval, 9 * HOUR)).toBe(true); // last benchmark is in our future
  s.recordProbe(A, LAN, false, null, 17 * HOUR);
  expect(s.benchmarkDue(A, LAN, interval, 17 * HOUR)).toBe(false);
  s.recordProbe(A, LAN, true, 3, 18 * HOUR);
  expect(s.benchmarkDue(A, LAN, interval, 18 * HOUR)).toBe(true);
  expect(s.benchmarkDue(B, LAN, interval, 18 * HOUR)).toBe(true);
});

test("uptime is successes / probes, one decimal; first and last seen are answered rounds", () => {
  const h = PeerHealth.load(paths().peerHealth);
  expect(h.uptimePct(A)).toBeNull();
  h.recordProbe(A, false, 100);
  expect(h.get(A)).toEqual({ first_seen: null, last_seen: null, probes: 1, successes: 0, uptime_pct: 0 });
  h.recordProbe(A, true, 200);
  h.recordProbe(A, true, 300);
  expect(h.get(A)).toEqual({ first_seen: 200, last_seen: 300, probes: 3, successes: 2, uptime_pct: 66.7 });
  h.recordProbe(A, true, 400);
  expect(h.uptimePct(A)).toBe(75);
  h.recordProbe(A, true, 150); // a late report does not move last_seen back
  expect(h.get(A)).toMatchObject({ first_seen: 150, last_seen: 400, probes: 5, successes: 4, uptime_pct: 80 });
  for (let i = 0; i < 995; i++) h.recordProbe(B, true, i);
  for (let i = 0; i < 5; i++) h.recordProbe(B, false, 1000 + i);
  expect(h.uptimePct(B)).toBe(99.5);
  h.recordProbe(B, false, 2000);
  expect(h.uptimePct(B)).toBe(99.4); // 995 / 1001 = 99.40…
});

test("a round counts one health probe for the peer, up when any route answered", () => {
  const stats = PeerStats.load(paths());
  stats.recordRound(
    A,
    [
      { url: LAN, ok: false, latency_ms: null },
      { url: RELAY, ok: true, latency_ms: 120 },
    ],
    1,
  );
  stats.recordRound(
    A,
    [
      { url: LAN, ok: false, latency_ms: null },
      { url: RELAY, ok: false, latency_ms: null },
    ],
    2,
  );
  stats.recordRound(A, [], 3);
  expect(stats.health.get(A)).toMatchObject({ probes: 2, successes: 1, uptime_pct: 50, last_seen: 1 });
  expect(stats.speeds.get(A, RELAY)).toMatchObject({ reachable: false, latency_ms: 120, last_probe_at: 2 });
});

test("a file that is not JSON is set aside with a warning and the stats start empty", () => {
  const p = paths();
  mkdirSync(dir, { recursive: true });
  writeFileSync(p.peerSpeeds, '{"aaaa": {');
  const s = PeerSpeeds.load(p.peerSpeeds, { now: () => 1234 });
  expect(s.peers()).toEqual([]);
  expect(existsSync(p.peerSpeeds)).toBe(false);
  expect(readFileSync(`${p.peerSpeeds}.corrupt-1234`, "utf8")).toBe('{"aaaa": {');
  expect(warnings.join("")).toMatch(/warn .*peer_speeds\.json is corrupt \(not valid JSON.*moved it to .*peer_speeds\.json\.corrupt-1234/);

  // the same thing again within the same millisecond keeps both copies
  writeFileSync(p.peerSpeeds, "garbage");
  PeerSpeeds.load(p.peerSpeeds, { now: () => 1234 });
  expect(readFileSync(`${p.peerSpeeds}.corrupt-1234-1`, "utf8")).toBe("garbage");

  // and the next save writes a good file where the bad one was
  s.recordProbe(A, LAN, true, 1, 1);
  s.save();
  expect(PeerSpeeds.load(p.peerSpeeds).get(A, LAN)?.latency_ms).toBe(1);
});

const badSpeeds: [string, unknown][] = [
  ["an array", []],
  ["a number", 7],
  ["a short peer id", { abcd: {} }],
  ["an upper-case peer id", { ["A".repeat(64)]: {} }],
  [
    "a negative sample count",
    { [A]: { [LAN]: { latency_ms: 1, mb_s: null, samples: -1, last_probe_at: null, last_benchmark_at: null, reachable: true } } },
  ],
  ["a missing field", { [A]: { [LAN]: { latency_ms: 1, mb_s: null, samples: 0, last_probe_at: null, reachable: true } } }],
  [
    "a string latency",
    { [A]: { [LAN]: { latency_ms: "1", mb_s: null, samples: 0, last_probe_at: null, last_benchmark_at: null, reachable: true } } },
  ],
];
for (const [what, value] of badSpeeds) {
  test(`peer_speeds.json with ${what} is set aside`, () => {
    const p = paths().peerSpeeds;
    mkdirSync(dir, { recursive: true });
    writeFileSync(p, JSON.stringify(value));
    expect(PeerSpeeds.load(p, { now: () => 99 }).peers()).toEqual([]);
    expect(existsSync(`${p}.corrupt-99`)).toBe(true);
    expect(warnings.join("")).toMatch(/peer_speeds\.json is corrupt/);
  });
}

const badHealth: [string, unknown][] = [
  ["more successes than probes", { [A]: { first_seen: 1, last_seen: 2, probes: 1, successes: 2 } }],
  ["a fractional probe count", { [A]: { first_seen: null, last_seen: null, probes: 1.5, successes: 0 } }],
  ["a negative time", { [A]: { first_seen: -1, last_seen: 2, probes: 2, successes: 2 } }],
  ["null instead of an object", null],
];
for (const [what, value] of badHealth) {
  test(`peer_health.json with ${what} is set aside`, () => {
    const p = paths().peerHealth;
    mkdirSync(dir, { recursive: true });
    writeFileSync(p, JSON.stringify(value));
    expect(PeerHealth.load(p, { now: () => 5 }).peers()).toEqual([]);
    expect(existsSync(`${p}.corrupt-5`)).toBe(true);
    expect(warnings.join("")).toMatch(/peer_health\.json is corrupt/);
  });
}

test("a stored uptime is recomputed from the counts, and unknown fields are dropped", () => {
  const p = paths().peerHealth;
  mkdirSync(dir, { recursive: true });
  writeFileSync(p, JSON.stringify({ [A]: { first_seen: 1, last_seen: 9, probes: 4, successes: 1, uptime_pct: 100, extra: "x" } }));
  const h = PeerHealth.load(p);
  expect(h.get(A)).toEqual({ first_seen: 1, last_seen: 9, probes: 4, successes: 1, uptime_pct: 25 });
  h.save();
  expect(JSON.parse(readFileSync(p, "utf8"))[A]).toEqual({ first_seen: 1, last_seen: 9, probes: 4, successes: 1, uptime_pct: 25 });
  expect(warnings).toEqual([]);
});

test("bad input is refused and records nothing", () => {
  const s = PeerSpeeds.load(paths().peerSpeeds);
  expect(() => s.recordProbe("abcd" as CellId, LAN, true, 1, 1)).toThrow(/64 lowercase hex/);
  expect(() => s.recordProbe(A, "not a url", true, 1, 1)).toThrow(/whitespace/);
  expect(() => s.recordProbe(A, "http://0.0.0.0:5678", true, 1, 1)).toThrow(/not a unicast/);
  expect(() => s.recordProbe(A, LAN, true, null, 1)).toThrow(/latency/);
  expect(() => s.recordProbe(A, LAN, true, -1, 1)).toThrow(/latency/);
  expect(() => s.recordProbe(A, LAN, true, NaN, 1)).toThrow(/latency/);
  expect(() => s.recordProbe(A, LAN, true, 1, NaN)).toThrow(/unix ms/);
  expect(() => s.recordBenchmark(A, LAN, 0, 1, 1)).toThrow(/bytes/);
  expect(() => s.recordBenchmark(A, LAN, 1.5, 1, 1)).toThrow(/bytes/);
  expect(() => s.recordBenchmark(A, LAN, KB256, 0, 1)).toThrow(/duration/);
  expect(() => s.recordBenchmark(A, LAN, KB256, Infinity, 1)).toThrow(/duration/);
  expect(s.peers()).toEqual([]);
  const h = PeerHealth.load(paths().peerHealth);
  expect(() => h.recordProbe("x" as CellId, true, 1)).toThrow(/64 lowercase hex/);
  expect(() => h.recordProbe(A, true, -5)).toThrow(/unix ms/);
  expect(h.peers()).toEqual([]);
});

test("routes dropped from a card and removed peers are forgotten", () => {
  const stats = PeerStats.load(paths());
  for (const url of [LAN, TS, RELAY]) stats.recordRound(A, [{ url, ok: true, latency_ms: 5 }], 1);
  stats.recordRound(B, [{ url: LAN, ok: true, latency_ms: 5 }], 1);
  stats.speeds.retainRoutes(A, [TS, "http://10.9.9.9:5678"]);
  expect(stats.speeds.routes(A).map((r) => r.url)).toEqual([TS]);
  stats.speeds.retainRoutes(A, []);
  expect(stats.speeds.peers()).toEqual([B]);
  stats.forget(B);
  stats.save();
  const again = PeerStats.load(paths());
  expect(again.speeds.peers()).toEqual([]);
  expect(again.health.peers()).toEqual([A]);
});

test("get returns copies: changing them changes nothing stored", () => {
  const s = PeerSpeeds.load(paths().peerSpeeds);
  s.recordProbe(A, LAN, true, 5, 1);
  const copy = s.get(A, LAN)!;
  copy.latency_ms = 999;
  copy.reachable = false;
  expect(s.get(A, LAN)).toMatchObject({ latency_ms: 5, reachable: true });
});
