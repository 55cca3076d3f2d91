/**
 * @module bounty/types — the bounty vocabulary (docs/design.md: Bounty): the ledger's view of one peer,
 * the balance history, the stored comparison of statements, and the report that the API, the
 * CLI and the Bounty tab show.
 *
 * Direction words, always from this cell's side: *given* = bytes of the peer's chunks this cell
 * keeps; *received* = bytes of our chunks the peer keeps (as it confirmed). Balance = received −
 * given: negative means this cell keeps more for the peer than the peer keeps for it.
 */
import type { CellId } from "../core/types.ts";
import type { Statement, StatementFigures } from "../protocol/bounty-statement.ts";

/** The ledger's row for one peer, as of `accrued_at`. */
export interface LedgerEntry extends Required<StatementFigures> {
  peer: CellId;
  accrued_at: number;
}

export interface HistoryPoint {
  at: number;
  balance_bytes: number;
  balance_byte_hours: number;
}

/** The outcome of comparing a peer's statement with this cell's view (bounty/compare). */
export interface Comparison {
  agree: boolean;
  /** Every figure beyond its tolerance, in words; null when they agree. */
  reason: string | null;
}

/** The latest exchange of statements with a peer, as stored. */
export interface StatementRecord extends Comparison {
  peer: CellId;
  at: number;
  theirs: Statement;
  ours: Statement;
}

/** Why a peer is not held to the allowance (config bounty_exempt_*), or null. */
export type Exemption = "favorite" | "friend" | null;

/** One peer in GET /api/bounty, `grove bounty` and the Bounty tab. */
export interface BountyPeer {
  peer: CellId;
  name: string;
  given_bytes: number;
  received_bytes: number;
  /** received_bytes − given_bytes: what enforcement uses. */
  balance_bytes: number;
  given_byte_hours: number;
  received_byte_hours: number;
  /** Bytes a relay run by this cell carried for the peer, and the peer's relay for this cell. */
  relay_given_bytes: number;
  relay_received_bytes: number;
  /** received − given byte-hours, relay bytes each way counted at relay_credit_hours: the credit earned over time. */
  balance_byte_hours: number;
  allowance_bytes: number;
  exempt: boolean;
  exempt_as: Exemption;
  /** Not exempt and balance_bytes < −allowance_bytes: its new chunks are refused here. */
  over_allowance: boolean;
  statement: { at: number; agree: boolean; reason: string | null; theirs: Statement; ours: Statement } | null;
}

export interface BountyHistory {
  peer: CellId;
  name: string;
  points: HistoryPoint[];
}

export interface BountyReport {
  at: number;
  allowance_bytes: number;
  exempt_favorites: boolean;
  exempt_friends: boolean;
  /** Byte-hours credited per byte a relay carried (bounty/ledger RELAY_CREDIT_HOURS). */
  relay_credit_hours: number;
  peers: BountyPeer[];
  history: BountyHistory[];
}
