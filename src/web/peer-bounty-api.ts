/**
 * @module web/peer-bounty-api — POST /peer/bounty/statement: a peer's signed bounty statement
 * about this cell, sealed to it (the request is already signed by a known peer, web/peer-api).
 * The statement must be from the signer and to this cell; this cell accrues its ledger,
 * compares, keeps the comparison (a disagreement is flagged, not merged) and answers with its
 * own signed statement, sealed to the peer. See bounty/exchange.
 */
import { Hono } from "hono";
import { fromHex } from "../core/types.ts";
import type { WebServices } from "./services.ts";
import type { Card } from "../protocol/card.ts";
import { BOUNTY_INFO, BOUNTY_REPLY_INFO } from "../protocol/bounty-statement.ts";
import { openJson, sealJson } from "../protocol/sealed-json.ts";
import { BountyLedger } from "../bounty/ledger.ts";
import { receiveStatement } from "../bounty/exchange.ts";
import type { PeerEnv } from "./peer-sync-api.ts";
import { shortId } from "../core/format.ts";

export function peerBountyApi(s: WebServices): Hono<PeerEnv> {
  const app = new Hono<PeerEnv>();
  const { keys } = s.cell;
  const ledger = new BountyLedger(s.cell.db.db);

  app.post("/statement", async (c) => {
    const peer = c.var.peer;
    const row = s.peers.get(peer)!;
    const raw = await openJson(keys, c.var.peerBody, BOUNTY_INFO, peer);
    const { statement } = receiveStatement(keys, ledger, peer, `${row.name} (${shortId(peer)})`, raw);
    const sealed = await sealJson(fromHex((JSON.parse(row.card) as Card).x25519), { statement }, BOUNTY_REPLY_INFO, keys.id);
    return c.body(sealed as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
  });

  return app;
}
