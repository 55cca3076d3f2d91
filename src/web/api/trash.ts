/**
 * @module web/api/trash — /api/trash: what waits in the trash and when it goes (GET), purged
 * versions back into a file's history (POST /api/trash/restore {path}), and a collection pass
 * now (POST /api/trash/collect). Purging itself is DELETE /api/files/<path>?purge=N|all.
 */
import { Hono } from "hono";
import { z } from "zod";
import { log } from "../../core/log.ts";
import { safePath } from "../../ingest/home-path.ts";
import { trashListing } from "../../trash/listing.ts";
import { restorePurged } from "../../trash/history.ts";
import { collect, collectContextOf } from "../../trash/collector.ts";
import type { WebEnv } from "../context.ts";
import { jsonBody } from "../json-body.ts";

const RestoreBody = z.strictObject({ path: z.string().min(1).max(4096) });

export const trashApi = new Hono<WebEnv>();

trashApi.get("/trash", (c) => c.json(trashListing(c.var.cell.db.db, c.var.cell.config)));

trashApi.post("/trash/restore", async (c) => {
  const body = await jsonBody(c, RestoreBody);
  const cell = c.var.cell;
  const r = restorePurged(cell.db.db, cell.store, safePath(body.path));
  log("info", "purged versions restored from the trash", { path: r.path, versions: r.restored.join(",") });
  return c.json({ ...r, versions: cell.db.versions(r.path) });
});

trashApi.post("/trash/collect", (c) => c.json(collect(collectContextOf(c.var.cell))));
