/**
 * @module web/dav — /dav/: the cell's file tree over WebDAV (dav/app on dav/cell-tree), for file
 * managers and tools that mount it (docs/usage.md, "Mount your files"). Only the API token opens it
 * (web/auth `requireToken`: Basic with the token as the password, or Bearer), never a dashboard
 * session. Before it, as for every route: the Host check and the body limits (a PUT counts its own
 * bytes against `max_upload_bytes`; XML bodies are small).
 */
import { Hono } from "hono";
import { davApp } from "../dav/app.ts";
import { CellTree } from "../dav/cell-tree.ts";
import { treeFiles } from "../mine/tree-view.ts";
import { LockManager } from "../dav/locks.ts";
import type { Cell } from "../cell/cell.ts";
import type { WebEnv } from "./context.ts";
import { requireToken } from "./auth.ts";
import { userContentHeaders } from "./user-content.ts";

/** Where the tree is mounted on the dashboard's listener. */
export const DAV_BASE = "/dav";

/** The /dav sub-app of `cell`: one tree and one set of locks for as long as the app lives. */
export function davRoutes(cell: Cell): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use("*", requireToken);
  app.route(
    "/",
    davApp<WebEnv>({
      tree: new CellTree(cell.vault, treeFiles(cell)),
      locks: new LockManager(),
      base: DAV_BASE,
      maxUploadBytes: () => cell.config.max_upload_bytes,
      contentHeaders: (name) => userContentHeaders(name),
    }),
  );
  return app;
}
