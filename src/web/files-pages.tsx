/** @jsxImportSource hono/jsx */
/**
 * @module web/files-pages — the Files tab (mounted at /files by web/dashboard, behind its login):
 * GET /files (a folder: browse, upload with public/app.js, tick files for the Share dialog),
 * GET /files/list (the list alone, for htmx), POST /files/delete (kept in history), and a file's
 * page, GET /files/detail, with its versions: POST /files/restore (an older version becomes
 * current again, as a new version) and POST /files/purge (out of the history, into the trash).
 * On a cell with cells of mine, POST /files/pin and POST /files/unpin keep a file or folder of
 * theirs in this cell's GROVE_HOME or let it go (mine/my-tree's pin and unpin, as POST /api/pins
 * does) and answer its row again, saying what happened. Downloads go through the local API
 * (web/api/files).
 * A deletion answers the list with a toast whose Undo (POST /files/undelete) brings the file back
 * (or the files: one Undo for "Delete selected"), a file only another of my cells keeps too. New folder, rename or move, "Delete selected"
 * and a folder's Delete are web/files-edit-pages. A file's page previews it (views/preview).
 * GET /files/trash is the Trash (views/trash): deleted files (POST /files/trash/undelete) and
 * purged versions (POST /files/trash/restore, POST /files/trash/delete-now), as `grove trash`.
 */
import { Hono, type Context } from "hono";
import { GroveError, badRequest, conflict, notFound } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { safeDir, safePath, type HomePath } from "../ingest/home-path.ts";
import { restoreVersion } from "../ingest/restore-version.ts";
import { dropPurgedNow, purgeVersions, restorePurged } from "../trash/history.ts";
import { trashListing } from "../trash/listing.ts";
import { collect, collectContextOf } from "../trash/collector.ts";
import { deletedCollectAfter, deleteFileNow, emptyTrashNow } from "../trash/deleted-files.ts";
import { Toast, TrashList, TrashPage, type DeletedFile } from "../../views/trash.tsx";
import { readManifest } from "../store/manifest.ts";
import { currentAt, fileAt, listTree } from "../mine/tree-view.ts";
import { FolderRows } from "../store/folders.ts";
import { restoreResponseBody } from "../ingest/restore.ts";
import { readTextHead } from "../core/stream-head.ts";
import { TEXT_PREVIEW_BYTES, filePreviewKind, type FilePreviewKind } from "../../views/preview.tsx";
import { servedInline } from "../core/media-type.ts";
import { typeOfName } from "../core/media-type.ts";
import { deletePath, fileEdits, undeleteAway } from "./files-edit-pages.tsx";
import type { Manifest } from "../store/manifest.ts";
import type { Cell } from "../cell/cell.ts";
import type { PeerDirectory } from "../fleet/peer-directory.ts";
import { count, formatBytes } from "../core/format.ts";
import {
  FilesPage,
  FileList,
  FileDetailPage,
  DirRow,
  FileRow,
  listing,
  listView,
  type ListingOptions,
  type PinNote,
} from "../../views/files.tsx";
import type { WebServices } from "./services.ts";
import type { WebEnv } from "./context.ts";
import { formField, info, requireCsrf } from "./page-helpers.tsx";
import { pageError } from "./page-error.ts";
import { friendOptions } from "./share-pages.tsx";
import { toast } from "./toast.ts";

const versionField = (raw: string): number => {
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw badRequest("version must be a version number");
  return Number(raw);
};
/** htmx loads `url` next (the Restore and Purge buttons). */
const reload = (c: Context<WebEnv>, url: string) => c.body(null, 200, { "HX-Redirect": url });
const detailUrl = (path: string) => `/files/detail?path=${encodeURIComponent(path)}`;
const baseName = (path: string) => path.slice(path.lastIndexOf("/") + 1) || path;
/** The names of my cells, for "on laptop" beside a file kept on another of them. */
/** The Trash's deleted files, each with when the collection would take it on its own. */
function deletedFiles(cell: Cell): DeletedFile[] {
  const after = deletedCollectAfter(cell.db.db, cell.config);
  return cell.db.deletedFiles().map((f) => ({ ...f, collect_after: after.get(f.path) ?? null }));
}

const cellNames = (peers: PeerDirectory) => new Map(peers.list().map((p) => [p.id, p.name]));

/** What a pin did, in its row: written here now, or pinned but waiting for a cell that holds it. */
function pinnedNote(r: { files: number; written: number; failed: number }, folder: boolean): PinNote {
  if (r.failed)
    return {
      ok: false,
      text: `pinned, but ${count(r.failed, "file")} not written here yet: no cell of yours that holds ${r.failed === 1 ? "it" : "them"} answered (${r.failed === 1 ? "it follows" : "they follow"} when one does)`,
    };
  return {
    ok: true,
    text: folder ? `pinned: ${count(r.files, "file")} kept in your files folder here` : "pinned: kept in your files folder here",
  };
}

/** What an unpin did, in its row: which files left GROVE_HOME (your files folder), and which stay (stored by this cell). */
function unpinnedNote(r: { dropped: number; kept: number }): PinNote {
  const parts = [
    r.dropped ? `${count(r.dropped, "file")} left your files folder here (opened on demand from now on)` : "",
    r.kept ? `${count(r.kept, "file")} stored by this cell ${r.kept === 1 ? "stays" : "stay"} here` : "",
  ].filter(Boolean);
  return { ok: true, text: `unpinned${parts.length ? ": " + parts.join("; ") : ""}` };
}

/** How a file's page previews its current version: the kind, and a text file's first bytes (read here, from its chunks). */
async function previewOf(cell: Cell, path: string, m: Manifest): Promise<{ kind: FilePreviewKind; text?: string } | null> {
  const type = typeOfName(baseName(path));
  const kind = filePreviewKind(type, servedInline(type));
  if (kind !== "text") return kind ? { kind } : null;
  if (m.total_size === 0) return { kind, text: "" };
  // A text file kept only on another of my cells is not fetched to show a page: Download opens it.
  if (cell.db.current(path)?.file_hash !== m.file_hash) return null;
  try {
    const end = Math.min(m.total_size, TEXT_PREVIEW_BYTES) - 1;
    return { kind, text: await readTextHead(await restoreResponseBody(cell.vault, m, { start: 0, end }), TEXT_PREVIEW_BYTES) };
  } catch (e) {
    pageError("file preview failed", e);
    return null;
  }
}

export function filesPages(s: Pick<WebServices, "sharing" | "peers" | "tree">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  /** Sharing (every running cell has it; the views still say when one does not). */
  const share = () => s.sharing != null;
  /** How a listing is marked: cell names, and the pins when this cell has cells of mine (a lone cell has nothing to pin). */
  const marks = (c: Context<WebEnv>, dir = ""): ListingOptions => ({
    names: cellNames(s.peers),
    pins: s.tree.mine().length ? { paths: c.var.cell.tree.pins(), self: c.var.cell.keys.id } : null,
    folders: new FolderRows(c.var.cell.db.db).under(dir).map((r) => r.path),
  });

  app.get("/", (c) => {
    const dir = safeDir(c.req.query("dir"));
    const l = listing(
      dir,
      listTree(c.var.cell, dir),
      marks(c, dir),
      listView((k) => c.req.query(k)),
    );
    return c.render(
      <FilesPage l={l} share={share()} csrf={c.var.session?.csrf} maxUpload={c.var.cell.config.max_upload_bytes} />,
      info(c, dir ? `Files · ${dir}` : "Files", "files"),
    );
  });

  app.get("/list", (c) => {
    const dir = safeDir(c.req.query("dir"));
    return c.html(
      <FileList
        l={listing(
          dir,
          listTree(c.var.cell, dir),
          marks(c, dir),
          listView((k) => c.req.query(k)),
        )}
        share={share()}
      />,
    );
  });

  /** The sort and search a list swapped by a form post had (its hidden fields, sent along). */
  const formView = async (c: Context<WebEnv>) => {
    const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    return listView((k) => (typeof body[k] === "string" ? (body[k] as string) : undefined));
  };
  /** The list of `dir` as it was shown (the sort and search a form post sent along). */
  const relist = async (c: Context<WebEnv>, dir: string) => (
    <FileList l={listing(dir, listTree(c.var.cell, dir), marks(c, dir), await formView(c))} share={share()} />
  );
  app.route("/", fileEdits({ list: relist }));

  app.post("/delete", async (c) => {
    await requireCsrf(c);
    const path = safePath(await formField(c, "path"));
    const dir = safeDir(await formField(c, "dir"));
    const name = path.slice(path.lastIndexOf("/") + 1);
    const done = await deletePath(c.var.cell, path);
    const toast =
      done === "here" ? (
        <Toast text={`Deleted ${name}.`} undo={{ paths: [path], dir }} />
      ) : (
        <Toast
          text={`Deleted ${name} from your cells' files; the cell that keeps it keeps its history.`}
          undo={{ paths: [], away: [{ path, manifest: done.away }], dir }}
        />
      );
    return c.html(
      <>
        {await relist(c, dir)}
        {toast}
      </>,
    );
  });

  // Undo of a deletion (the toast's button), and Restore of a deleted file in the Trash: its last
  // version with content becomes current again, as a new version.
  const undelete = async (c: Context<WebEnv>, path: HomePath) => {
    const cell = c.var.cell;
    if (cell.db.current(path)) throw conflict(`'${path}' is there already`);
    const last = cell.db
      .versions(path)
      .filter((v) => !v.deleted)
      .pop();
    if (!last) throw notFound(`'${path}' has no version to bring back`);
    const r = await restoreVersion(cell.vault, path, last.version);
    log("info", "deleted file brought back from the dashboard", { path, from: last.version, version: r.version });
  };

  // Undo of one deletion or of several ("Delete selected", a folder): every path sent comes back.
  app.post("/undelete", async (c) => {
    await requireCsrf(c);
    const body = await c.req.parseBody({ all: true }).catch(() => ({}) as Record<string, unknown>);
    const strings = (v: unknown) => (Array.isArray(v) ? v : [v]).filter((p): p is string => typeof p === "string");
    // This cell's own files by path; files only another of my cells keeps as "MANIFEST:PATH" (views/trash Undo).
    const own = strings(body["path"]).map((p) => ({ path: safePath(p), manifest: null as string | null }));
    const away = strings(body["away"]).map((v) => {
      const at = v.indexOf(":");
      return { path: safePath(v.slice(at + 1)), manifest: v.slice(0, Math.max(at, 0)) };
    });
    const all = [...own, ...away];
    const paths = all.map((f) => f.path);
    if (!paths.length) throw badRequest("path is empty");
    const dir = safeDir(await formField(c, "dir"));
    const failed: string[] = [];
    let why = "";
    for (const f of all) {
      try {
        if (f.manifest === null) await undelete(c, f.path);
        else undeleteAway(c.var.cell, f.path, f.manifest);
      } catch (e) {
        failed.push(baseName(f.path));
        why = pageError("undelete failed", e);
      }
    }
    const back = paths.length - failed.length;
    const toast = !failed.length ? (
      <Toast text={paths.length === 1 ? `${baseName(paths[0]!)} is back.` : `${count(paths.length, "file")} are back.`} />
    ) : (
      <Toast
        text={`${failed.length === 1 ? failed[0] : count(failed.length, "file")} could not be brought back: ${why}${back ? ` (${count(back, "file")} ${back === 1 ? "is" : "are"} back)` : ""}`}
        error
      />
    );
    return c.html(
      <>
        {await relist(c, dir)}
        {toast}
      </>,
    );
  });

  // The Trash: deleted files and purged versions (trash/listing), as `grove trash` shows them.
  const trashList = (c: Context<WebEnv>, note?: { ok: boolean; text: string }) => {
    const cell = c.var.cell;
    return <TrashList deleted={deletedFiles(cell)} trash={trashListing(cell.db.db, cell.config)} now={Date.now()} note={note} />;
  };
  /**
   * Run a Trash action and answer the list again with what happened; a refusal answers its 4xx
   * with the list and why (feedback.js toasts it; nothing changed).
   */
  const trashAction = async (c: Context<WebEnv>, act: () => Promise<string> | string) => {
    await requireCsrf(c);
    let note: { ok: boolean; text: string };
    let status: 200 | 400 | 404 | 409 | 500 = 200;
    try {
      note = { ok: true, text: await act() };
    } catch (e) {
      note = { ok: false, text: pageError("trash action failed", e) };
      status = e instanceof GroveError && e.status < 500 ? (e.status as 400 | 404 | 409) : 500;
    }
    return c.html(trashList(c, note), status);
  };
  /** The collection's view of this cell, for Delete now and Empty trash now. */
  const dropContext = (cell: Cell) => {
    const ctx = collectContextOf(cell);
    return { ctx, collect: (now: number) => collect(ctx, now) };
  };

  app.get("/trash", (c) => {
    const cell = c.var.cell;
    return c.render(
      <TrashPage
        deleted={deletedFiles(cell)}
        trash={trashListing(cell.db.db, cell.config)}
        now={Date.now()}
        retentionS={cell.config.trash_retention_s}
      />,
      info(c, "Trash", "files"),
    );
  });

  app.post("/trash/undelete", (c) =>
    trashAction(c, async () => {
      const path = safePath(await formField(c, "path"));
      await undelete(c, path);
      return `${path} is back in your files.`;
    }),
  );

  app.post("/trash/restore", (c) =>
    trashAction(c, async () => {
      const cell = c.var.cell;
      const r = restorePurged(cell.db.db, cell.store, safePath(await formField(c, "path")));
      log("info", "purged versions restored from the dashboard's trash", { path: r.path, versions: r.restored.join(",") });
      return `${count(r.restored.length, "version")} of ${r.path} back in its history.`;
    }),
  );

  app.post("/trash/delete-now", (c) =>
    trashAction(c, async () => {
      const cell = c.var.cell;
      const path = safePath(await formField(c, "path"));
      const version = versionField(await formField(c, "version"));
      const ctx = collectContextOf(cell);
      dropPurgedNow({ db: cell.db.db, collect: (now) => collect(ctx, now) }, path, version);
      log("info", "a purged version deleted for good from the dashboard", { path, version });
      return `Version ${version} of ${path} is deleted for good.`;
    }),
  );

  app.post("/trash/delete-file-now", (c) =>
    trashAction(c, async () => {
      const r = deleteFileNow(dropContext(c.var.cell), safePath(await formField(c, "path")));
      log("info", "a deleted file's history deleted for good from the dashboard", { path: r.path, versions: r.versions });
      return `${r.path} and its history are deleted for good.`;
    }),
  );

  app.post("/trash/empty", (c) =>
    trashAction(c, async () => {
      const r = emptyTrashNow(dropContext(c.var.cell));
      log("info", "trash emptied from the dashboard", { files: r.files, versions: r.versions, bytes_freed: r.bytes_freed });
      return `Trash emptied: ${count(r.files, "deleted file")} and ${count(r.versions, "purged version")} deleted for good, ${formatBytes(r.bytes_freed)} freed here.`;
    }),
  );

  /** The row of `path` in its folder's listing, as it is now, with `note`; nothing when it is gone (the row goes too). */
  const pinRow = async (c: Context<WebEnv>, path: string, note: PinNote) => {
    const cell = c.var.cell;
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    // The folder listed (a search shows rows from folders below it): the row keeps its "in a/b".
    const raw = (await c.req.parseBody().catch(() => ({}) as Record<string, unknown>))["dir"];
    const listed = typeof raw === "string" ? safeDir(raw) : dir;
    const shown = listed === dir || dir.startsWith(listed ? listed + "/" : "") ? listed : dir;
    const file = fileAt(cell, path);
    const l = listing(dir, file ? [file] : listTree(cell, path), { ...marks(c, dir), folders: file ? [] : [path] });
    const [f] = l.files;
    const [d] = l.dirs;
    if (f) return c.html(<FileRow f={f} dir={shown} pick={share()} note={note} />);
    if (d) return c.html(<DirRow d={{ ...d, name: path.slice(shown ? shown.length + 1 : 0) }} dir={shown} note={note} />);
    return c.html("");
  };

  // The pin toggle of a row (htmx): mine/my-tree's pin or unpin, then the row again with what
  // happened; a refusal (nothing there, or unpinning on a mirror) is said in the row.
  app.post("/pin", async (c) => {
    await requireCsrf(c);
    const path = safePath(await formField(c, "path"));
    const folder = !fileAt(c.var.cell, path);
    let note: PinNote;
    try {
      note = pinnedNote(await s.tree.pin(path), folder);
    } catch (e) {
      note = { ok: false, text: `not pinned: ${pageError("pin failed", e, "your other cell")}` };
    }
    toast(c, `${baseName(path)}: ${note.text}`, note.ok ? "ok" : "error");
    return pinRow(c, path, note);
  });

  /** Why a mirror has nothing to unpin, and where to change that, in the dashboard's words. */
  const MIRROR_UNPIN =
    "this cell keeps a copy of every file of your cells (a mirror), so unpinning frees nothing. To keep only pinned files here, choose On demand under Settings → Files of my other cells.";
  app.post("/unpin", async (c) => {
    await requireCsrf(c);
    const path = safePath(await formField(c, "path"));
    let note: PinNote;
    try {
      note = unpinnedNote(s.tree.unpin(path));
    } catch (e) {
      // A mirror refuses (409, in the CLI's words: config.json's home_mode); the page says where to change it.
      const mirror = e instanceof GroveError && e.status === 409 && c.var.cell.config.home_mode === "mirror";
      const why = pageError("unpin failed", e, "your other cell");
      note = { ok: false, text: `still pinned: ${mirror ? MIRROR_UNPIN : why}` };
    }
    toast(c, `${baseName(path)}: ${note.text}`, note.ok ? "ok" : "error");
    return pinRow(c, path, note);
  });

  // A file's page, per version: Restore (it becomes current again, as a new version) and Purge
  // (out of the history, into the trash). htmx; the browser then loads the page again.
  app.post("/restore", async (c) => {
    await requireCsrf(c);
    const path = safePath(await formField(c, "path"));
    const r = await restoreVersion(c.var.cell.vault, path, versionField(await formField(c, "version")));
    log("info", "restored an older version from the dashboard", { path, from: r.restored_from, version: r.version });
    toast(
      c,
      r.changed
        ? `Version ${r.restored_from} of ${baseName(path)} restored: it is the current version now (version ${r.version}).`
        : `Version ${r.restored_from} of ${baseName(path)} is what the current version holds already: nothing changed.`,
    );
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
    const keep = cell.config.trash_retention_s;
    const days = keep >= 86400 ? count(Math.round(keep / 86400), "day") : count(keep, "second");
    toast(
      c,
      r.purged.length === 0
        ? `Nothing to purge in ${baseName(path)}.`
        : r.purged.length === 1
          ? `Version ${r.purged[0]} of ${baseName(path)} purged: it waits in the Trash for ${days}.`
          : `${count(r.purged.length, "version")} of ${baseName(path)} purged: they wait in the Trash for ${days}.`,
    );
    // Every version gone (a deleted file purged whole): back to its folder.
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    return reload(c, cell.db.versions(path).length ? detailUrl(path) : dir ? `/files?dir=${encodeURIComponent(dir)}` : "/files");
  });

  app.get("/detail", async (c) => {
    const path = safePath(c.req.query("path") ?? "");
    const cell = c.var.cell;
    const versions = cell.db.versions(path);
    const open = currentAt(cell, path);
    if (!versions.length && !open) throw notFound(`no file at '${path}'`);
    const cur = cell.db.current(path);
    const row = cur ? cell.db.manifest(cur.manifest_hash) : null;
    // The tree's current version (a file of another of my cells, or changed there), else this cell's own.
    const manifest = open?.manifest ?? (row ? readManifest(cell.layout.manifests, row.manifest_file) : null);
    const preview = manifest ? await previewOf(cell, path, manifest) : null;
    return c.render(
      <FileDetailPage
        csrf={c.var.session?.csrf}
        path={path}
        manifest={manifest}
        manifestHash={open?.manifest_hash ?? cur?.manifest_hash ?? null}
        versions={versions}
        share={{ available: s.sharing !== null, friends: friendOptions(s.peers) }}
        trashRetentionS={cell.config.trash_retention_s}
        preview={preview}
      />,
      info(c, path, "files"),
    );
  });

  return app;
}
