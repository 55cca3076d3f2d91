/** @module web/api/sync — POST /api/sync (run a round now, wait, return its report), GET /api/sync (the last one), GET /api/placement. */
import { Hono } from "hono";
import { GroveError } from "../../core/errors.ts";
import type { Fleet } from "../../fleet/fleet.ts";
import { placementReport } from "../../sync/placement-report.ts";
import type { WebEnv } from "../context.ts";

export function syncApi(fleet: Fleet): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const rounds = () => {
    if (!fleet.rounds) throw new GroveError("sync is not running in this cell", 503, "unavailable");
    return fleet.rounds;
  };

  app.post("/sync", async (c) => c.json(await rounds().sync()));
  app.get("/sync", (c) => {
    const r = rounds();
    return c.json({ running: r.running, last: r.last, last_error: r.lastError, interval_s: fleet.cell.config.sync_interval_s });
  });
  app.get("/placement", (c) => c.json(placementReport(fleet.cell, fleet.peers)));
  return app;
}
