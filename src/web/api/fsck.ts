/** @module web/api/fsck — POST /api/fsck {repair?}: check (and repair) this cell's data; the report when done (sync/fsck). */
import { Hono } from "hono";
import { z } from "zod";
import { fsck } from "../../sync/fsck.ts";
import type { WebServices } from "../services.ts";
import { jsonBody } from "../json-body.ts";
import type { WebEnv } from "../context.ts";
import { slowJson } from "../slow-json.ts";

const Body = z.strictObject({ repair: z.boolean().optional() });

export function fsckApi(s: WebServices): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  let running: Promise<unknown> | null = null;
  // A check reads every chunk: it can outlast the server's idle timeout (web/slow-json).
  app.post("/fsck", async (c) => {
    const { repair } = await jsonBody(c, Body);
    if (running) return c.json({ error: "a check is already running" }, 409);
    const job = fsck(c.var.cell, { repair: repair === true, peers: s.peers, caller: s.caller });
    running = job.finally(() => (running = null));
    return slowJson(c, job, "fsck failed");
  });
  return app;
}
