/**
 * @module web/dashboard — the server-rendered pages, one sub-app per tab: the door (setup, login,
 * logout: web/auth-pages), Files (web/files-pages) and its Share dialog (web/share-pages), Feed
 * (web/feed-pages), Peers (web/peers-pages), Storage (web/storage-pages), Chat (web/chat-pages;
 * its Assistant: web/assistant-pages), Bounty (web/bounty-pages), Settings (web/settings-pages;
 * its recovery phrase: web/recovery-phrase-pages) and the "Update now" button
 * (web/update-pages). Here: the session gate in front of them, and the layout renderer they
 * answer through (web/page-helpers' `pageLayout`).
 *
 * Forms before login use a double-submit CSRF cookie; after login every state change carries
 * the session's CSRF token (hidden field or htmx header), checked by web/auth.
 */
import { Hono } from "hono";
import { unauthorized, unknownRoute } from "../core/errors.ts";
import type { WebServices } from "./services.ts";
import type { WebEnv } from "./context.ts";
import { pageLayout } from "./page-helpers.tsx";
import { authPages, type AuthDeps } from "./auth-pages.tsx";
import { filesPages } from "./files-pages.tsx";
import { sharePages } from "./share-pages.tsx";
import { feedPages } from "./feed-pages.tsx";
import { peersPages } from "./peers-pages.tsx";
import { storagePages } from "./storage-pages.tsx";
import { chatPages } from "./chat-pages.tsx";
import { assistantPages } from "./assistant-pages.tsx";
import { bountyPages } from "./bounty-pages.tsx";
import { updatePages } from "./update-pages.tsx";
import { settingsPages } from "./settings-pages.tsx";
import { recoveryPhrasePages } from "./recovery-phrase-pages.tsx";

/** The dashboard's own state: sessions, the password, the throttle and the first-run code (web/auth-pages). */
export type DashboardDeps = AuthDeps;

export function dashboard(s: WebServices, deps: DashboardDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  // Pages below need a session; setup and login are open.
  app.use("*", async (c, next) => {
    const open = ["/setup", "/login"].includes(c.req.path);
    if (open || c.var.auth === "session") return next();
    // API clients (bearer token) never get login redirects: only the API's own answers.
    if (c.var.auth === "bearer") throw unknownRoute(c.req.method, c.req.path);
    // htmx requests (any method) follow HX-Redirect: an expired session lands on the login page.
    if (c.req.header("hx-request")) return c.body(null, 401, { "HX-Redirect": "/login" });
    if (c.req.method !== "GET" && c.req.method !== "HEAD") throw unauthorized("log in to the dashboard first");
    return c.redirect(deps.password.isSet() ? "/login" : "/setup");
  });
  app.use("*", pageLayout);

  app.get("/", (c) => c.redirect("/files"));
  app.route("/", authPages(deps));
  app.route("/files", filesPages(s));
  app.route("/share", sharePages(s));
  app.route("/", feedPages(s));
  app.route("/peers", peersPages(s));
  app.route("/storage", storagePages(s));
  app.route("/chat", chatPages(s));
  app.route("/assistant", assistantPages(s));
  app.route("/bounty", bountyPages(s));
  app.route("/update", updatePages(s));
  app.route("/settings", settingsPages(s, deps));
  app.route("/settings/recovery-phrase", recoveryPhrasePages(deps));

  return app;
}
