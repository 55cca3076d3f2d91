/**
 * @module bounty/report — the bounty as shown (GET /api/bounty, `grove bounty`, the Bounty tab):
 * per paired peer the bytes and byte-hours given and received, the bytes relays carried each
 * way, the balances, the allowance and
 * whether it applies, the latest comparison of statements; and each peer's balance over time,
 * thinned to at most MAX_POINTS points for a chart.
 */
import type { Database } from "bun:sqlite";
import type { PeerStore } from "../fleet/peer-store.ts";
import { exemptionOf, overAllowance, type AllowanceConfig } from "./allowance.ts";
import { BountyLedger, RELAY_CREDIT_HOURS, balanceByteHours } from "./ledger.ts";
import { ZERO_FIGURES } from "../protocol/bounty-statement.ts";
import type { BountyReport, HistoryPoint } from "./types.ts";

/** History points per peer in a report at most (evenly thinned; the newest is always kept). */
export const MAX_POINTS = 400;

/** Keep at most `max` points, evenly spaced by index, the first and the last included. */
export function thin(points: readonly HistoryPoint[], max = MAX_POINTS): HistoryPoint[] {
  if (points.length <= max) return [...points];
  const out: HistoryPoint[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * step)]!);
  return out;
}

/**
 * Accrue the ledger to `now` and report it. `since` (unix ms) limits the history.
 *
 * @example bountyReport(cell.db.db, fleet.peers, cell.config)
 */
export function bountyReport(
  db: Database,
  peers: Pick<PeerStore, "list">,
  config: AllowanceConfig,
  opts: { now?: number; since?: number } = {},
): BountyReport {
  const now = opts.now ?? Date.now();
  const ledger = new BountyLedger(db);
  ledger.accrue(now);
  const statements = new Map(ledger.statements().map((s) => [s.peer as string, s]));
  const rows = peers.list();
  const report: BountyReport = {
    at: now,
    allowance_bytes: config.bounty_allowance_bytes,
    exempt_favorites: config.bounty_exempt_favorites,
    exempt_friends: config.bounty_exempt_friends,
    relay_credit_hours: RELAY_CREDIT_HOURS,
    peers: [],
    history: [],
  };
  for (const p of rows) {
    const e = ledger.entry(p.id) ?? ZERO_FIGURES;
    const exemptAs = exemptionOf(p, config);
    const balance = e.received_bytes - e.given_bytes;
    const s = statements.get(p.id);
    report.peers.push({
      peer: p.id,
      name: p.name,
      given_bytes: e.given_bytes,
      received_bytes: e.received_bytes,
      balance_bytes: balance,
      given_byte_hours: e.given_byte_hours,
      received_byte_hours: e.received_byte_hours,
      relay_given_bytes: e.relay_given_bytes,
      relay_received_bytes: e.relay_received_bytes,
      balance_byte_hours: balanceByteHours(e),
      allowance_bytes: config.bounty_allowance_bytes,
      exempt: exemptAs !== null,
      exempt_as: exemptAs,
      over_allowance: overAllowance(balance, config.bounty_allowance_bytes, exemptAs !== null),
      statement: s ? { at: s.at, agree: s.agree, reason: s.reason, theirs: s.theirs, ours: s.ours } : null,
    });
    report.history.push({ peer: p.id, name: p.name, points: thin(ledger.history(p.id, opts.since ?? 0)) });
  }
  return report;
}
