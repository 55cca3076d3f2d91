/** @module web/api/sync — POST /api/sync (run a round now, wait, return its report), GET /api/sync (the running one's progress, the last one, the recovery round's outcome), GET /api/placement. */
import { Hono } from "hono";
import { GroveError } from "../../core/errors.ts";
import { slowJson } from "../slow-json.ts";
import type { WebServices } from "../services.ts";
import { placementReport } from "../../sync/placement-report.ts";
import type { WebEnv } from "../context.ts";

export function syncApi(s: WebServices): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const rounds = () => {
    if (!s.rounds) throw new GroveError("sync is not running in this cell", 503, "unavailable");
    return s.rounds;
  };

  // A round can outlast the server's idle timeout: see web/slow-json.
  app.post("/sync", (c) => slowJson(c, rounds().sync(), "sync round failed"));
  app.get("/sync", (c) => {
    const r = rounds();
    return c.json({
      running: r.running,
      progress: r.progress,
      last: r.last,
      last_error: r.lastError,
      recovery: r.recovery ?? null,
      interval_s: s.cell.config.sync_interval_s,
    });
  });
  app.get("/placement", (c) => c.json(placementReport(s.cell, s.peers)));
  return app;
}
