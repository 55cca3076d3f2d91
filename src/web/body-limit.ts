/**
 * @module web/body-limit — the byte limit of every dashboard and local API request body,
 * enforced while it streams in (hono/body-limit: a declared length over the limit is refused
 * before reading, a chunked body at the first byte past it), before authentication reads a form.
 *
 * Streamed uploads (PUT /api/files/*, PUT /api/models/*, PUT /dav/*: chunked or not) count their
 * own bytes against `max_upload_bytes` as they store them; /peer/* bodies are read by web/peer-api
 * with its own limits. Other WebDAV requests carry small XML bodies (PROPFIND, PROPPATCH, LOCK).
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { tooLarge } from "../core/errors.ts";
import type { WebEnv } from "./context.ts";

/** Login, setup and logout forms. */
export const AUTH_FORM_MAX = 16 * 1024;
/** A model uploaded as a form (browsers without JavaScript; app.js streams to the API instead). */
export const MODEL_FORM_MAX = 1024 ** 3;
/** A WebDAV request other than PUT: its XML body (PROPFIND, PROPPATCH, LOCK) or none. */
export const DAV_BODY_MAX = 64 * 1024;
/** Every other body: JSON requests and dashboard forms. */
export const DEFAULT_BODY_MAX = 1024 * 1024;

/** The limit for this request, or null when the route counts its own bytes (streamed uploads, peers). */
export function limitFor(method: string, path: string): number | null {
  if (path === "/peer" || path.startsWith("/peer/")) return null;
  if (method === "PUT" && (path.startsWith("/api/files/") || path.startsWith("/api/models/"))) return null;
  if (path === "/dav" || path.startsWith("/dav/")) return method === "PUT" ? null : DAV_BODY_MAX;
  if (path === "/login" || path === "/setup" || path === "/logout") return AUTH_FORM_MAX;
  if (path === "/assistant/models") return MODEL_FORM_MAX;
  return DEFAULT_BODY_MAX;
}

export const limitBodies: MiddlewareHandler<WebEnv> = async (c, next) => {
  const max = limitFor(c.req.method, c.req.path);
  if (max === null) return next();
  return bodyLimit({
    maxSize: max,
    onError: (ctx: Context) => {
      throw tooLarge(`request body over ${max} bytes for ${ctx.req.method} ${ctx.req.path}`);
    },
  })(c, next);
};
