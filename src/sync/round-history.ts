/**
 * @module sync/round-history — the last sync rounds in brief (when, how long, the chunk bytes
 * sent and received, peers reached), kept in memory by the main thread for as long as the cell
 * runs; each finished round is also kept across restarts by cell/sync-history, which the Storage
 * tab's throughput chart is drawn from. A ring: the oldest round goes first.
 */
import type { RoundFigures } from "../cell/sync-history.ts";
import type { SyncReport } from "./round.ts";

/** One finished round, as the chart needs it (what cell/sync-history keeps across restarts). */
export type RoundPoint = RoundFigures;

/** Rounds kept: two days of the default 15-minute interval would be 192; a chart shows fewer. */
export const HISTORY_ROUNDS = 60;

export class RoundHistory {
  private points: RoundPoint[] = [];

  constructor(private readonly capacity = HISTORY_ROUNDS) {}

  /** Keep `r` in brief, dropping the oldest round past capacity. */
  add(r: SyncReport): void {
    this.points.push({
      at: r.started_at,
      duration_ms: r.duration_ms,
      bytes_sent: r.bytes_pushed,
      bytes_received: r.bytes_pulled,
      reached: r.reached,
      peers: r.peers,
    });
    if (this.points.length > this.capacity) this.points.splice(0, this.points.length - this.capacity);
  }

  /** The rounds kept, oldest first (a copy). */
  list(): RoundPoint[] {
    return this.points.map((p) => ({ ...p }));
  }
}
