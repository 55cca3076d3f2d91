/**
 * @module bounty/compare — does a peer's statement agree with this cell's view? Pure.
 *
 * The peer's *given* is our *received* and the other way round. Bytes agree when they differ by
 * at most max(5 % of the larger, 16 MiB) (a chunk pushed between the two readings); byte-hours
 * by at most max(10 % of the larger, 1 GiB·h), since the two sides accrue at different moments.
 */
import { count, formatBytes } from "../core/format.ts";
import type { StatementFigures } from "../protocol/bounty-statement.ts";
import type { Comparison } from "./types.ts";

export const BYTES_TOLERANCE = { share: 0.05, floor: 16 * 1024 ** 2 } as const;
export const BYTE_HOURS_TOLERANCE = { share: 0.1, floor: 1024 ** 3 } as const;

/** The largest difference allowed between `a` and `b`. */
export function tolerance(a: number, b: number, t: { share: number; floor: number }): number {
  return Math.max(t.share * Math.max(Math.abs(a), Math.abs(b)), t.floor);
}

const hours = (n: number) => `${formatBytes(Math.round(n))}·h`;

/**
 * Compare `theirs` (the peer's statement about this cell) with `ours` (this cell's figures about
 * the peer). `peer` names it in the reason.
 *
 * @example compareStatement(stmt, ledger.entry(peer), "pi (3fa9c2d1)") // {agree: true, reason: null}
 */
export function compareStatement(theirs: StatementFigures, ours: StatementFigures, peer = "the peer"): Comparison {
  type Check = {
    says: (x: string) => string;
    said: number;
    counted: number;
    t: typeof BYTES_TOLERANCE | typeof BYTE_HOURS_TOLERANCE;
    fmt: (n: number) => string;
  };
  const checks: Check[] = [
    {
      says: (x) => `it keeps ${x} for this cell`,
      said: theirs.given_bytes,
      counted: ours.received_bytes,
      t: BYTES_TOLERANCE,
      fmt: formatBytes,
    },
    {
      says: (x) => `this cell keeps ${x} for it`,
      said: theirs.received_bytes,
      counted: ours.given_bytes,
      t: BYTES_TOLERANCE,
      fmt: formatBytes,
    },
    {
      says: (x) => `it has kept ${x} for this cell over time`,
      said: theirs.given_byte_hours,
      counted: ours.received_byte_hours,
      t: BYTE_HOURS_TOLERANCE,
      fmt: hours,
    },
    {
      says: (x) => `this cell has kept ${x} for it over time`,
      said: theirs.received_byte_hours,
      counted: ours.given_byte_hours,
      t: BYTE_HOURS_TOLERANCE,
      fmt: hours,
    },
    {
      says: (x) => `its relay carried ${x} for this cell`,
      said: theirs.relay_given_bytes ?? 0,
      counted: ours.relay_received_bytes ?? 0,
      t: BYTES_TOLERANCE,
      fmt: formatBytes,
    },
    {
      says: (x) => `this cell's relay carried ${x} for it`,
      said: theirs.relay_received_bytes ?? 0,
      counted: ours.relay_given_bytes ?? 0,
      t: BYTES_TOLERANCE,
      fmt: formatBytes,
    },
  ];
  const off: string[] = [];
  for (const c of checks) {
    const diff = Math.abs(c.said - c.counted);
    const allowed = tolerance(c.said, c.counted, c.t);
    if (diff > allowed)
      off.push(
        `${peer} says ${c.says(c.fmt(c.said))}, this cell counts ${c.fmt(c.counted)} (off by ${c.fmt(diff)}, tolerance ${c.fmt(allowed)})`,
      );
  }
  if (!off.length) return { agree: true, reason: null };
  return { agree: false, reason: `${count(off.length, "figure")} disagree: ${off.join("; ")}` };
}
