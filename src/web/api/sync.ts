/** @module web/api/sync — POST /api/sync (run a round now, wait, return its report), GET /api/sync (the last one), GET /api/placement. */
import { Hono } from "hono";
import { GroveError, errorMessage } from "../../core/errors.ts";

const HEARTBEAT_MS = 10_000;
import type { Fleet } from "../../fleet/fleet.ts";
import { placementReport } from "../../sync/placement-report.ts";
import type { WebEnv } from "../context.ts";

export function syncApi(fleet: Fleet): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const rounds = () => {
    if (!fleet.rounds) throw new GroveError("sync is not running in this cell", 503, "unavailable");
    return fleet.rounds;
  };

  // A round can outlast the server's idle timeout: the answer is streamed, a newline every
  // HEARTBEAT_MS until the report (leading whitespace keeps it valid JSON). A failed round
  // ends with {"error": …}.
  app.post("/sync", (c) => {
    const round = rounds().sync();
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(ctl) {
        const beat = setInterval(() => ctl.enqueue(enc.encode("\n")), HEARTBEAT_MS);
        try {
          ctl.enqueue(enc.encode(JSON.stringify(await round)));
        } catch (e) {
          ctl.enqueue(enc.encode(JSON.stringify({ error: `sync round failed: ${errorMessage(e)}` })));
        } finally {
          clearInterval(beat);
          ctl.close();
        }
      },
    });
    return c.body(body, 200, { "Content-Type": "application/json" });
  });
  app.get("/sync", (c) => {
    const r = rounds();
    return c.json({ running: r.running, last: r.last, last_error: r.lastError, interval_s: fleet.cell.config.sync_interval_s });
  });
  app.get("/placement", (c) => c.json(placementReport(fleet.cell, fleet.peers)));
  return app;
}
