/** @jsxImportSource hono/jsx */
/**
 * @module web/files-edit-pages — the Files tab's changes to the tree (mounted under /files by
 * web/files-pages, behind its login, each with the session's CSRF token): POST /files/mkdir (New
 * folder: kept even while empty, store/folders), POST /files/move (rename or move a file or a
 * folder: the one tree's move, as WebDAV MOVE makes it, so history keeps it as a move; from a
 * file's own page, `then=page`, the answer goes to the file's new page),
 * POST /files/move-many ("Move selected" into a folder), POST /files/delete-many ("Delete selected",
 * to the trash, one toast with Undo) and
 * POST /files/delete-folder (a folder and what it holds, to the trash).
 *
 * Each answers the folder's list again (htmx swaps it) with a toast; a refusal (a bad or taken
 * name, nothing there) changes nothing and answers its status with an error toast. A form posted
 * without JavaScript is sent back to its folder.
 */
import { Hono, type Context } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { Cell } from "../cell/cell.ts";
import type { ManifestHash } from "../core/types.ts";
import { badRequest, conflict, GroveError, notFound } from "../core/errors.ts";
import { count } from "../core/format.ts";
import { log } from "../core/log.ts";
import { CellTree } from "../dav/cell-tree.ts";
import { parentOf, within } from "../dav/paths.ts";
import { safeDir, safePath, type HomePath } from "../ingest/home-path.ts";
import { removeFile } from "../ingest/remove.ts";
import { deleteFromTree, treeFiles } from "../mine/tree-view.ts";
import { Toast } from "../../views/trash.tsx";
import type { WebEnv } from "./context.ts";
import { pageError } from "./page-error.ts";
import { requireCsrf } from "./page-helpers.tsx";
import { toast } from "./toast.ts";

/** What the edits need of the Files tab: its list of `dir` as shown (sort and search from the form). */
export interface FileEditDeps {
  list(c: Context<WebEnv>, dir: string): Promise<JSX.Element>;
}

const nameOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);
const folderUrl = (dir: string) => (dir ? `/files?dir=${encodeURIComponent(dir)}` : "/files");
const detailUrl = (path: string) => `/files/detail?path=${encodeURIComponent(path)}`;
/** An edit done from a page of its own: go to `go` next, saying `text`. */
type Go = { go: string; text: string };

/** The tree as WebDAV sees it (files of all my cells, folders kept on purpose): what the edits change. */
const treeOf = (cell: Cell) => new CellTree(cell.vault, treeFiles(cell));

/**
 * Delete one file to history: this cell's own with a new deleted version ("here"), a file only
 * another of my cells keeps by a tree event (that cell keeps its history): then the manifest the
 * tree showed there, which its Undo puts back (`undeleteAway`).
 */
export async function deletePath(cell: Cell, path: HomePath): Promise<"here" | { away: ManifestHash }> {
  const shown = cell.db.current(path) ? undefined : cell.tree.current().get(path)?.manifest;
  if (shown && deleteFromTree(cell, path, cell.config.name)) {
    cell.vault.stored?.emit(path); // a file kept on another of my cells: they follow the deletion
    log("info", "deleted from the dashboard, from my cells' tree", { path });
    return { away: shown };
  }
  await removeFile(cell.vault, path);
  log("info", "deleted from dashboard (kept in history)", { path });
  return "here";
}

/**
 * Undo of the deletion of a file only another of my cells keeps: a put event naming the manifest
 * the tree showed at `path` (nothing is sealed again), as a copy of such a file is made
 * (mine/tree-edits); my cells follow it. 409 when something is at `path` again, 404 when this
 * cell's events never named that manifest.
 */
export function undeleteAway(cell: Cell, path: HomePath, manifest: string): void {
  if (cell.db.current(path) || cell.tree.current().has(path)) throw conflict(`'${path}' is there already`);
  const body = /^[0-9a-f]{64}$/.test(manifest) ? cell.tree.manifestBody(manifest) : null;
  if (!body) throw notFound(`'${path}' cannot be brought back from here: open the Trash of the cell that keeps it`);
  cell.db.db.transaction(() => {
    // The events describe no file of this cell's own there (none is kept here).
    cell.tree.setLocal([{ path, manifest: null }]);
    cell.tree.append([{ kind: "put", path, manifest: { hash: manifest as ManifestHash, body } }], cell.config.name);
  })();
  cell.vault.stored?.emit(path);
  log("info", "deletion undone from the dashboard, in my cells' tree", { path });
}

/** A path typed by the user, checked: the path rules (ingest/home-path), said as a refusal of `what`. */
function typedPath(raw: string, what: string): HomePath {
  const trimmed = raw.trim().replace(/^\/+/, "");
  try {
    return safePath(trimmed);
  } catch (e) {
    throw badRequest(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Refuse a new path that is taken, or whose folders above it include a file. */
function checkFree(tree: CellTree, to: string): void {
  const at = tree.stat(to);
  if (at) throw conflict(`'${to}' is taken by ${at.folder ? "a folder" : "a file"}: choose another name`);
  for (let up = parentOf(to); up; up = parentOf(up)) {
    const e = tree.stat(up);
    if (e && !e.folder) throw conflict(`'${up}' is a file, not a folder`);
  }
}

/** All the string values of a form field (several checkboxes of one name). */
async function fieldValues(c: Context<WebEnv>, name: string): Promise<string[]> {
  const body = await c.req.parseBody({ all: true }).catch(() => {
    throw badRequest("malformed form body");
  });
  const v = body[name];
  const all = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return all.filter((x): x is string => typeof x === "string");
}

const field = async (c: Context<WebEnv>, name: string) => (await fieldValues(c, name))[0] ?? "";

export function fileEdits(deps: FileEditDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  /**
   * Run an edit of the folder `dir`: its list again with the toast `act` returns, or, refused, the
   * error's status, an error toast and nothing changed. A plain form post goes back to the folder.
   */
  const edit = async (c: Context<WebEnv>, what: string, act: (dir: string) => Promise<string | { toast: JSX.Element } | Go>) => {
    await requireCsrf(c);
    const htmx = Boolean(c.req.header("hx-request"));
    let dir = "";
    try {
      dir = safeDir(await field(c, "dir"));
      const done = await act(dir);
      if (typeof done === "object" && "go" in done) {
        if (!htmx) return c.redirect(done.go, 303);
        toast(c, done.text); // carried to the next page (public/feedback.js)
        return c.body(null, 200, { "HX-Redirect": done.go });
      }
      if (!htmx) return c.redirect(folderUrl(dir), 303);
      if (typeof done === "string") {
        toast(c, done);
        return c.html(await deps.list(c, dir));
      }
      return c.html(
        <>
          {await deps.list(c, dir)}
          {done.toast}
        </>,
      );
    } catch (e) {
      const status = e instanceof GroveError ? e.status : 500;
      const msg = `${what}: ${pageError(`${what} failed`, e)}`;
      if (!htmx) throw e;
      toast(c, msg, "error");
      return c.html(
        <p class="error" role="alert">
          {msg}
        </p>,
        status as 400,
      );
    }
  };

  app.post("/mkdir", (c) =>
    edit(c, "No folder made", async (dir) => {
      const name = (await field(c, "name")).trim();
      if (!name) throw badRequest("type the new folder's name first");
      const path = typedPath((dir ? dir + "/" : "") + name, "that name cannot be used");
      const tree = treeOf(c.var.cell);
      checkFree(tree, path);
      await tree.makeFolder(path);
      log("info", "folder made from the dashboard", { path });
      return `Folder ${nameOf(path)} made.`;
    }),
  );

  app.post("/move", (c) =>
    edit(c, "Not moved", async () => {
      const then = await field(c, "then");
      const from = safePath(await field(c, "from"));
      const to = typedPath(await field(c, "to"), "that new path cannot be used");
      const tree = treeOf(c.var.cell);
      const entry = tree.stat(from);
      if (!entry) throw notFound(`nothing at '${from}' any more`);
      if (to === from) throw badRequest("the new path is the one it has: type another name or folder");
      if (entry.folder && within(to, from)) throw badRequest(`a folder cannot go inside itself ('${to}' is in '${from}')`);
      checkFree(tree, to);
      const made = parentOf(to) !== "" && !tree.stat(parentOf(to)); // the move makes the folder: said so
      await tree.move(from, to);
      log("info", "moved from the dashboard (kept as a move in history)", { from, to, folder: entry.folder, new_folder: made });
      const renamed = parentOf(from) === parentOf(to);
      const as = nameOf(to) !== nameOf(from) ? ` as ${nameOf(to)}` : "";
      const text = renamed
        ? `Renamed ${nameOf(from)} to ${nameOf(to)}.`
        : made
          ? `Moved ${nameOf(from)} into the new folder ${parentOf(to)}${as}.`
          : `Moved ${nameOf(from)} to ${parentOf(to) || "the top folder"}${as}.`;
      // From a file's own page: on to the file's new page.
      return then === "page" && !entry.folder ? { go: detailUrl(to), text } : text;
    }),
  );

  app.post("/move-many", (c) =>
    edit(c, "Nothing moved", async () => {
      const paths = [...new Set((await fieldValues(c, "path")).map((p) => safePath(p)))];
      if (!paths.length) throw badRequest("tick the files to move first");
      const raw = (await field(c, "to_dir")).trim().replace(/^\/+|\/+$/g, "");
      const into = raw ? typedPath(raw, "that folder cannot be used") : "";
      const tree = treeOf(c.var.cell);
      const pairs = paths.map((from) => ({ from, to: (into ? into + "/" : "") + nameOf(from) }));
      // Every one checked before any moves: a refusal changes nothing.
      for (const p of pairs) {
        const e = tree.stat(p.from);
        if (!e || e.folder) throw notFound(`no file at '${p.from}' any more`);
        if (p.to !== p.from) checkFree(tree, p.to);
      }
      const moving = pairs.filter((p) => p.to !== p.from);
      if (!moving.length) throw badRequest(`${paths.length === 1 ? "it is" : "they are"} in ${into || "the top folder"} already`);
      const made = into !== "" && !tree.stat(into); // the move makes the folder: said so
      for (const p of moving) await tree.move(p.from, p.to);
      log("info", "moved from the dashboard (kept as moves in history)", { files: moving.length, into, new_folder: made });
      return made
        ? `${count(moving.length, "file")} moved into the new folder ${into}.`
        : `${count(moving.length, "file")} moved to ${into || "the top folder"}.`;
    }),
  );

  app.post("/delete-many", (c) =>
    edit(c, "Nothing deleted", async (dir) => {
      const paths = [...new Set((await fieldValues(c, "path")).map((p) => safePath(p)))];
      if (!paths.length) throw badRequest("tick the files to delete first");
      const cell = c.var.cell;
      const tree = treeOf(cell);
      const missing = paths.find((p) => !tree.stat(p) || tree.stat(p)!.folder);
      if (missing) throw notFound(`no file at '${missing}' any more`);
      const here: HomePath[] = [];
      const away: { path: string; manifest: string }[] = [];
      for (const p of paths) {
        const done = await deletePath(cell, p);
        if (done === "here") here.push(p);
        else away.push({ path: p, manifest: done.away });
      }
      const n = count(paths.length, "file");
      const text = `${n} moved to the Trash.`;
      return { toast: <Toast text={text} undo={{ paths: here, away, dir }} /> };
    }),
  );

  app.post("/delete-folder", (c) =>
    edit(c, "Folder not deleted", async (dir) => {
      const path = safePath(await field(c, "path"));
      const cell = c.var.cell;
      const tree = treeOf(cell);
      const entry = tree.stat(path);
      if (!entry?.folder) throw notFound(`no folder at '${path}' any more`);
      const files = tree.children(path).length ? treeFiles(cell).list(path) : [];
      const kept = files.map((f) => f.path as HomePath).filter((p) => cell.db.current(p));
      // Files only another of my cells keeps: their Undo puts back what the tree showed.
      const away = files.filter((f) => !cell.db.current(f.path)).map((f) => ({ path: f.path, manifest: f.manifest_hash }));
      await tree.remove(path);
      log("info", "folder deleted from the dashboard (its files kept in history)", { path, files: files.length });
      const text = files.length
        ? `Folder ${nameOf(path)} deleted: ${count(files.length, "file")} moved to the Trash.`
        : `Folder ${nameOf(path)} deleted.`;
      return { toast: <Toast text={text} undo={kept.length || away.length ? { paths: kept, away, dir } : undefined} /> };
    }),
  );

  return app;
}
