/**
 * @module web/api/messages — messaging over the local API: GET /api/messages (one conversation
 * per peer: last message, unread, queued and failed counts), GET /api/messages/:peer (the
 * conversation, oldest first; `?limit=N`; marks what the peer sent read) and POST
 * /api/messages/:peer `{text}` (send: 201 with the stored message, delivered or queued).
 * `:peer` is a cell id or a unique prefix.
 */
import { Hono } from "hono";
import { z } from "zod";
import { badRequest } from "../../core/errors.ts";
import type { WebServices } from "../services.ts";
import { MAX_LIMIT } from "../../message/messenger.ts";
import type { WebEnv } from "../context.ts";
import { jsonBody } from "../json-body.ts";

/** `?limit=N`: 1 to MAX_LIMIT, or absent. */
function limitOf(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw badRequest(`limit must be 1 to ${MAX_LIMIT}`);
  return n;
}

export function messagesApi(s: WebServices): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const messenger = s.messenger;

  app.get("/messages", (c) => c.json(messenger.conversations()));
  app.get("/messages/:peer", (c) => {
    const conv = messenger.conversation(c.req.param("peer"), { limit: limitOf(c.req.query("limit")), markRead: true });
    return c.json(conv.messages);
  });
  app.post("/messages/:peer", async (c) => {
    // Text limits (length, control characters) are checked by the messenger with clear messages.
    const b = await jsonBody(c, z.strictObject({ text: z.string().max(256 * 1024) }));
    return c.json(await messenger.send(c.req.param("peer"), b.text), 201);
  });
  return app;
}
