/**
 * @module web/api/share — sharing over the local API: POST/GET /api/shares, POST
 * /api/shares/:id/revoke, GET /api/feed, GET /api/feed/:id, GET /api/feed/:id/content (the
 * received file, fetched from whichever cell has it, verified and decrypted; its
 * Content-Disposition names it by its safe local name, core/safe-filename).
 */
import { Hono } from "hono";
import { z } from "zod";
import type { WebServices } from "../services.ts";
import type { WebEnv } from "../context.ts";
import { jsonBody } from "../json-body.ts";
import { safeFilename } from "../../core/safe-filename.ts";

/** encodeURIComponent, plus the characters RFC 5987 does not allow unencoded ('()*). */
const encodeRfc5987 = (s: string) => encodeURIComponent(s).replace(/['()*]/g, (ch) => "%" + ch.charCodeAt(0).toString(16).toUpperCase());

export function shareApi(s: WebServices): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const sharing = s.sharing;

  app.post("/shares", async (c) => {
    const b = await jsonBody(
      c,
      z.strictObject({
        path: z.string().min(1).max(4096),
        with: z.string().min(1).max(64),
        expires_s: z.number().int().positive().optional(),
      }),
    );
    return c.json(await sharing.share(b.path, b.with, b.expires_s), 201);
  });
  app.get("/shares", (c) => c.json(sharing.shares()));
  app.post("/shares/:id/revoke", async (c) => c.json(await sharing.revoke(c.req.param("id"))));

  app.get("/feed", (c) => c.json(sharing.feed()));
  app.get("/feed/:id", (c) => c.json(sharing.feedItem(c.req.param("id"))));
  app.get("/feed/:id/content", async (c) => {
    const { item, body } = await sharing.open(c.req.param("id"));
    return c.body(body, 200, {
      "Content-Type": item.file_type,
      // The sharer chose the name: suggest the safe local name (core/safe-filename), RFC 5987-encoded.
      "Content-Disposition": `attachment; filename*=UTF-8''${encodeRfc5987(safeFilename(item.filename, `shared-${item.id.slice(0, 12)}`))}`,
      "X-Grove-Length": String(item.size),
      "X-Content-Type-Options": "nosniff",
    });
  });
  return app;
}
