/**
 * @module bounty/ledger — the bounty ledger in placement.db (schema 010): per peer, bytes given
 * and received now (from `held` and `placements`), byte-hours summed over time, the balance
 * history, the bytes relays carried each way (schema 013), and the latest comparison of signed
 * statements. Used by the sync Worker (its own
 * connection) and the main thread alike: an accrual is one IMMEDIATE transaction, so two
 * connections accruing at once never count the same hours twice.
 */
import type { Database } from "bun:sqlite";
import type { CellId } from "../core/types.ts";
import type { Statement } from "../protocol/bounty-statement.ts";
import type { Comparison, HistoryPoint, LedgerEntry, StatementRecord } from "./types.ts";

/** A new history point when the last one is older than this (or the balance changed). */
export const HISTORY_EVERY_MS = 60_000;
/** History points older than this are dropped. */
export const HISTORY_KEEP_MS = 366 * 86_400_000;

const HOUR_MS = 3_600_000;

/**
 * Byte-hours a byte carried by a relay is worth: carrying 1 GB counts as keeping 1 GB for a day.
 * A protocol constant, not a setting, so both sides of a statement count alike.
 */
export const RELAY_CREDIT_HOURS = 24;

/** The balance over time: received − given byte-hours, relay bytes carried each way credited at RELAY_CREDIT_HOURS. */
export function balanceByteHours(
  e: Pick<LedgerEntry, "given_byte_hours" | "received_byte_hours" | "relay_given_bytes" | "relay_received_bytes">,
): number {
  return (
    e.received_byte_hours + e.relay_received_bytes * RELAY_CREDIT_HOURS - (e.given_byte_hours + e.relay_given_bytes * RELAY_CREDIT_HOURS)
  );
}

type Row = Omit<LedgerEntry, "peer"> & { peer: string };

/** Bytes of the peer's chunks kept here and of ours kept there, right now (chunks only). */
export interface CurrentBytes {
  given: number;
  received: number;
}

export class BountyLedger {
  constructor(private db: Database) {}

  /** Bytes given to and received from `peer` now, from `held` and `placements`. */
  current(peer: CellId): CurrentBytes {
    const g = this.db.query("SELECT COALESCE(SUM(size), 0) AS n FROM held WHERE owner = ? AND trashed_at IS NULL").get(peer) as {
      n: number;
    };
    const r = this.db
      .query(
        "SELECT COALESCE(SUM(COALESCE(p.size, c.size, 0)), 0) AS n FROM placements p LEFT JOIN chunks c ON c.hash = p.chunk_hash WHERE p.cell_id = ?",
      )
      .get(peer) as { n: number };
    return { given: g.n, received: r.n };
  }

  /**
   * Bring every paired peer's row up to `now`: the byte-hours grow by the bytes recorded at the
   * last accrual × the hours since (what was kept during that time, as far as this cell knows),
   * then the bytes are read again. A peer seen for the first time starts at zero byte-hours.
   * A history point is added when the balance changed or the last point is over a minute old.
   * A peer no longer paired is forgotten (paired again, it starts afresh).
   */
  accrue(now = Date.now()): void {
    this.db
      .transaction(() => {
        const gone = this.db.query("SELECT peer FROM bounty_ledger WHERE peer NOT IN (SELECT id FROM peers)").values() as [string][];
        for (const [peer] of gone)
          for (const t of ["bounty_ledger", "bounty_statements", "bounty_history"])
            this.db.query(`DELETE FROM ${t} WHERE peer = ?`).run(peer);
        const peers = (this.db.query("SELECT id FROM peers").values() as [string][]).map((r) => r[0]);
        if (!peers.length) return;
        const given = new Map(
          this.db.query("SELECT owner, SUM(size) FROM held WHERE trashed_at IS NULL GROUP BY owner").values() as [string, number][],
        );
        const received = new Map(
          this.db
            .query(
              "SELECT p.cell_id, SUM(COALESCE(p.size, c.size, 0)) FROM placements p LEFT JOIN chunks c ON c.hash = p.chunk_hash GROUP BY p.cell_id",
            )
            .values() as [string, number][],
        );
        const rowOf = this.db.query("SELECT * FROM bounty_ledger WHERE peer = ?");
        const put = this.db.query(
          `INSERT OR REPLACE INTO bounty_ledger (peer, given_bytes, received_bytes, given_byte_hours, received_byte_hours, accrued_at, relay_given_bytes, relay_received_bytes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        const lastPoint = this.db.query("SELECT at, balance_bytes FROM bounty_history WHERE peer = ? ORDER BY at DESC LIMIT 1");
        const addPoint = this.db.query(
          "INSERT OR REPLACE INTO bounty_history (peer, at, balance_bytes, balance_byte_hours) VALUES (?, ?, ?, ?)",
        );
        const prune = this.db.query("DELETE FROM bounty_history WHERE peer = ? AND at < ?");
        for (const peer of peers) {
          const row = rowOf.get(peer) as Row | null;
          const g = given.get(peer) ?? 0;
          const r = received.get(peer) ?? 0;
          const hours = row ? Math.max(0, now - row.accrued_at) / HOUR_MS : 0;
          const gbh = (row?.given_byte_hours ?? 0) + (row?.given_bytes ?? 0) * hours;
          const rbh = (row?.received_byte_hours ?? 0) + (row?.received_bytes ?? 0) * hours;
          // A clock that went back does not move accrued_at back (no hours are counted twice).
          const relay = { relay_given_bytes: row?.relay_given_bytes ?? 0, relay_received_bytes: row?.relay_received_bytes ?? 0 };
          put.run(peer, g, r, gbh, rbh, row ? Math.max(row.accrued_at, now) : now, relay.relay_given_bytes, relay.relay_received_bytes);
          const last = lastPoint.get(peer) as { at: number; balance_bytes: number } | null;
          if (!last || now - last.at >= HISTORY_EVERY_MS || last.balance_bytes !== r - g) {
            addPoint.run(peer, now, r - g, balanceByteHours({ given_byte_hours: gbh, received_byte_hours: rbh, ...relay }));
            prune.run(peer, now - HISTORY_KEEP_MS);
          }
        }
      })
      .immediate();
  }

  /**
   * Add bytes carried by relays: `given` by a relay this cell runs for `peer`, `received` by the
   * peer's relay for this cell. Only paired peers have a ledger (others are ignored; a row is
   * started for a peer not yet accrued). Returns whether the peer was counted.
   */
  addRelay(peer: CellId, given: number, received: number, now = Date.now()): boolean {
    if (given <= 0 && received <= 0) return false;
    return this.db
      .transaction(() => {
        if (!this.db.query("SELECT 1 FROM peers WHERE id = ?").get(peer)) return false;
        this.db
          .query(
            "INSERT OR IGNORE INTO bounty_ledger (peer, given_bytes, received_bytes, given_byte_hours, received_byte_hours, accrued_at) VALUES (?, 0, 0, 0, 0, ?)",
          )
          .run(peer, now);
        this.db
          .query(
            "UPDATE bounty_ledger SET relay_given_bytes = relay_given_bytes + ?, relay_received_bytes = relay_received_bytes + ? WHERE peer = ?",
          )
          .run(Math.max(0, given), Math.max(0, received), peer);
        return true;
      })
      .immediate();
  }

  /** The ledger row for `peer` (as of its last accrual), or null before the first. */
  entry(peer: CellId): LedgerEntry | null {
    return (this.db.query("SELECT * FROM bounty_ledger WHERE peer = ?").get(peer) as LedgerEntry | null) ?? null;
  }

  /** The balance of `peer` since `since` (unix ms), oldest first. */
  history(peer: CellId, since = 0): HistoryPoint[] {
    return this.db
      .query("SELECT at, balance_bytes, balance_byte_hours FROM bounty_history WHERE peer = ? AND at >= ? ORDER BY at")
      .all(peer, since) as HistoryPoint[];
  }

  /** Keep the latest exchange with `peer` (replacing the previous one). */
  recordStatement(peer: CellId, at: number, theirs: Statement, ours: Statement, c: Comparison): void {
    this.db
      .query("INSERT OR REPLACE INTO bounty_statements (peer, at, theirs, ours, agree, reason) VALUES (?, ?, ?, ?, ?, ?)")
      .run(peer, at, JSON.stringify(theirs), JSON.stringify(ours), c.agree ? 1 : 0, c.reason);
  }

  /** The latest exchange with each peer. */
  statements(): StatementRecord[] {
    const rows = this.db.query("SELECT * FROM bounty_statements ORDER BY peer").all() as {
      peer: CellId;
      at: number;
      theirs: string;
      ours: string;
      agree: number;
      reason: string | null;
    }[];
    return rows.map((r) => ({
      peer: r.peer,
      at: r.at,
      theirs: JSON.parse(r.theirs) as Statement,
      ours: JSON.parse(r.ours) as Statement,
      agree: r.agree === 1,
      reason: r.reason,
    }));
  }
}
