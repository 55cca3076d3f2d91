/** @module web/server — binds the Hono app to Bun.serve (the one adapter to Bun's HTTP server). */
import type { Server } from "bun";
import type { Hono } from "hono";
import type { WebEnv } from "./context.ts";

export interface ServeOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
}

export function serve(app: Hono<WebEnv>, opts: ServeOptions): Server<undefined> {
  return Bun.serve({
    hostname: opts.host,
    port: opts.port,
    // Uploads stream through. The API enforces max_upload_bytes itself (with a clear message),
    // so Bun's own bound sits above it.
    maxRequestBodySize: opts.maxBodyBytes,
    idleTimeout: 255,
    fetch: (req, server) => app.fetch(req, { server }),
  });
}
