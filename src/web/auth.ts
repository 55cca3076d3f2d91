/**
 * @module web/auth — who may call the local API and the dashboard.
 *
 * Local API: `Authorization: Bearer <api_token>` or a dashboard session cookie. Requests that
 * change state and ride on the cookie must also carry the session's CSRF token (header
 * X-CSRF-Token or form field _csrf); bearer requests cannot be forged by a browser, so they
 * need none. Pages without a session redirect to /login (or /setup before a password exists).
 *
 * WebDAV (/dav/): the token alone, as a Basic password or a bearer token (`requireToken`).
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { timingSafeEqual } from "node:crypto";
import { forbidden, unauthorized } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { WebEnv } from "./context.ts";
import { SESSION_COOKIE, type SessionStore } from "./sessions.ts";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.byteLength === y.byteLength && timingSafeEqual(x, y);
}

/** Fill c.var.auth / c.var.session from the request; refuses nothing by itself. */
export function identify(sessions: SessionStore): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    c.set("auth", null);
    c.set("session", null);
    const header = c.req.header("authorization");
    if (header?.startsWith("Bearer ")) {
      if (sameSecret(header.slice(7).trim(), c.var.cell.keys.apiToken)) c.set("auth", "bearer");
      else throw unauthorized("invalid API token");
    } else {
      const token = getCookie(c, SESSION_COOKIE);
      const s = sessions.get(token);
      if (s && token) {
        c.set("auth", "session");
        c.set("session", { ...s, token });
      }
    }
    await next();
  };
}

/** The CSRF token a cookie-authenticated request sent, from the header or a urlencoded/multipart form. */
async function sentCsrf(c: Context<WebEnv>): Promise<string | undefined> {
  const h = c.req.header("x-csrf-token");
  if (h) return h;
  const type = c.req.header("content-type") ?? "";
  if (type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/form-data")) {
    const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const v = body["_csrf"];
    return typeof v === "string" ? v : undefined;
  }
  return undefined;
}

/** API guard: 401 without credentials; 403 for a cookie request that changes state without CSRF token. */
export const requireApiAuth: MiddlewareHandler<WebEnv> = async (c, next) => {
  const auth = c.var.auth;
  if (!auth) throw unauthorized("authentication required: send 'Authorization: Bearer <GROVE_DIR/api_token>' or log in to the dashboard");
  if (auth === "session" && !SAFE.has(c.req.method)) {
    const sent = await sentCsrf(c);
    if (!sent || !sameSecret(sent, c.var.session!.csrf)) throw forbidden("missing or wrong CSRF token");
  }
  await next();
};

/** The challenge a WebDAV client answers with the API token as its password. */
export const BASIC_CHALLENGE = 'Basic realm="Grove", charset="UTF-8"';

/**
 * The API token alone (for /dav/): `Authorization: Bearer <token>`, or HTTP Basic with the token as
 * the password and any user name. A dashboard session does not count: such requests carry no CSRF
 * token, and a browser would attach the cookie to a forged one. Otherwise 401 with a Basic
 * challenge, so a file manager asks for it.
 */
export const requireToken: MiddlewareHandler<WebEnv> = async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  let sent: string | null = null;
  if (/^bearer /i.test(header)) sent = header.slice(7).trim();
  else if (/^basic /i.test(header)) {
    const plain = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
    const colon = plain.indexOf(":");
    if (colon >= 0) sent = plain.slice(colon + 1);
  }
  if (sent !== null && sameSecret(sent, c.var.cell.keys.apiToken)) {
    c.set("auth", "bearer");
    c.set("session", null);
    return next();
  }
  if (sent !== null) log("warn", `refused ${c.req.method} ${c.req.path.slice(0, 200)}: wrong API token`, { status: 401 });
  const why = sent === null ? "authentication required" : "wrong API token";
  return c.body(`${why}: the user name is anything, the password is the cell's API token (GROVE_DIR/api_token)\n`, 401, {
    "WWW-Authenticate": BASIC_CHALLENGE,
    "Content-Type": "text/plain; charset=utf-8",
  });
};

export { sentCsrf, sameSecret, SAFE };
