/**
 * @module web/api/update — the self-update through the local API.
 *
 *   GET  /api/update                 → {current, available, last, updating, trusted_release_keys, auto_update}
 *   POST /api/update {"check": true} → ask every peer now: {current, available, refused, asked, note?}
 *   POST /api/update                 → install the newest trusted build a peer offers. Refusals come
 *        back as plain errors (400 from source, 409 up to date or busy, 422 unsigned, untrusted or
 *        forged); otherwise the answer streams NDJSON: {"progress": {phase, done, total}} lines,
 *        then {"result": {state: "restarting", from, to, build_time, peer}} or {"error": "…"}
 *        (e.g. a tampered download). After "restarting" the cell stops and comes back as the new build.
 */
import { Hono } from "hono";
import { z } from "zod";
import { errorMessage } from "../../core/errors.ts";
import type { WebServices } from "../services.ts";
import { readUpdateRecord } from "../../update/update-state.ts";
import { jsonBody } from "../json-body.ts";
import type { WebEnv } from "../context.ts";

const UpdateRequest = z.object({ check: z.boolean().optional() }).strict();

export function updateApi(s: WebServices): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  app.get("/update", (c) => {
    const u = s.updater;
    const self = u.host.self;
    return c.json({
      current: { build: self.build, build_time: self.build_time, target: self.target, compiled: self.exe !== null },
      available: u.available(),
      last: readUpdateRecord(s.cell.layout.dir),
      updating: u.updating || u.swapped !== null,
      trusted_release_keys: s.cell.config.trusted_release_keys.length,
      auto_update: s.cell.config.auto_update,
    });
  });

  app.post("/update", async (c) => {
    const req = await jsonBody(c, UpdateRequest);
    const u = s.updater;
    if (req.check) return c.json(await u.check({ all: true }));
    u.ready();
    const offer = await u.check({ all: true });
    u.pick(offer); // refusals as plain HTTP errors, before the stream starts
    const enc = new TextEncoder();
    const line = (v: unknown) => enc.encode(JSON.stringify(v) + "\n");
    const body = new ReadableStream<Uint8Array>({
      async start(ctl) {
        let last = 0;
        try {
          const result = await u.perform((p) => {
            const now = Date.now();
            if (p.phase !== "download" || p.done === p.total || now - last > 250) {
              last = now;
              ctl.enqueue(line({ progress: p }));
            }
          }, offer);
          ctl.enqueue(line({ result }));
        } catch (e) {
          ctl.enqueue(line({ error: errorMessage(e) }));
        } finally {
          ctl.close();
        }
      },
    });
    return c.body(body, 200, { "Content-Type": "application/x-ndjson" });
  });

  return app;
}
