/**
 * @module web/app — the cell's HTTP surface on one port: /static (public), /api (token or
 * session), and the dashboard pages. Errors become JSON for the API and a page for browsers;
 * every refused request is logged.
 */
import { Hono } from "hono";
import { GroveError, errorMessage, unknownRoute } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { Cell } from "../cell/cell.ts";
import type { WebEnv } from "./context.ts";
import { identify, requireApiAuth } from "./auth.ts";
import { SessionStore } from "./sessions.ts";
import { PasswordFile } from "./password.ts";
import { assets } from "./assets.ts";
import { filesApi } from "./api/files.ts";
import { trashApi } from "./api/trash.ts";
import { statusApi } from "./api/status.ts";
import { localApi } from "./api/local.ts";
import { fleetApi } from "./api/fleet.ts";
import { syncApi } from "./api/sync.ts";
import { fsckApi } from "./api/fsck.ts";
import { shareApi } from "./api/share.ts";
import { messagesApi } from "./api/messages.ts";
import { bountyApi } from "./api/bounty.ts";
import { chatApi } from "./api/chat.ts";
import { updateApi } from "./api/update.ts";
import { peerApi } from "./peer-api.ts";
import type { Fleet } from "../fleet/fleet.ts";
import { dashboard } from "./dashboard.tsx";
import { renderError } from "./error-page.tsx";

export function createApp(cell: Cell, fleet: Fleet): Hono<WebEnv> {
  const sessions = new SessionStore(cell.db.db);
  const password = new PasswordFile(cell.layout.dashboardAuth);
  const app = new Hono<WebEnv>();

  app.use("*", async (c, next) => {
    c.set("cell", cell);
    await next();
  });
  app.route("/static", assets);
  app.get("/favicon.ico", (c) => c.redirect("/static/icon.svg", 301));
  app.route("/peer", peerApi(fleet) as unknown as Hono<WebEnv>);
  app.use("*", identify(sessions));

  const api = new Hono<WebEnv>();
  api.use("*", requireApiAuth);
  api.route("/status", statusApi(fleet));
  api.route("/files", filesApi);
  api.route("/local", localApi);
  api.route("/", fleetApi(fleet));
  api.route("/", syncApi(fleet));
  api.route("/", fsckApi(fleet));
  api.route("/", shareApi(fleet));
  api.route("/", messagesApi(fleet));
  api.route("/", bountyApi(fleet));
  api.route("/", chatApi);
  api.route("/", trashApi);
  api.route("/", updateApi(fleet));
  api.all("*", (c) => {
    throw unknownRoute(c.req.method, c.req.path);
  });
  app.route("/api", api);

  app.route("/", dashboard(sessions, password, fleet));

  app.onError((err, c) => {
    const status = err instanceof GroveError ? err.status : 500;
    const message = err instanceof GroveError ? err.message : "internal error: " + errorMessage(err);
    if (status >= 500) log("error", message, { method: c.req.method, path: c.req.path, stack: err instanceof GroveError ? undefined : err.stack?.split("\n")[1]?.trim() });
    else log("warn", `refused ${c.req.method} ${c.req.path}: ${message}`, { status });
    const wantsHtml = !c.req.path.startsWith("/api/") && (c.req.header("accept") ?? "").includes("text/html");
    if (wantsHtml) return renderError(c, status, message);
    return c.json({ error: message }, status as 400);
  });
  app.notFound((c) => {
    throw unknownRoute(c.req.method, c.req.path);
  });
  return app;
}
