/**
 * @module fleet/prober — measures every route to every peer: a signed ping for latency and
 * reachability each round, and a real 256 KB transfer when a route's benchmark is due
 * (`route_benchmark_interval_s`). Results go to peer_speeds.json / peer_health.json, from
 * which `best_route` is chosen (net/route-score). The sync Worker (issue 4) will call a round;
 * until then the cell runs one every `sync_interval_s` and after each pairing.
 */
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { CellId } from "../core/types.ts";
import { classifyAddress } from "../net/route-class.ts";
import { PeerStats, type ProbeResult } from "../net/peer-stats.ts";
import type { Route } from "../net/route-score.ts";
import { cardChanged, isNewerCard, verifyCard, type Card } from "../protocol/card.ts";
import { callPeer, callPeerRaw } from "./peer-client.ts";
import type { Fleet } from "./fleet.ts";
import { CARD_INFO } from "../protocol/labels.ts";
import { openSealed } from "../protocol/seal.ts";

/** Size of the benchmark transfer (DESIGN: a real 256 KB transfer). */
export const BENCH_BYTES = 256 * 1024;

export interface RoundReport {
  peers: number;
  reachable: number;
  routes_probed: number;
  benchmarks: number;
}

export class Prober {
  readonly stats: PeerStats;
  private running: Promise<RoundReport> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private fleet: Fleet) {
    this.stats = PeerStats.load(fleet.cell.layout);
  }

  /** Routes we can try directly now (relay routes arrive with the relay issue). */
  private directRoutes(card: Card): string[] {
    return card.addresses.filter((u) => {
      try {
        return classifyAddress(u) !== "relay";
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
    const report: RoundReport = { peers: 0, reachable: 0, routes_probed: 0, benchmarks: 0 };
    const interval = this.fleet.cell.config.route_benchmark_interval_s;
    for (const p of this.fleet.peers.list()) {
      report.peers++;
      const card = JSON.parse(p.card) as Card;
      const routes = this.directRoutes(card);
      this.stats.speeds.retainRoutes(p.id, routes);
      // Probe every route, record the round (peer_speeds per route, peer_health once), then
      // benchmark the routes that answered and are due.
      const results: ProbeResult[] = [];
      const at = Date.now();
      for (const url of routes) {
        report.routes_probed++;
        try {
          const r = await callPeer(this.fleet.cell.keys, url, p.id, "POST", "/peer/ping", null, 5000);
          results.push({ url, ok: true, latency_ms: r.latency_ms });
        } catch (e) {
          results.push({ url, ok: false, latency_ms: null });
          log("info", "route did not answer", { peer: p.id.slice(0, 8), url, why: errorMessage(e) });
        }
      }
      this.stats.recordRound(p.id, results, at);
      for (const r of results) {
        if (r.ok && this.stats.speeds.benchmarkDue(p.id, r.url, interval, at)) {
          if (await this.benchmark(p.id, r.url, r.latency_ms!)) report.benchmarks++;
        }
      }
      const answered = results.find((r) => r.ok);
      if (answered) {
        report.reachable++;
        this.fleet.peers.seen(p.id);
        await this.refreshCard(p.id, card, answered.url);
      }
    }
    this.stats.save();
    return report;
  }

  /** A real 256 KB transfer over `url`; true when it was recorded. */
  private async benchmark(peer: CellId, url: string, rtt: number): Promise<boolean> {
    try {
      const r = await callPeerRaw(this.fleet.cell.keys, url, peer, "POST", "/peer/bench", { bytes: BENCH_BYTES }, 30_000);
      if (r.status !== 200) throw new Error(`answered ${r.status}`);
      // Throughput = bytes / transfer time, the transfer time being the call minus one round
      // trip (signing, verifying and the request itself are in the ping as well).
      const seconds = Math.max(0.0005, (r.latency_ms - rtt) / 1000);
      return this.stats.speeds.recordBenchmark(peer, url, r.body.byteLength, seconds, Date.now());
    } catch (e) {
      log("warn", "route benchmark failed", { peer: peer.slice(0, 8), url, why: errorMessage(e) });
      return false;
    }
  }

  /** Fetch the peer's current card; keep it when it is newer and says something new (addresses, build, capabilities). */
  private async refreshCard(peer: CellId, current: Card, url: string): Promise<void> {
    try {
      const r = await callPeerRaw(this.fleet.cell.keys, url, peer, "GET", "/peer/card", undefined, 5000);
      if (r.status !== 200) throw new Error(`answered ${r.status}`);
      const keys = this.fleet.cell.keys;
      const opened = await openSealed(keys.x25519Secret, keys.x25519Public, r.body, CARD_INFO, peer);
      const next = verifyCard(JSON.parse(new TextDecoder().decode(opened)).card, { expectId: peer });
      if (isNewerCard(current, next) && cardChanged(current, next)) {
        this.fleet.peers.upsert(peer, next.name, JSON.stringify(next));
        log("info", "peer card updated", { peer: peer.slice(0, 8) });
      }
    } catch (e) {
      log("warn", "could not refresh a peer's card", { peer: peer.slice(0, 8), why: errorMessage(e) });
    }
  }

  best(peer: CellId): Route | null {
    return this.stats.speeds.best(peer);
  }

  uptimePct(peer: CellId): number | null {
    return this.stats.health.uptimePct(peer);
  }

  /** Run a round every `intervalS` seconds (and not twice at once). */
  start(intervalS: number): void {
    this.timer = setInterval(() => void this.round().catch((e) => log("error", `probe round failed: ${errorMessage(e)}`)), intervalS * 1000);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
