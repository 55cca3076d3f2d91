/**
 * @module web/app — the cell's HTTP surfaces. `createApp` is what the dashboard's listener serves:
 * /static (public), /api (token or session), /dav (the file tree over WebDAV: the token alone),
 * the dashboard pages, and /peer (signed by a known cell). `createPeerApp` is what the peer
 * listener and relays serve: /peer alone.
 *
 * Before any route: the Host header must name this cell (web/host-check; /peer excepted), and the
 * body is bounded (web/body-limit). Errors become JSON for the API and a page for browsers;
 * every refused request is logged; an answer never carries a stack or a path on this machine.
 */
import { Hono, type Context } from "hono";
import { randomBytes } from "node:crypto";
import { GroveError, errorMessage, forbidden, unknownRoute } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { Cell } from "../cell/cell.ts";
import type { WebEnv } from "./context.ts";
import { identify, requireApiAuth } from "./auth.ts";
import { SessionStore } from "./sessions.ts";
import { PasswordFile } from "./password.ts";
import { assets } from "./assets.ts";
import { filesApi } from "./api/files.ts";
import { pinsApi } from "./api/pins.ts";
import { trashApi } from "./api/trash.ts";
import { statusApi } from "./api/status.ts";
import { localApi } from "./api/local.ts";
import { fleetApi } from "./api/fleet.ts";
import { scanApi } from "./api/scan.ts";
import { syncApi } from "./api/sync.ts";
import { fsckApi } from "./api/fsck.ts";
import { shareApi } from "./api/share.ts";
import { messagesApi } from "./api/messages.ts";
import { bountyApi } from "./api/bounty.ts";
import { chatApi } from "./api/chat.ts";
import { updateApi } from "./api/update.ts";
import { peerApi } from "./peer-api.ts";
import type { PeerEnv } from "./peer-sync-api.ts";
import type { WebServices } from "./services.ts";
import { dashboard } from "./dashboard.tsx";
import { renderError } from "./error-page.tsx";
import { humanProblem } from "../../views/human-error.ts";
import { CellNames, requireCellHost } from "./host-check.ts";
import { limitBodies } from "./body-limit.ts";
import { LoginThrottle } from "./login-throttle.ts";
import { SetupCode } from "./setup-code.ts";
import { fromLoopback } from "./remote.ts";
import { DAV_BASE, davRoutes } from "./dav.ts";

export interface AppOptions {
  /** Which Host headers name this cell (default: loopback names and config `dashboard_names`). */
  names?: CellNames;
  /** The /peer routes (web/peer-api), shared with the peer listener's app so both count one rate per peer. */
  peerRoutes?: Hono<PeerEnv>;
}

/** `text` with this cell's own folders named instead of spelled out (answers never show server paths). */
function withoutPaths(cell: Cell, text: string): string {
  let out = text;
  for (const [abs, name] of [
    [cell.layout.dir, "GROVE_DIR"],
    [cell.layout.home, "GROVE_HOME"],
  ] as const)
    out = out.split(abs).join(name);
  return out;
}

/** The one error handler: a logged detail, and a message safe to show. */
function onError(cell: Cell) {
  return (err: Error, c: Context<WebEnv>) => {
    const status = err instanceof GroveError ? err.status : 500;
    let message: string;
    let ref = "";
    if (err instanceof GroveError) {
      message = withoutPaths(cell, err.message);
      if (status >= 500) log("error", err.message, { method: c.req.method, path: c.req.path });
      else log("warn", `refused ${c.req.method} ${c.req.path}: ${err.message}`, { status });
    } else {
      ref = randomBytes(4).toString("hex");
      message = `internal error (logged by the cell as ${ref})`;
      log("error", `internal error ${ref}: ${errorMessage(err)}`, {
        method: c.req.method,
        path: c.req.path,
        stack: err.stack
          ?.split("\n")
          .slice(1, 4)
          .map((l) => l.trim())
          .join(" | "),
      });
    }
    const page = !c.req.path.startsWith("/api/");
    const wantsHtml = page && (c.req.header("accept") ?? "").includes("text/html");
    // A page, or a dashboard form's post (htmx shows the page's .error in a toast), that matched no
    // route: a human page; API clients keep the JSON line that says where file paths go.
    if (err instanceof GroveError && err.code === "no_route" && (wantsHtml || (page && c.req.header("hx-request"))))
      return renderError(
        c,
        404,
        "There is nothing at this address: the link may be old, or the page has moved. Go back to the dashboard and try from there.",
        "This page does not exist",
      );
    // A page says what happened in words; the technical line is in the log (above, or where it was caught).
    if (wantsHtml && !(err instanceof GroveError))
      return renderError(
        c,
        status,
        `Something went wrong on this cell. Try again; if it keeps happening, the cell's log has the details under ${ref}.`,
      );
    if (wantsHtml) return renderError(c, status, humanProblem(message, "another cell"));
    return c.json({ error: message }, status as 400);
  };
}

/**
 * /peer alone: what the peer listener and relay calls reach. A browser on this machine that
 * opens the peer port (an old bookmark) is sent to the dashboard.
 */
export function createPeerApp(s: WebServices, peerRoutes: Hono<PeerEnv> = peerApi(s), dashboardUrl?: () => string): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use("*", async (c, next) => {
    c.set("cell", s.cell);
    await next();
  });
  app.route("/peer", peerRoutes as unknown as Hono<WebEnv>);
  app.get("/", (c) =>
    dashboardUrl && fromLoopback(c) ? c.redirect(dashboardUrl() + "/") : c.json({ error: "this is the peer API of a Grove cell" }, 404),
  );
  app.all("*", (c) =>
    c.json({ error: `no peer route ${c.req.method} ${c.req.path.slice(0, 200)}: this is the peer API of a Grove cell` }, 404),
  );
  app.onError(onError(s.cell));
  return app;
}

export function createApp(s: WebServices, opts: AppOptions = {}): Hono<WebEnv> {
  const { cell } = s;
  const sessions = new SessionStore(cell.db.db);
  const password = new PasswordFile(cell.layout.dashboardAuth);
  const names =
    opts.names ??
    new CellNames(
      () => cell.config.dashboard_names,
      () => cell.config.host,
    );
  const app = new Hono<WebEnv>();

  app.use("*", async (c, next) => {
    c.set("cell", cell);
    await next();
  });
  app.use("*", requireCellHost(names));
  app.use("*", limitBodies);
  app.route("/static", assets);
  app.get("/favicon.ico", (c) => c.redirect("/static/icon.svg", 301));
  app.route("/peer", (opts.peerRoutes ?? peerApi(s)) as unknown as Hono<WebEnv>);
  // WebDAV: the API token alone (Basic or Bearer), never a session; so before `identify`.
  app.route(DAV_BASE, davRoutes(cell));
  app.use("*", identify(sessions));
  // The local API reads and writes any path this user can: only for programs on this machine.
  app.use("/api/local/*", async (c, next) => {
    if (!fromLoopback(c)) throw forbidden("local file transfers answer only programs on this machine (loopback)");
    await next();
  });

  const api = new Hono<WebEnv>();
  api.use("*", requireApiAuth);
  api.route("/status", statusApi(s));
  api.route("/files", filesApi);
  api.route("/local", localApi);
  api.route("/", fleetApi(s));
  api.route("/", syncApi(s));
  api.route("/", scanApi(s));
  api.route("/", fsckApi(s));
  api.route("/", shareApi(s));
  api.route("/", messagesApi(s));
  api.route("/", bountyApi(s));
  api.route("/", chatApi(s));
  api.route("/", trashApi);
  api.route("/", pinsApi(s));
  api.route("/", updateApi(s));
  api.all("*", (c) => {
    throw unknownRoute(c.req.method, c.req.path);
  });
  app.route("/api", api);

  app.route("/", dashboard(s, { sessions, password, throttle: new LoginThrottle(), setupCode: new SetupCode(cell.layout.setupCode) }));

  app.onError(onError(cell));
  app.notFound((c) => {
    throw unknownRoute(c.req.method, c.req.path);
  });
  return app;
}
