/**
 * @module bounty/exchange — both sides of POST /peer/bounty/statement (docs/protocol.md,
 * "Bounty"). The caller (a sync round) sends its signed statement about the peer, sealed to it;
 * the peer checks it, compares it with its own view, keeps the comparison and answers with its
 * own signed statement, which the caller checks and compares the same way. Disagreements are
 * stored with both statements and the reason, and logged; nothing is merged.
 */
import { GroveError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { CellId } from "../core/types.ts";
import type { CellKeys } from "../crypto/keys.ts";
import { callPeerRaw, PeerCallError, refusalText, type PeerCaller } from "../net/peer-client.ts";
import {
  BOUNTY_INFO,
  BOUNTY_REPLY_INFO,
  StatementMessage,
  ZERO_FIGURES,
  makeStatement,
  verifyStatement,
  type Statement,
} from "../protocol/bounty-statement.ts";
import { openJson, sealJson } from "../protocol/sealed-json.ts";
import { compareStatement } from "./compare.ts";
import type { BountyLedger } from "./ledger.ts";
import type { Comparison } from "./types.ts";
import { shortId } from "../core/format.ts";

export const STATEMENT_PATH = "/peer/bounty/statement";

/** This cell's signed statement about `peer`, from the ledger as last accrued (zeros before). */
export function ourStatement(keys: CellKeys, ledger: BountyLedger, peer: CellId, now = Date.now()): Statement {
  const e = ledger.entry(peer);
  return makeStatement(keys.ed25519Secret, keys.id, peer, now, e ?? ZERO_FIGURES);
}

/** Compare, keep and log the outcome of one exchange. */
function settle(ledger: BountyLedger, peer: CellId, label: string, theirs: Statement, ours: Statement, now: number): Comparison {
  const c = compareStatement(theirs, ours, label);
  ledger.recordStatement(peer, now, theirs, ours, c);
  if (!c.agree) log("warn", `bounty: statements disagree with ${label}: ${c.reason}`);
  return c;
}

/**
 * The answering side: `raw` is the opened request body from `signer`. Checks the statement
 * (4xx when it is malformed, forged, not from the signer or not to this cell), accrues, compares
 * and keeps the result, and returns this cell's own statement for the answer.
 */
export function receiveStatement(
  keys: CellKeys,
  ledger: BountyLedger,
  signer: CellId,
  label: string,
  raw: unknown,
  now = Date.now(),
): { statement: Statement; comparison: Comparison } {
  const msg = StatementMessage.safeParse(raw);
  if (!msg.success) throw new GroveError("a bounty statement request is {statement}", 400, "bad_request");
  const theirs = verifyStatement(msg.data.statement, { signer, self: keys.id, now });
  ledger.accrue(now);
  const ours = ourStatement(keys, ledger, signer, now);
  return { statement: ours, comparison: settle(ledger, signer, label, theirs, ours, now) };
}

export interface StatementTarget {
  id: CellId;
  /** Its best route this round. */
  url: string;
  x25519: Uint8Array;
  /** "name (id8)", for reasons and logs. */
  label: string;
}

/**
 * The calling side: send our statement about `to` (from the ledger, which the caller accrued),
 * check the signed statement it answers with, compare and keep the result. Throws
 * PeerCallError when the peer refuses (404: a build without bounty) or its answer is not valid.
 */
export async function exchangeStatement(
  caller: PeerCaller,
  ledger: BountyLedger,
  to: StatementTarget,
  now = Date.now(),
): Promise<Comparison> {
  const { keys } = caller;
  const ours = ourStatement(keys, ledger, to.id, now);
  const body = await sealJson(to.x25519, { statement: ours }, BOUNTY_INFO, keys.id);
  const ans = await callPeerRaw(caller, to.url, to.id, "POST", STATEMENT_PATH, body);
  if (ans.status !== 200)
    throw new PeerCallError(`cell ${shortId(to.id)} refused our bounty statement: ${refusalText(ans.body)}`, ans.status);
  let theirs: Statement;
  try {
    const msg = StatementMessage.parse(await openJson(keys, ans.body, BOUNTY_REPLY_INFO, to.id));
    theirs = verifyStatement(msg.statement, { signer: to.id, self: keys.id });
  } catch (e) {
    throw new PeerCallError(`cell ${shortId(to.id)} answered with an invalid bounty statement: ${(e as Error).message}`);
  }
  return settle(ledger, to.id, to.label, theirs, ours, Date.now());
}
