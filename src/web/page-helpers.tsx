/** @jsxImportSource hono/jsx */
/**
 * @module web/page-helpers — what the dashboard's pages share: the layout renderer (`pageLayout`,
 * installed by web/dashboard: a handler calls `c.render(<Body/>, info(c, title, tab))`), the
 * frame of a page (`info`, `openInfo`), the session's CSRF check for state changes, form fields,
 * and the double-submit CSRF cookie and session start of the forms before login.
 */
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { jsxRenderer } from "hono/jsx-renderer";
import { randomBytes } from "node:crypto";
import { badRequest, forbidden } from "../core/errors.ts";
import { offeredUpdate } from "../update/lifecycle.ts";
import { Layout, type PageInfo } from "../../views/layout.tsx";
import type { WebEnv } from "./context.ts";
import { sameSecret, sentCsrf } from "./auth.ts";
import { SESSION_COOKIE, SESSION_TTL_MS, type SessionStore } from "./sessions.ts";
import { phraseOffer } from "./phrase-offer.ts";

declare module "hono" {
  interface ContextRenderer {
    /** A page: its body, framed by views/layout with `info` (title, tab, CSRF token, update banner). */
    (content: string | Promise<string>, info: PageInfo): Response | Promise<Response>;
  }
}

/**
 * The layout renderer: `c.render(body, info)` answers the body inside views/layout's frame, with
 * the status set before (`c.status(…)`). htmx fragments are not pages: they keep `c.html`.
 *
 * @example
 * app.use("*", pageLayout);
 * app.get("/feed", (c) => c.render(<FeedPage … />, info(c, "Feed", "feed")));
 */
export const pageLayout = jsxRenderer(({ children, Layout: _outer, ...info }) => <Layout {...info}>{children}</Layout>);

/**
 * The frame of a page behind the login: its tab, the session's CSRF token, on every tab but
 * Settings (which has its own section) the update banner, and on the Files list the first-run
 * recovery phrase offer (web/phrase-offer). A page that carries the words is not kept by any cache.
 */
export function info(c: Context<WebEnv>, title: string, active?: string): PageInfo {
  const cell = c.var.cell;
  const update = c.var.session && active !== "settings" ? offeredUpdate(cell.layout.dir) : null;
  const phrase = phraseOffer(c);
  if (phrase?.words) c.header("Cache-Control", "no-store");
  return { title, cellName: cell.config.name, cellId: cell.keys.id, csrf: c.var.session?.csrf, active, update, phrase };
}

/** The frame of a page before login (setup, login): the cell's name, no tabs. */
export function openInfo(c: Context<WebEnv>, title: string): PageInfo {
  return { title, cellName: c.var.cell.config.name, cellId: c.var.cell.keys.id };
}

/** Cookie requests that change state must carry the session's CSRF token. */
export async function requireCsrf(c: Context<WebEnv>): Promise<void> {
  const sent = await sentCsrf(c);
  if (!sent || !c.var.session || !sameSecret(sent, c.var.session.csrf)) throw forbidden("missing or wrong CSRF token");
}

/** A field of a form post ("" when absent or a file). */
export async function formField(c: Context<WebEnv>, name: string): Promise<string> {
  const body = await c.req.parseBody().catch(() => {
    throw badRequest("malformed form body");
  });
  const v = body[name];
  return typeof v === "string" ? v : "";
}

const FORM_CSRF_COOKIE = "grove_form_csrf";

/** The CSRF token of a form before login (double-submit: the same value in a cookie), made on first use. */
export function formToken(c: Context<WebEnv>): string {
  let t = getCookie(c, FORM_CSRF_COOKIE);
  if (!t || t.length > 100) {
    t = randomBytes(18).toString("base64url");
    setCookie(c, FORM_CSRF_COOKIE, t, { httpOnly: true, sameSite: "Strict", path: "/" });
  }
  return t;
}

/** A form posted before login must send back its cookie's token. */
export async function checkFormToken(c: Context<WebEnv>): Promise<void> {
  const cookie = getCookie(c, FORM_CSRF_COOKIE);
  const sent = await sentCsrf(c);
  if (!cookie || !sent || !sameSecret(cookie, sent)) throw forbidden("form expired or missing CSRF token: reload the page and try again");
}

/** Log this browser in: a new session, in its cookie. */
export function startSession(c: Context<WebEnv>, sessions: SessionStore): void {
  const { token } = sessions.create();
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: "Strict", path: "/", maxAge: SESSION_TTL_MS / 1000 });
}
