/**
 * @module web/api/local — /api/local: file transfers between the cell and this machine's disk,
 * for the local CLI (`grove put` / `grove get`). The cell reads or writes the named file itself,
 * so bulk data never crosses a socket.
 *
 * Bearer token only: a dashboard session (a browser) may never name files on the disk. Answers
 * are NDJSON: `{"progress": {...}}` lines while working, then one `{"result": ...}` or
 * `{"error": "..."}` line. Problems found before work starts are plain 4xx JSON.
 */
import { Hono } from "hono";
import { z } from "zod";
import { badRequest, errorMessage, forbidden } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { ingest } from "../../ingest/ingest.ts";
import { safePath } from "../../ingest/home-path.ts";
import { exportFile, localDestination, localFilePieces, localSource } from "../../ingest/local-files.ts";
import type { WebEnv } from "../context.ts";
import { jsonBody } from "../json-body.ts";
import { manifestFor } from "./files.ts";

const PutBody = z.object({ source: z.string().min(1).max(4096), path: z.string().min(1).max(4096) }).strict();
const GetBody = z
  .object({
    path: z.string().min(1).max(4096),
    dest: z.string().min(1).max(4096),
    version: z.number().int().positive().optional(),
    sync: z.boolean().optional(),
  })
  .strict();

type Progress = { phase: string; done: number; total: number };

/** Run `work` while streaming NDJSON progress lines (at most ~4 a second), then its result or error. */
function ndjson(work: (progress: (p: Progress) => void) => Promise<unknown>): Response {
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(ctl) {
      let last = 0;
      const progress = (p: Progress) => {
        const now = performance.now();
        if (now - last < 250) return;
        last = now;
        ctl.enqueue(enc.encode(JSON.stringify({ progress: p }) + "\n"));
      };
      try {
        const result = await work(progress);
        ctl.enqueue(enc.encode(JSON.stringify({ result }) + "\n"));
      } catch (e) {
        log("warn", `local transfer failed: ${errorMessage(e)}`);
        ctl.enqueue(enc.encode(JSON.stringify({ error: errorMessage(e) }) + "\n"));
      }
      ctl.close();
    },
  });
  return new Response(stream, { headers: { "Content-Type": "application/x-ndjson" } });
}

export const localApi = new Hono<WebEnv>();

localApi.use("*", async (c, next) => {
  if (c.var.auth !== "bearer") throw forbidden("local file transfers need the API token (Authorization: Bearer), not a dashboard session");
  await next();
});

localApi.post("/put", async (c) => {
  const cell = c.var.cell;
  const b = await jsonBody(c, PutBody);
  const path = safePath(b.path);
  const size = await localSource(b.source);
  if (size > cell.config.max_upload_bytes)
    throw badRequest(`${b.source} is larger than max_upload_bytes (${cell.config.max_upload_bytes})`);
  return ndjson(async (progress) => {
    const r = await ingest(cell.vault, path, localFilePieces(b.source, size, cell.vault.buffers), {
      maxBytes: cell.config.max_upload_bytes,
      expectedSize: size,
      reread: b.source,
      onProgress: (phase, done, total) => progress({ phase, done, total }),
    });
    log("info", r.created ? "stored" : "unchanged", {
      path,
      version: r.version,
      size: r.manifest.total_size,
      new_chunks: r.new_chunks,
      from: "local",
    });
    return { path, ...r };
  });
});

localApi.post("/get", async (c) => {
  const cell = c.var.cell;
  const b = await jsonBody(c, GetBody);
  const path = safePath(b.path);
  const dest = await localDestination(b.dest, cell.layout.dir);
  const { manifest, version } = manifestFor(cell, path, b.version);
  return ndjson(async (progress) => {
    const bytes = await exportFile(cell.vault, manifest, dest, {
      sync: b.sync,
      onProgress: (done, total) => progress({ phase: "write", done, total }),
    });
    return { path, version, dest, bytes };
  });
});
