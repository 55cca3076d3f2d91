/**
 * @module protocol/bounty-statement — the signed bounty statement two cells exchange each sync
 * round (docs/design.md: Bounty; docs/protocol.md, "Bounty"): one cell's view of the storage it gives
 * to and receives from one peer.
 *
 * Statement: { type: "bounty-statement", v: 1, from, to, at, given_bytes, received_bytes,
 *   given_byte_hours, received_byte_hours, relay_given_bytes?, relay_received_bytes?, signature }.
 *   `from` states it about `to`: given = bytes of `to`'s chunks that `from` keeps, received =
 *   bytes of `from`'s chunks that `to` keeps (as `to` confirmed them); the byte-hours are those
 *   amounts summed over time; relay_given = bytes a relay run by `from` carried for `to`,
 *   relay_received = bytes `to`'s relay carried for `from` (absent = 0).
 * signature = Ed25519 by `from` over the canonical JSON of every other field; the `type` field
 * keeps it from passing as another signed object. Unknown fields are ignored but kept, under the
 * signature (protocol/signed-object).
 *
 * It travels sealed (HPKE) to the receiving cell: BOUNTY_INFO (protocol/labels) for the request,
 * BOUNTY_REPLY_INFO for the answer, aad = the sender's id.
 */
import { z } from "zod";
import { GroveError } from "../core/errors.ts";
import { jsonLengthExceeds } from "../core/json-size.ts";
import { fromHex, toHex, type CellId } from "../core/types.ts";
import { sign, verify } from "../crypto/keys.ts";
import { signedBytes } from "./signed-object.ts";
import { BOUNTY_INFO } from "./labels.ts";
import { shortId } from "../core/format.ts";

export { BOUNTY_INFO };
export const BOUNTY_REPLY_INFO = `${BOUNTY_INFO}/reply`;

/** A statement dated further than this from the receiver's clock is refused (as for requests). */
export const MAX_STATEMENT_SKEW_MS = 5 * 60_000;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters");
const bytes = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const byteHours = z.number().nonnegative().finite();

export const StatementSchema = z.object({
  type: z.literal("bounty-statement"),
  v: z.literal(1),
  from: hex64,
  to: hex64,
  at: z.number().int().nonnegative(),
  given_bytes: bytes,
  received_bytes: bytes,
  given_byte_hours: byteHours,
  received_byte_hours: byteHours,
  relay_given_bytes: bytes.optional(),
  relay_received_bytes: bytes.optional(),
  signature: z.string().regex(/^[0-9a-f]{128}$/, "must be 128 lowercase hex characters"),
});
export type Statement = z.infer<typeof StatementSchema>;

/** The figures a statement carries (what a ledger knows about one peer). */
export interface StatementFigures {
  given_bytes: number;
  received_bytes: number;
  given_byte_hours: number;
  received_byte_hours: number;
  /** Bytes a relay run by this cell carried for the peer, and the peer's relay for this cell (absent = 0). */
  relay_given_bytes?: number;
  relay_received_bytes?: number;
}

/** A peer's figures before its first accrual. */
export const ZERO_FIGURES: Readonly<Required<StatementFigures>> = {
  given_bytes: 0,
  received_bytes: 0,
  given_byte_hours: 0,
  received_byte_hours: 0,
  relay_given_bytes: 0,
  relay_received_bytes: 0,
};

/** The request body (sealed): our statement. The answer (sealed): theirs. */
export const StatementMessage = z.object({ statement: z.unknown() });

/**
 * Sign `figures` as `from`'s statement about `to`, dated `at`. Byte-hours are rounded to whole
 * byte-hours (the figures are estimates; rounding keeps the JSON short and exact).
 *
 * @example makeStatement(keys.ed25519Secret, keys.id, peer, Date.now(), ledger.view(peer))
 */
export function makeStatement(secret: Uint8Array, from: CellId, to: CellId, at: number, f: StatementFigures): Statement {
  const unsigned = {
    type: "bounty-statement" as const,
    v: 1 as const,
    from,
    to,
    at,
    given_bytes: f.given_bytes,
    received_bytes: f.received_bytes,
    given_byte_hours: Math.round(f.given_byte_hours),
    received_byte_hours: Math.round(f.received_byte_hours),
    relay_given_bytes: f.relay_given_bytes ?? 0,
    relay_received_bytes: f.relay_received_bytes ?? 0,
  };
  return { ...unsigned, signature: toHex(sign(secret, signedBytes(unsigned))) };
}

/**
 * Check a statement received from `signer` for `self`: its shape, that it is from the signer and
 * to this cell (403 otherwise), its date (within MAX_STATEMENT_SKEW_MS of `now`) and its
 * signature by `from` (400 otherwise).
 */
export function verifyStatement(value: unknown, expect: { signer: CellId; self: CellId; now?: number }): Statement {
  if (jsonLengthExceeds(value ?? null, 4096)) throw new GroveError("bounty statement is larger than 4096 bytes", 413, "too_large");
  const parsed = StatementSchema.safeParse(value);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new GroveError(`bounty statement: ${i.path.join(".") || "(root)"}: ${i.message}`, 400, "bad_statement");
  }
  const s = parsed.data;
  if (s.from !== expect.signer)
    throw new GroveError(
      `bounty statement is from cell ${shortId(s.from)}, not from the cell that sent it (${shortId(expect.signer)})`,
      403,
      "bad_statement",
    );
  if (s.to !== expect.self)
    throw new GroveError(`bounty statement is addressed to cell ${shortId(s.to)}, not to this cell`, 403, "bad_statement");
  const now = expect.now ?? Date.now();
  if (Math.abs(s.at - now) > MAX_STATEMENT_SKEW_MS)
    throw new GroveError(
      `bounty statement is dated ${Math.round((s.at - now) / 1000)} s from this cell's clock (at most ${MAX_STATEMENT_SKEW_MS / 1000} s)`,
      400,
      "bad_statement",
    );
  // Over the statement as received: fields this build does not know are covered and kept (protocol/signed-object).
  if (!verify(fromHex(s.signature), signedBytes(value as object), fromHex(s.from))) {
    throw new GroveError("bounty statement: signature does not verify (forged or altered)", 400, "bad_statement");
  }
  return value as Statement;
}
