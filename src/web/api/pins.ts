/**
 * @module web/api/pins — which files of my cells this cell keeps in GROVE_HOME (mine/my-tree):
 *   GET  /api/pins                 → {home_mode, pins}
 *   POST /api/pins    {path}       → {path, files, written, failed}: pinned, its files written here
 *   POST /api/pins/remove {path}   → {path, unpinned, dropped, kept}; 409 in home_mode "mirror"
 * `path` is a file or a folder of the tree; "" pins (or unpins) everything.
 */
import { Hono } from "hono";
import { z } from "zod";
import { safeDir } from "../../ingest/home-path.ts";
import type { WebEnv } from "../context.ts";
import type { WebServices } from "../services.ts";
import { jsonBody } from "../json-body.ts";

const PathBody = z.strictObject({ path: z.string().max(4096) });

export function pinsApi(s: Pick<WebServices, "tree">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get("/pins", (c) => c.json({ home_mode: c.var.cell.config.home_mode, pins: c.var.cell.tree.pins() }));
  app.post("/pins", async (c) => c.json(await s.tree.pin(safeDir((await jsonBody(c, PathBody)).path))));
  app.post("/pins/remove", async (c) => c.json(s.tree.unpin(safeDir((await jsonBody(c, PathBody)).path))));
  return app;
}
