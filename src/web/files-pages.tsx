/** @jsxImportSource hono/jsx */
/**
 * @module web/files-pages — the Files tab (mounted at /files by web/dashboard, behind its login):
 * GET /files (a folder: browse, upload with public/app.js, tick files for the Share dialog),
 * GET /files/list (the list alone, for htmx), POST /files/delete (kept in history), and a file's
 * page, GET /files/detail, with its versions: POST /files/restore (an older version becomes
 * current again, as a new version) and POST /files/purge (out of the history, into the trash).
 * Downloads go through the local API (web/api/files).
 */
import { Hono, type Context } from "hono";
import { badRequest, notFound } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { safeDir, safePath } from "../ingest/home-path.ts";
import { removeFile } from "../ingest/remove.ts";
import { restoreVersion } from "../ingest/restore-version.ts";
import { purgeVersions } from "../trash/history.ts";
import { readManifest } from "../store/manifest.ts";
import { currentAt, deleteFromTree, listTree } from "../mine/tree-view.ts";
import type { PeerDirectory } from "../fleet/peer-directory.ts";
import { FilesPage, FileList, FileDetailPage, listing } from "../../views/files.tsx";
import type { WebServices } from "./services.ts";
import type { WebEnv } from "./context.ts";
import { formField, info, requireCsrf } from "./page-helpers.tsx";
import { friendOptions } from "./share-pages.tsx";

const versionField = (raw: string): number => {
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw badRequest("version must be a version number");
  return Number(raw);
};
/** htmx loads `url` next (the Restore and Purge buttons). */
const reload = (c: Context<WebEnv>, url: string) => c.body(null, 200, { "HX-Redirect": url });
const detailUrl = (path: string) => `/files/detail?path=${encodeURIComponent(path)}`;
/** The names of my cells, for "on laptop" beside a file kept on another of them. */
const cellNames = (peers: PeerDirectory) => new Map(peers.list().map((p) => [p.id, p.name]));

export function filesPages(s: Pick<WebServices, "sharing" | "peers">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  /** Sharing (every running cell has it; the views still say when one does not). */
  const share = () => s.sharing != null;

  app.get("/", (c) => {
    const dir = safeDir(c.req.query("dir"));
    const l = listing(dir, listTree(c.var.cell, dir), cellNames(s.peers));
    return c.render(<FilesPage l={l} share={share()} />, info(c, dir ? `Files · ${dir}` : "Files", "files"));
  });

  app.get("/list", (c) => {
    const dir = safeDir(c.req.query("dir"));
    return c.html(<FileList l={listing(dir, listTree(c.var.cell, dir), cellNames(s.peers))} share={share()} />);
  });

  app.post("/delete", async (c) => {
    await requireCsrf(c);
    const path = safePath(await formField(c, "path"));
    const dir = safeDir(await formField(c, "dir"));
    const cell = c.var.cell;
    if (!cell.db.current(path) && deleteFromTree(cell, path, cell.config.name)) {
      cell.vault.stored?.emit(path); // a file kept on another of my cells: they follow the deletion
      log("info", "deleted from the dashboard, from my cells' tree", { path });
    } else {
      await removeFile(cell.vault, path);
      log("info", "deleted from dashboard (kept in history)", { path });
    }
    return c.html(<FileList l={listing(dir, listTree(cell, dir), cellNames(s.peers))} share={share()} />);
  });

  // A file's page, per version: Restore (it becomes current again, as a new version) and Purge
  // (out of the history, into the trash). htmx; the browser then loads the page again.
  app.post("/restore", async (c) => {
    await requireCsrf(c);
    const path = safePath(await formField(c, "path"));
    const r = await restoreVersion(c.var.cell.vault, path, versionField(await formField(c, "version")));
    log("info", "restored an older version from the dashboard", { path, from: r.restored_from, version: r.version });
    return reload(c, detailUrl(path));
  });

  app.post("/purge", async (c) => {
    await requireCsrf(c);
    const cell = c.var.cell;
    const path = safePath(await formField(c, "path"));
    const raw = await formField(c, "version");
    const r = purgeVersions(cell.db.db, path, raw === "all" ? "all" : versionField(raw), {
      trashRetentionS: cell.config.trash_retention_s,
    });
    log("info", "purged from the dashboard (in the trash until collected)", {
      path,
      versions: r.purged.join(","),
      chunks: r.trashed_chunks,
    });
    // Every version gone (a deleted file purged whole): back to its folder.
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    return reload(c, cell.db.versions(path).length ? detailUrl(path) : dir ? `/files?dir=${encodeURIComponent(dir)}` : "/files");
  });

  app.get("/detail", (c) => {
    const path = safePath(c.req.query("path") ?? "");
    const cell = c.var.cell;
    const versions = cell.db.versions(path);
    const open = currentAt(cell, path);
    if (!versions.length && !open) throw notFound(`no file at '${path}'`);
    const cur = cell.db.current(path);
    const row = cur ? cell.db.manifest(cur.manifest_hash) : null;
    // The tree's current version (a file of another of my cells, or changed there), else this cell's own.
    const manifest = open?.manifest ?? (row ? readManifest(cell.layout.manifests, row.manifest_file) : null);
    return c.render(
      <FileDetailPage
        csrf={c.var.session?.csrf}
        path={path}
        manifest={manifest}
        manifestHash={open?.manifest_hash ?? cur?.manifest_hash ?? null}
        versions={versions}
        share={{ available: s.sharing !== null, friends: friendOptions(s.peers) }}
        trashRetentionS={cell.config.trash_retention_s}
      />,
      info(c, path, "files"),
    );
  });

  return app;
}
