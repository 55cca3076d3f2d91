/**
 * @module web/peer-message-api — POST /peer/msg: a message from a paired cell. The request is
 * already signed by a known peer (web/peer-api); here the body must be at most 64 KiB, open as a
 * message sealed to this cell by that peer (`grove/v1/msg`, aad = its id), and hold a well-formed
 * payload (protocol/message). Anything else is a 4xx, logged, and nothing is stored. The same
 * message twice is stored once and answered 200 both times. A new message over the peer's rate
 * or storage cap (message/inbox-limits) gets 429 (saying when to retry) or 507, and stays queued
 * with its sender.
 */
import { Hono } from "hono";
import { tooLarge } from "../core/errors.ts";
import type { WebServices } from "./services.ts";
import { MSG_INFO } from "../protocol/labels.ts";
import { MAX_MESSAGE_BODY, parsePayload } from "../protocol/message.ts";
import { openJson } from "../protocol/sealed-json.ts";
import type { PeerEnv } from "./peer-sync-api.ts";
import { InboxLimits } from "../message/inbox-limits.ts";

export function peerMessageApi(s: WebServices): Hono<PeerEnv> {
  const app = new Hono<PeerEnv>();
  const { keys } = s.cell;
  const limits = new InboxLimits(s.cell.db.db, s.cell.config);

  app.post("/", async (c) => {
    const from = c.var.peer;
    const body = c.var.peerBody;
    if (body.byteLength > MAX_MESSAGE_BODY)
      throw tooLarge(`a message body is at most ${MAX_MESSAGE_BODY} bytes (this one has ${body.byteLength})`);
    const m = parsePayload(await openJson(keys, body, MSG_INFO, from));
    if (!s.messenger.has(m.id)) {
      limits.admit(from, m.text.length);
    }
    const { fresh } = s.messenger.receive(from, m);
    return c.json({ received: true, id: m.id, duplicate: !fresh });
  });

  return app;
}
