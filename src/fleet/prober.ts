/**
 * @module fleet/prober — measures every route to every peer: a signed ping for latency and
 * reachability each round, and a real 256 KB transfer when a route's benchmark is due
 * (`route_benchmark_interval_s`). Results go to peer_speeds.json / peer_health.json, from
 * which `best_route` is chosen (net/route-score). A round is the first step of every sync round,
 * so it runs in the sync Worker (sync/sync-worker), the only writer of those two files.
 */
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { CellId } from "../core/types.ts";
import { classifyAddress } from "../net/route-class.ts";
import { PeerStats, type ProbeResult } from "../net/peer-stats.ts";
import { cardChanged, isNewerCard, verifyCard, type Card } from "../protocol/card.ts";
import { callPeer, callPeerRaw, type PeerCaller } from "../net/peer-client.ts";
import type { PeerStore } from "./peer-store.ts";
import type { CellKeys } from "../crypto/keys.ts";
import type { Config } from "../config/config.ts";
import type { Layout } from "../core/layout.ts";
import { CARD_INFO } from "../protocol/labels.ts";
import { openSealed } from "../protocol/seal.ts";
import { shortId } from "../core/format.ts";

/** Size of the benchmark transfer (docs/design.md, Talking between cells: a real 256 KB transfer). */
export const BENCH_BYTES = 256 * 1024;
/** How long a route has to answer a ping. */
const PING_TIMEOUT_MS = 5000;
/** Peers pinged at once. */
const PING_PARALLEL = 8;

export interface RoundReport {
  peers: number;
  reachable: number;
  routes_probed: number;
  benchmarks: number;
  /** Peers that answered, with the best route to use now. */
  reached: { id: CellId; url: string }[];
}

/** What a probe round needs of the cell. */
export interface ProberContext {
  keys: CellKeys;
  /** How peers are called (keys and relay transport). */
  caller: PeerCaller;
  config: Config;
  layout: Layout;
  peers: PeerStore;
}

export class Prober {
  readonly stats: PeerStats;
  private running: Promise<RoundReport> | null = null;

  constructor(private ctx: ProberContext) {
    this.stats = PeerStats.load(ctx.layout);
  }

  /** The card's routes we can try: direct ones and relays (a relay route is ranked last, net/route-score). */
  private usableRoutes(card: Card): string[] {
    return card.addresses.filter((u) => {
      try {
        classifyAddress(u);
        return true;
      } catch {
        return false;
      }
    });
  }

  /** One round over every peer; concurrent callers share the round in progress. */
  round(): Promise<RoundReport> {
    this.running ??= this.doRound().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async doRound(): Promise<RoundReport> {
    const report: RoundReport = { peers: 0, reachable: 0, routes_probed: 0, benchmarks: 0, reached: [] };
    const interval = this.ctx.config.route_benchmark_interval_s;
    const peers = this.ctx.peers.list();
    // Peers removed since the last round leave the stats files too.
    const known = new Set<string>(peers.map((p) => p.id));
    for (const id of new Set([...this.stats.speeds.peers(), ...this.stats.health.peers()])) if (!known.has(id)) this.stats.forget(id);
    // Ping every route of every peer first, several peers at a time (a route that does not
    // answer costs PING_TIMEOUT_MS: one after the other, a cell cut off from N peers would wait
    // N times that). A peer's own routes are pinged one after the other.
    const pinged = new Map<CellId, { at: number; results: ProbeResult[] }>();
    const queue = [...peers];
    await Promise.all(
      Array.from({ length: Math.min(PING_PARALLEL, queue.length) }, async () => {
        for (let p = queue.shift(); p; p = queue.shift()) {
          const routes = this.usableRoutes(JSON.parse(p.card) as Card);
          const results: ProbeResult[] = [];
          const at = Date.now();
          for (const url of routes) {
            try {
              const r = await callPeer(this.ctx.caller, url, p.id, "POST", "/peer/ping", null, PING_TIMEOUT_MS);
              results.push({ url, ok: true, latency_ms: r.latency_ms });
            } catch (e) {
              results.push({ url, ok: false, latency_ms: null });
              log("info", "route did not answer", { peer: shortId(p.id), url, why: errorMessage(e) });
            }
          }
          pinged.set(p.id, { at, results });
        }
      }),
    );
    // Then, peer by peer: record the round (peer_speeds per route, peer_health once), and
    // benchmark the routes that answered and are due (one at a time: transfers in parallel would
    // measure each other).
    for (const p of peers) {
      report.peers++;
      const card = JSON.parse(p.card) as Card;
      this.stats.speeds.retainRoutes(p.id, this.usableRoutes(card));
      const { at, results } = pinged.get(p.id)!;
      report.routes_probed += results.length;
      this.stats.recordRound(p.id, results, at);
      for (const r of results) {
        if (r.ok && this.stats.speeds.benchmarkDue(p.id, r.url, interval, at)) {
          if (await this.benchmark(p.id, r.url, r.latency_ms!)) report.benchmarks++;
        }
      }
      const answered = results.find((r) => r.ok);
      if (answered) {
        report.reachable++;
        this.ctx.peers.seen(p.id);
        await this.refreshCard(p.id, card, answered.url);
        const best = this.stats.speeds.best(p.id);
        report.reached.push({ id: p.id, url: best?.reachable ? best.url : answered.url });
      }
    }
    this.stats.save();
    return report;
  }

  /** A real 256 KB transfer over `url`; true when it was recorded. */
  private async benchmark(peer: CellId, url: string, rtt: number): Promise<boolean> {
    try {
      const r = await callPeerRaw(this.ctx.caller, url, peer, "POST", "/peer/bench", { bytes: BENCH_BYTES }, 30_000);
      if (r.status !== 200) throw new Error(`answered ${r.status}`);
      // Throughput = bytes / transfer time, the transfer time being the call minus one round
      // trip (signing, verifying and the request itself are in the ping as well).
      const seconds = Math.max(0.0005, (r.latency_ms - rtt) / 1000);
      return this.stats.speeds.recordBenchmark(peer, url, r.body.byteLength, seconds, Date.now());
    } catch (e) {
      log("warn", "route benchmark failed", { peer: shortId(peer), url, why: errorMessage(e) });
      return false;
    }
  }

  /** Fetch the peer's current card; keep it when it is newer and says something new (addresses, build, capabilities). */
  private async refreshCard(peer: CellId, current: Card, url: string): Promise<void> {
    try {
      const r = await callPeerRaw(this.ctx.caller, url, peer, "GET", "/peer/card", undefined, 5000);
      if (r.status !== 200) throw new Error(`answered ${r.status}`);
      const keys = this.ctx.keys;
      const opened = await openSealed(keys.x25519Secret, keys.x25519Public, r.body, CARD_INFO, peer);
      const next = verifyCard(JSON.parse(new TextDecoder().decode(opened)).card, { expectId: peer });
      if (isNewerCard(current, next) && cardChanged(current, next)) {
        this.ctx.peers.upsert(peer, next.name, JSON.stringify(next));
        log("info", "peer card updated", { peer: shortId(peer) });
      }
    } catch (e) {
      log("warn", "could not refresh a peer's card", { peer: shortId(peer), why: errorMessage(e) });
    }
  }
}
