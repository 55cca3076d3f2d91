/**
 * @module web/api/scan — POST /api/scan: the file watcher looks now (Syncthing's REST scan).
 * Every new or changed file under `path` (a folder or a file in GROVE_HOME or a watched folder;
 * all of them when absent) is stored at once, without waiting for it to settle; the answer comes
 * once they are stored: `{looked, stored, failed}`.
 */
import { Hono } from "hono";
import { z } from "zod";
import { badRequest, GroveError, notFound } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { ScanRefused } from "../../ingest/file-watcher.ts";
import { safePath } from "../../ingest/home-path.ts";
import type { WebEnv } from "../context.ts";
import { jsonBody } from "../json-body.ts";
import type { WebServices } from "../services.ts";
import { slowJson } from "../slow-json.ts";

const ScanBody = z.object({ path: z.string().min(1).max(4096).optional() }).strict();

export function scanApi(s: Pick<WebServices, "scanner">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.post("/scan", async (c) => {
    const body = await jsonBody(c, ScanBody);
    const scanner = s.scanner;
    if (!scanner)
      throw new GroveError(
        "the file watcher is off on this cell (config watch_home is false and watch_dirs is empty): nothing to scan",
        409,
        "conflict",
      );
    const under = body.path === undefined ? null : safePath(body.path);
    let plan;
    try {
      plan = await scanner.findForScan(under);
    } catch (e) {
      if (e instanceof ScanRefused) {
        log("warn", `scan refused: ${e.message}`, { path: body.path ?? "" });
        throw (e.missing ? notFound : badRequest)(`cannot scan: ${e.message}`);
      }
      throw e;
    }
    return slowJson(c, scanner.scan(plan), "scan failed");
  });
  return app;
}
