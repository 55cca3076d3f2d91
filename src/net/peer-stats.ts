/**
 * @module net/peer-stats — what probes and benchmarks measured, kept in peer_speeds.json (per
 * peer, per route) and peer_health.json (per peer), written atomically so they survive restarts.
 *
 * peer_speeds.json: { "<cell id>": { "<route url>": { latency_ms, mb_s, samples, last_probe_at,
 *   last_benchmark_at, reachable } } }
 * peer_health.json: { "<cell id>": { first_seen, last_seen, probes, successes, uptime_pct } }
 * Times are unix ms; null means "never". latency_ms and mb_s are exponentially weighted moving
 * averages (EWMA): new = α·sample + (1 − α)·old, the first sample taken as is, α = 0.5 for both,
 * so one odd measurement moves a route halfway and two in a row settle it. mb_s comes from a
 * real transfer: bytes / seconds / 10^6. `samples` counts the benchmarks folded into mb_s.
 * Health counts one probe per peer per sync round (ok when any route answered); first_seen and
 * last_seen are the first and last rounds it answered; uptime_pct = successes / probes × 100.
 *
 * A missing file loads empty; a file that is not valid JSON or not of this shape is renamed to
 * `<file>.corrupt-<unix ms>` with a warning, and the stats start empty (they are measurements:
 * the next sync round measures again). Unknown fields are dropped.
 */
import { existsSync, readFileSync, renameSync } from "node:fs";
import { z } from "zod";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { badRequest, errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { isHex64, type CellId } from "../core/types.ts";
import type { Layout } from "../core/layout.ts";
import { classifyAddress, type RouteKind } from "./route-class.ts";
import { bestRoute, type Route } from "./route-score.ts";

/** Weight of a new latency sample in the moving average. */
export const LATENCY_ALPHA = 0.5;
/** Weight of a new throughput sample in the moving average. */
export const SPEED_ALPHA = 0.5;
/** Bytes in the MB of MB/s. */
export const BYTES_PER_MB = 1_000_000;

/** What peer_speeds.json keeps about one route to one peer. */
export interface RouteStats {
  /** Smoothed round-trip time of successful probes; null until one succeeded. */
  latency_ms: number | null;
  /** Smoothed throughput of benchmarks; null until one ran. */
  mb_s: number | null;
  /** Benchmarks folded into mb_s. */
  samples: number;
  last_probe_at: number | null;
  last_benchmark_at: number | null;
  /** Outcome of the last probe (false until one succeeded). */
  reachable: boolean;
}

/** What peer_health.json keeps about one peer. */
export interface PeerHealthRecord {
  /** First and last sync round in which the peer answered (unix ms); null when it never did. */
  first_seen: number | null;
  last_seen: number | null;
  /** Sync rounds that probed the peer, and those in which it answered. */
  probes: number;
  successes: number;
  /** successes / probes × 100, one decimal; null before the first probe. */
  uptime_pct: number | null;
}

/** The outcome of probing one route (one entry per route of a sync round). */
export interface ProbeResult {
  url: string;
  ok: boolean;
  /** Measured round trip; ignored when !ok. */
  latency_ms: number | null;
}

/** Options for loading a stats file. */
export interface LoadOptions {
  /** Clock for the name of a corrupt file set aside (unix ms). Defaults to Date.now. */
  now?: () => number;
}

const time = z.number().nonnegative().nullable();
const peerId = z.string().refine(isHex64, "peer ids are 64 lowercase hex characters");

const RouteStatsSchema = z.object({
  latency_ms: z.number().nonnegative().nullable(),
  mb_s: z.number().nonnegative().nullable(),
  samples: z.number().int().nonnegative(),
  last_probe_at: time,
  last_benchmark_at: time,
  reachable: z.boolean(),
});
const SpeedsSchema = z.record(peerId, z.record(z.string().min(1), RouteStatsSchema));

const HealthSchema = z.record(
  peerId,
  z
    .object({
      first_seen: time,
      last_seen: time,
      probes: z.number().int().nonnegative(),
      successes: z.number().int().nonnegative(),
    })
    .refine((h) => h.successes <= h.probes, "successes cannot exceed probes"),
);

/** Per peer, per route: latency, throughput and reachability (peer_speeds.json). */
export class PeerSpeeds {
  private constructor(
    readonly path: string,
    private readonly data: Map<string, Map<string, RouteStats>>,
  ) {}

  /** Read `path`; missing → empty; corrupt → set aside with a warning, then empty. */
  static load(path: string, opts: LoadOptions = {}): PeerSpeeds {
    const raw = readState(path, SpeedsSchema, opts);
    const data = new Map<string, Map<string, RouteStats>>();
    for (const [peer, routes] of Object.entries(raw ?? {})) {
      data.set(peer, new Map(Object.entries(routes).map(([url, s]) => [url, { ...s }])));
    }
    return new PeerSpeeds(path, data);
  }

  /** Peers with at least one route on record, sorted. */
  peers(): CellId[] {
    return [...this.data.keys()].sort() as CellId[];
  }

  /** A copy of what is known about one route, or null. */
  get(peer: CellId, url: string): RouteStats | null {
    const s = this.data.get(peer)?.get(url);
    return s ? { ...s } : null;
  }

  /** The peer's routes as `bestRoute` takes them, sorted by URL (unclassifiable URLs skipped). */
  routes(peer: CellId): Route[] {
    const out: Route[] = [];
    for (const [url, s] of [...(this.data.get(peer) ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      let kind: RouteKind;
      try {
        kind = classifyAddress(url);
      } catch {
        continue;
      }
      out.push({
        url,
        kind,
        reachable: s.reachable,
        latency_ms: s.latency_ms,
        mb_s: s.mb_s,
        last_probe_at: s.last_probe_at,
        last_benchmark_at: s.last_benchmark_at,
      });
    }
    return out;
  }

  /** The peer's best reachable route now, or null. */
  best(peer: CellId): Route | null {
    return bestRoute(this.routes(peer));
  }

  /**
   * Record one probe of `url`. A failed probe marks the route unreachable and keeps its last
   * latency. A probe older than the last one recorded is ignored (returns false).
   * Throws on a malformed peer id or URL, or a success without a usable latency.
   */
  recordProbe(peer: CellId, url: string, ok: boolean, latencyMs: number | null, at: number): boolean {
    checkPeer(peer);
    classifyAddress(url);
    checkTime(at);
    if (ok && (latencyMs === null || !Number.isFinite(latencyMs) || latencyMs < 0)) {
      throw new RangeError(`a successful probe needs a latency >= 0 ms (got ${latencyMs})`);
    }
    const s = this.entry(peer, url);
    if (s.last_probe_at !== null && at < s.last_probe_at) return false;
    s.last_probe_at = at;
    s.reachable = ok;
    if (ok) s.latency_ms = round3(ewma(s.latency_ms, latencyMs!, LATENCY_ALPHA));
    return true;
  }

  /**
   * Record a benchmark: `bytes` really transferred over `url` in `seconds`. Folds the speed into
   * mb_s (EWMA) and counts a sample; reachability and latency are left to probes. A benchmark
   * older than the last one recorded is ignored (returns false).
   */
  recordBenchmark(peer: CellId, url: string, bytes: number, seconds: number, at: number): boolean {
    checkPeer(peer);
    classifyAddress(url);
    checkTime(at);
    if (!Number.isSafeInteger(bytes) || bytes <= 0)
      throw new RangeError(`a benchmark needs a positive whole number of bytes (got ${bytes})`);
    if (!Number.isFinite(seconds) || seconds <= 0)
      throw new RangeError(`a benchmark needs a positive duration in seconds (got ${seconds})`);
    const s = this.entry(peer, url);
    if (s.last_benchmark_at !== null && at < s.last_benchmark_at) return false;
    s.mb_s = round3(ewma(s.mb_s, bytes / seconds / BYTES_PER_MB, SPEED_ALPHA));
    s.samples += 1;
    s.last_benchmark_at = at;
    return true;
  }

  /**
   * True when `url` should be benchmarked at `now` (unix ms): never benchmarked, or the last
   * benchmark is `intervalS` seconds old or more, or dated in the future (the clock went back).
   * False while the route's last probe failed: probe it back to life first.
   */
  benchmarkDue(peer: CellId, url: string, intervalS: number, now: number): boolean {
    const s = this.data.get(peer)?.get(url);
    if (!s) return true;
    if (s.last_probe_at !== null && !s.reachable) return false;
    if (s.last_benchmark_at === null || now < s.last_benchmark_at) return true;
    return now - s.last_benchmark_at >= intervalS * 1000;
  }

  /** Drop the peer's routes that are not in `urls` (its card no longer lists them). */
  retainRoutes(peer: CellId, urls: readonly string[]): void {
    const routes = this.data.get(peer);
    if (!routes) return;
    const keep = new Set(urls);
    for (const url of [...routes.keys()]) if (!keep.has(url)) routes.delete(url);
    if (routes.size === 0) this.data.delete(peer);
  }

  /** Forget everything about a peer (it was removed). */
  forget(peer: CellId): void {
    this.data.delete(peer);
  }

  /** Write the file atomically (temp + fsync + rename, mode 0644), keys sorted. */
  save(): void {
    const out: Record<string, Record<string, RouteStats>> = {};
    for (const peer of this.peers()) {
      const routes = this.data.get(peer)!;
      out[peer] = Object.fromEntries([...routes.keys()].sort().map((url) => [url, routes.get(url)!]));
    }
    writeFileAtomicSync(this.path, JSON.stringify(out, null, 2) + "\n", 0o644);
  }

  private entry(peer: string, url: string): RouteStats {
    let routes = this.data.get(peer);
    if (!routes) this.data.set(peer, (routes = new Map()));
    let s = routes.get(url);
    if (!s) {
      s = { latency_ms: null, mb_s: null, samples: 0, last_probe_at: null, last_benchmark_at: null, reachable: false };
      routes.set(url, s);
    }
    return s;
  }
}

type HealthCounts = Omit<PeerHealthRecord, "uptime_pct">;

/** Per peer: when it was seen and how often it answered (peer_health.json). */
export class PeerHealth {
  private constructor(
    readonly path: string,
    private readonly data: Map<string, HealthCounts>,
  ) {}

  /** Read `path`; missing → empty; corrupt → set aside with a warning, then empty. */
  static load(path: string, opts: LoadOptions = {}): PeerHealth {
    const raw = readState(path, HealthSchema, opts);
    return new PeerHealth(path, new Map(Object.entries(raw ?? {}).map(([peer, h]) => [peer, { ...h }])));
  }

  peers(): CellId[] {
    return [...this.data.keys()].sort() as CellId[];
  }

  /** A copy of the peer's record with its uptime, or null when it was never probed. */
  get(peer: CellId): PeerHealthRecord | null {
    const h = this.data.get(peer);
    return h ? withUptime(h) : null;
  }

  /** Uptime in percent (one decimal), or null before the first probe. */
  uptimePct(peer: CellId): number | null {
    return this.get(peer)?.uptime_pct ?? null;
  }

  /** Count one sync round's probe of `peer`: `ok` when any of its routes answered. */
  recordProbe(peer: CellId, ok: boolean, at: number): void {
    checkPeer(peer);
    checkTime(at);
    let h = this.data.get(peer);
    if (!h) this.data.set(peer, (h = { first_seen: null, last_seen: null, probes: 0, successes: 0 }));
    h.probes += 1;
    if (!ok) return;
    h.successes += 1;
    h.first_seen = h.first_seen === null ? at : Math.min(h.first_seen, at);
    h.last_seen = h.last_seen === null ? at : Math.max(h.last_seen, at);
  }

  forget(peer: CellId): void {
    this.data.delete(peer);
  }

  /** Write the file atomically (temp + fsync + rename, mode 0644), keys sorted. */
  save(): void {
    const out = Object.fromEntries(this.peers().map((p) => [p, withUptime(this.data.get(p)!)]));
    writeFileAtomicSync(this.path, JSON.stringify(out, null, 2) + "\n", 0o644);
  }
}

/** Both files together, as a sync round uses them. */
export class PeerStats {
  private constructor(
    readonly speeds: PeerSpeeds,
    readonly health: PeerHealth,
  ) {}

  static load(layout: Pick<Layout, "peerSpeeds" | "peerHealth">, opts: LoadOptions = {}): PeerStats {
    return new PeerStats(PeerSpeeds.load(layout.peerSpeeds, opts), PeerHealth.load(layout.peerHealth, opts));
  }

  /**
   * Record one sync round's probes of `peer`: each route in peer_speeds, and one health probe
   * that succeeded when any route answered. A round with no routes records nothing.
   */
  recordRound(peer: CellId, results: readonly ProbeResult[], at: number): void {
    if (results.length === 0) return;
    for (const r of results) this.speeds.recordProbe(peer, r.url, r.ok, r.ok ? r.latency_ms : null, at);
    this.health.recordProbe(
      peer,
      results.some((r) => r.ok),
      at,
    );
  }

  forget(peer: CellId): void {
    this.speeds.forget(peer);
    this.health.forget(peer);
  }

  save(): void {
    this.speeds.save();
    this.health.save();
  }
}

/** Parse a state file: its data, or null when it is missing or was set aside as corrupt. */
function readState<T>(path: string, schema: z.ZodType<T>, opts: LoadOptions): T | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    log("warn", `cannot read ${path}, starting with empty stats: ${errorMessage(e)}`);
    return null;
  }
  let problem: string;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0]!;
    problem = `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`;
  } catch (e) {
    problem = `not valid JSON (${errorMessage(e)})`;
  }
  const aside = asideName(path, (opts.now ?? Date.now)());
  try {
    renameSync(path, aside);
    log("warn", `${path} is corrupt (${problem}); moved it to ${aside} and started with empty stats`);
  } catch (e) {
    log("warn", `${path} is corrupt (${problem}) and could not be moved aside (${errorMessage(e)}); starting with empty stats`);
  }
  return null;
}

function asideName(path: string, now: number): string {
  const base = `${path}.corrupt-${Math.floor(now)}`;
  let name = base;
  for (let n = 1; existsSync(name); n++) name = `${base}-${n}`;
  return name;
}

function withUptime(h: HealthCounts): PeerHealthRecord {
  return { ...h, uptime_pct: h.probes === 0 ? null : Math.round((h.successes / h.probes) * 1000) / 10 };
}

function ewma(old: number | null, sample: number, alpha: number): number {
  return old === null ? sample : alpha * sample + (1 - alpha) * old;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function checkPeer(peer: string): void {
  if (!isHex64(peer)) throw badRequest("a peer id is 64 lowercase hex characters");
}

function checkTime(at: number): void {
  if (!Number.isFinite(at) || at < 0) throw new RangeError(`a time must be unix ms >= 0 (got ${at})`);
}
