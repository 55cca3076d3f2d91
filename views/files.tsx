/** @jsxImportSource hono/jsx */
/**
 * @module views/files — the Files tab: browse GROVE_HOME, upload with progress, download, delete,
 * details (versions: download, restore, purge); pick files (checkboxes) and "Share selected…"
 * opens the Share dialog (GET /share), "Move selected" moves them into a folder and "Delete
 * selected" sends them to the trash; New folder,
 * and "Rename or move" on each row (web/files-edit-pages); a file's page previews it (views/preview).
 * On a cell with cells of mine, each file of theirs and each folder holding one has a pin toggle
 * ("Keep on this cell"), which swaps its row. A search finds names in the folder shown and every
 * folder below it; a result deeper down says which folder it is in, linked.
 */
import type { FileEntry, VersionEntry } from "../src/store/placement-db.ts";
import type { Manifest } from "../src/store/manifest.ts";
import { count, fileUrl, formatBytes, formatTime } from "../src/core/format.ts";
import { ShareBox, type ShareBoxProps } from "./share-dialog.tsx";
import { When } from "./when.tsx";
import { FilePreview, type FilePreviewKind } from "./preview.tsx";

/**
 * Whether this cell keeps a file or folder of my cells in its GROVE_HOME (mine/my-tree's pins):
 * "on" pinned itself, "off" not, or pinned `within` a folder above it ("" = everything).
 */
export type PinMark = "on" | "off" | { within: string };

/**
 * A file as the Files tab lists it: `away` names the cell of mine that keeps it when this one does
 * not; `pin` is set when the row has a pin toggle (or shows the folder pin that keeps it).
 */
export type ListedEntry = FileEntry & { away?: string; pin?: PinMark };

/** A subfolder as listed, with its pin toggle when it holds files of my other cells (or is pinned). */
export interface ListedDir {
  name: string;
  pin?: PinMark;
}

/** How a folder's list is shown: sorted by name, size or date, and filtered by a part of the name. */
export interface ListView {
  sort: "name" | "size" | "date";
  order: "asc" | "desc";
  /** Only names containing this (any case); "" for all. */
  q: string;
}

export const DEFAULT_VIEW: ListView = { sort: "name", order: "asc", q: "" };

/** The view a request asks for (query or form fields); anything else falls back to the default. */
export function listView(get: (key: string) => string | undefined): ListView {
  const sort = get("sort");
  const order = get("order");
  return {
    sort: sort === "size" || sort === "date" ? sort : "name",
    order: order === "desc" ? "desc" : "asc",
    q: (get("q") ?? "").trim().slice(0, 200),
  };
}

export interface Listing {
  dir: string;
  dirs: ListedDir[];
  files: ListedEntry[];
  view: ListView;
}

export interface ListingOptions {
  /** The names of my cells, for "on laptop" beside a file kept on another of them. */
  names?: ReadonlyMap<string, string>;
  /** This cell's pins and id, when it has cells of mine (a lone cell has nothing to pin): rows get pin toggles. */
  pins?: { paths: readonly string[]; self: string } | null;
  /** Folders kept on purpose under the folder listed (store/folders: made with New folder or over WebDAV, empty ones too). */
  folders?: readonly string[];
}

/** How `path` is pinned among `pins` (mine/my-tree: a pin covers its folder's files). */
function pinMark(path: string, pins: readonly string[]): PinMark {
  if (pins.includes(path)) return "on";
  const above = pins.find((p) => p === "" || path.startsWith(p + "/"));
  return above === undefined ? "off" : { within: above };
}

type Found = FileEntry & { local?: boolean; cells?: string[] };

/** "on laptop" for a file not kept here: the names of the cells that keep it. */
const awayOf = (f: Found, names: ReadonlyMap<string, string>): { away?: string } =>
  f.local === false ? { away: (f.cells ?? []).map((id) => names.get(id) ?? id.slice(0, 8)).join(", ") || "another cell" } : {};

/**
 * Split the current files under `dir` into its immediate subfolders and files. A file of the tree
 * not kept here (`local: false`) is marked with the name of the cell that keeps it (`names`). With
 * `pins`, a file another of my cells stored, and a folder holding one, get a pin mark (so does
 * anything pinned); a file only this cell stored has none: it stays here whatever the pins say.
 */
export function listing(dir: string, all: Found[], opts: ListingOptions = {}, view: ListView = DEFAULT_VIEW): Listing {
  const names = opts.names ?? new Map<string, string>();
  const pins = opts.pins ?? null;
  const base = dir ? dir + "/" : "";
  const dirs = new Map<string, boolean>(); // subfolder → holds a file of another of my cells
  const files: ListedEntry[] = [];
  const theirs = (f: { cells?: string[] }) => pins !== null && (f.cells ?? []).some((id) => id !== pins.self);
  const mark = (path: string, togglable: boolean): { pin?: PinMark } => {
    if (!pins) return {};
    const m = pinMark(path, pins.paths);
    return m !== "off" || togglable ? { pin: m } : {};
  };
  for (const f of all) {
    const rest = f.path.slice(base.length);
    const slash = rest.indexOf("/");
    if (slash >= 0) {
      const d = rest.slice(0, slash);
      dirs.set(d, (dirs.get(d) ?? false) || theirs(f));
      continue;
    }
    files.push({ ...f, ...awayOf(f, names), ...mark(f.path, theirs(f)) });
  }
  for (const p of opts.folders ?? []) {
    if (!p.startsWith(base)) continue;
    const d = p.slice(base.length).split("/")[0]!;
    if (d && !dirs.has(d)) dirs.set(d, false);
  }
  const q = view.q.toLowerCase();
  if (q) return found({ base, dir, view, names, folders: opts.folders ?? [], mark, theirs }, files, all);
  const nameOf = (f: ListedEntry) => f.path.slice(base.length);
  const shown = files.sort(byView(view.sort, nameOf));
  if (view.order === "desc") shown.reverse();
  const folders = [...dirs.keys()].sort((a, b) => a.localeCompare(b));
  if (view.sort === "name" && view.order === "desc") folders.reverse();
  return {
    dir,
    dirs: folders.map((name) => ({ name, ...mark(base + name, dirs.get(name)!) })),
    files: shown,
    view,
  };
}

/** The order of `sort` among files, by `nameOf` (the name shown), ties by path. */
function byView(sort: ListView["sort"], nameOf: (f: ListedEntry) => string): (a: ListedEntry, b: ListedEntry) => number {
  const name = (a: ListedEntry, b: ListedEntry) => nameOf(a).localeCompare(nameOf(b)) || a.path.localeCompare(b.path);
  if (sort === "size") return (a, b) => a.size - b.size || name(a, b);
  if (sort === "date") return (a, b) => a.updated_at - b.updated_at || name(a, b);
  return name;
}

const lastName = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/**
 * A search: the files and folders in `dir` and every folder under it whose own name holds the
 * search (any case), as Nextcloud and Google Drive search. A result deeper down keeps its path
 * below `dir` (the row says which folder it is in); sorted by its own name, then by that path.
 */
/** What a search needs of the listing: where it is, how it marks rows, the folders kept on purpose. */
interface SearchScope {
  base: string;
  dir: string;
  view: ListView;
  names: ReadonlyMap<string, string>;
  folders: readonly string[];
  mark: (path: string, togglable: boolean) => { pin?: PinMark };
  theirs: (f: { cells?: string[] }) => boolean;
}

function found({ base, dir, view, names, folders: kept, mark, theirs }: SearchScope, here: ListedEntry[], all: Found[]): Listing {
  const q = view.q.toLowerCase();
  const named = (path: string) => lastName(path).toLowerCase().includes(q);
  const files = here.filter((f) => named(f.path));
  // Every folder below `dir` (of files, and kept on purpose), and whether it holds a file of another of my cells.
  const folders = new Map<string, boolean>();
  for (const f of all) {
    const rest = f.path.slice(base.length);
    const parts = rest.split("/");
    if (parts.length < 2) continue;
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      folders.set(d, (folders.get(d) ?? false) || theirs(f));
    }
    if (named(f.path)) files.push({ ...f, ...awayOf(f, names), ...mark(f.path, theirs(f)) });
  }
  for (const p of kept) {
    if (!p.startsWith(base)) continue;
    const rest = p.slice(base.length).split("/");
    for (let i = 1; i <= rest.length; i++) {
      const d = rest.slice(0, i).join("/");
      if (d && !folders.has(d)) folders.set(d, false);
    }
  }
  const shown = files.sort(byView(view.sort, (f) => lastName(f.path)));
  if (view.order === "desc") shown.reverse();
  const dirs = [...folders.keys()].filter(named).sort((a, b) => lastName(a).localeCompare(lastName(b)) || a.localeCompare(b));
  if (view.sort === "name" && view.order === "desc") dirs.reverse();
  return { dir, dirs: dirs.map((name) => ({ name, ...mark(base + name, folders.get(name)!) })), files: shown, view };
}

/** The query that sorts `l` by `by` (again: the other way), keeping its folder and search; and that order. */
function sortQuery(l: Listing, by: ListView["sort"]): { qs: string; order: ListView["order"] } {
  const on = l.view.sort === by;
  // A first click sorts names A to Z, and sizes and dates largest and newest first; another turns it round.
  const order = on ? (l.view.order === "asc" ? "desc" : "asc") : by === "name" ? "asc" : "desc";
  const qs = new URLSearchParams({ dir: l.dir, sort: by, order, ...(l.view.q ? { q: l.view.q } : {}) }).toString();
  return { qs, order };
}

/** A link that sorts the list by `by` (plain link without JS; htmx swaps the list in place). */
function SortLink({ l, by, label, class: cls }: { l: Listing; by: ListView["sort"]; label: string; class: string }) {
  const on = l.view.sort === by;
  const { qs } = sortQuery(l, by);
  return (
    <a
      href={`/files?${qs}`}
      hx-get={`/files/list?${qs}`}
      hx-target="#file-list"
      hx-swap="outerHTML"
      class={cls}
      title={`Sort by ${label.toLowerCase()}`}
      aria-current={on ? "true" : undefined}
    >
      {label}
      {on ? (l.view.order === "asc" ? " ▲" : " ▼") : ""}
    </a>
  );
}

const SORTS: { by: ListView["sort"]; label: string }[] = [
  { by: "name", label: "Name" },
  { by: "size", label: "Size" },
  { by: "date", label: "Updated" },
];

/** A column header that sorts the list by `by` (again: the other way), keeping the folder and the search. */
function SortHeader({ l, by, label, num }: { l: Listing; by: ListView["sort"]; label: string; num?: boolean }) {
  const on = l.view.sort === by;
  return (
    <th class={num ? "num" : undefined} aria-sort={on ? (l.view.order === "asc" ? "ascending" : "descending") : undefined}>
      <SortLink l={l} by={by} label={label} class="sort" />
    </th>
  );
}

/**
 * "Sort by: Name Size Updated" above the list, for phone width, where the table's headers are
 * hidden (each row is a card there); the wide layout sorts from the headers and hides this.
 */
function SortBar({ l }: { l: Listing }) {
  return (
    <nav class="sort-bar" aria-label="Sort the list">
      <span>Sort by</span>
      {SORTS.map((s) => (
        <SortLink l={l} by={s.by} label={s.label} class="sort-by" />
      ))}
    </nav>
  );
}

/** Home and each folder of `dir`, linked; on a file's page, its name last (`file`, not a link). */
function Breadcrumb({ dir, file }: { dir: string; file?: string }) {
  const parts = dir ? dir.split("/") : [];
  return (
    <p class="crumbs">
      <a href="/files">Home</a>
      {parts.map((p, i) => (
        <>
          {" / "}
          <a href={`/files?dir=${encodeURIComponent(parts.slice(0, i + 1).join("/"))}`}>{p}</a>
        </>
      ))}
      {file === undefined ? null : (
        <>
          {" / "}
          <span aria-current="page">{file}</span>
        </>
      )}
    </p>
  );
}

/**
 * htmx runs this on #file-list when it loads and on every checkbox change: "Share selected…" is
 * disabled until a file is checked. Without JS the button stays enabled (the dialog then asks
 * for a file if none was checked).
 */
const PICK_SCRIPT =
  "var n=this.querySelectorAll('input.pick:checked').length,b=this.querySelector('#share-selected'),c=this.querySelector('#pick-count')," +
  "d=this.querySelector('#delete-selected');" +
  "if(b)b.disabled=n===0;if(c)c.textContent=n?n+' selected':'';" +
  "var m=this.querySelector('#move-selected');if(m)m.disabled=n===0;" +
  "if(d){d.disabled=n===0;d.setAttribute('hx-confirm','Delete '+(n===1?'the selected file':n+' selected files')+'? '+(n===1?'It goes':'They go')+' to the Trash, with '+(n===1?'its':'their')+' history.')}";

/** What a pin or unpin just did, shown in its row after the swap. */
export interface PinNote {
  ok: boolean;
  text: string;
}

/**
 * The pin toggle of a row: a button that posts to /files/pin or /files/unpin (htmx, the CSRF token
 * in the page's header) and swaps its row (`dir`: the folder listed, so a search result keeps its "in a/b"); disabled, with a busy line, while the request runs.
 * A row kept by a folder pin above it has none (`PinLine` says so: that folder's row unpins it).
 */
function PinToggle({ path, mark, dir }: { path: string; mark?: PinMark; dir: string }) {
  if (mark !== "on" && mark !== "off") return null;
  const on = mark === "on";
  return (
    <>
      <button
        type="button"
        class={on ? "small pin pinned" : "small pin"}
        aria-pressed={on ? "true" : "false"}
        title={
          on
            ? "Pinned: kept in your files folder on this machine. Unpin to open it on demand from your other cells (a copy only this cell has stays)."
            : "Pin: keep a copy in your files folder on this machine, up to date"
        }
        hx-post={on ? "/files/unpin" : "/files/pin"}
        hx-vals={JSON.stringify({ path, dir })}
        hx-target="closest tr"
        hx-swap="outerHTML"
        hx-disabled-elt="this"
        hx-indicator="next .pin-busy"
      >
        {on ? "Kept here (pinned) — unpin" : "Keep on this cell"}
      </button>
      <span class="pin-busy" role="status">
        <span class="spinner" aria-hidden="true"></span> {on ? "unpinning…" : "fetching…"}
      </span>
    </>
  );
}

/** Under a row's name: what its pin or unpin just did, or the folder pin that keeps it here. */
function PinLine({ mark, note }: { mark?: PinMark; note?: PinNote }) {
  const within =
    typeof mark === "object" ? (
      <span class="sub pin-state">
        {mark.within ? (
          <>
            kept here with <code>{mark.within}/</code> (pinned)
          </>
        ) : (
          "kept here (everything is pinned)"
        )}
      </span>
    ) : null;
  return (
    <>
      {within}
      {note ? (
        <span class={note.ok ? "sub pin-note" : "sub pin-note error"} role={note.ok ? "status" : "alert"}>
          {note.text}
        </span>
      ) : null}
    </>
  );
}

/** The sort and search fields a list action sends along, so the list comes back as it was shown. */
const LIST_FIELDS = "#file-list input[name=sort], #file-list input[name=order], #file-list input[name=q]";

/**
 * "Rename or move" of a row, or of a file on its own page (`page`): a field with its whole path; a
 * new name renames it, other folders move it there (POST /files/move, kept as a move in history).
 * Opened like a menu (<details>). A row's list comes back in place; the page goes to the file's
 * new page (and works as a plain form post too, with the session's CSRF token).
 */
function MoveForm({ path, dir, folder, page }: { path: string; dir: string; folder: boolean; page?: { csrf?: string } }) {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const id = `move-${encodeURIComponent(path).replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const htmx = page
    ? { method: "post" as const, action: "/files/move", "hx-post": "/files/move", "hx-swap": "none" }
    : { "hx-post": "/files/move", "hx-target": "#file-list", "hx-swap": "outerHTML", "hx-include": LIST_FIELDS };
  return (
    <details class={page ? "move move-page" : "move"}>
      <summary class={page ? "button secondary" : "button small secondary"} aria-label={`Rename or move ${name}`}>
        Rename or move…
      </summary>
      <form class="move-form" {...htmx}>
        <input type="hidden" name="from" value={path} />
        <input type="hidden" name="dir" value={dir} />
        {page ? <input type="hidden" name="then" value="page" /> : null}
        {page?.csrf ? <input type="hidden" name="_csrf" value={page.csrf} /> : null}
        <label for={id}>{folder ? "New path of this folder" : "New path of this file"}</label>
        <input type="text" id={id} name="to" value={path} required spellcheck={false} autocomplete="off" />
        <button type="submit" class="small" data-busy="Moving…">
          Rename or move
        </button>
      </form>
    </details>
  );
}

/** Under a search result's name, when it is in a folder below the one searched: "in a/b", linking that folder. */
function InFolder({ path, dir }: { path: string; dir: string }) {
  const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  if (parent === dir) return null;
  return (
    <span class="sub in-folder">
      in{" "}
      <a href={`/files?dir=${encodeURIComponent(parent)}`} class="trunc" title={parent}>
        {parent}
      </a>
    </span>
  );
}

/** A subfolder's row (a whole row: the pin toggle swaps it). */
export function DirRow({ d, dir, note }: { d: ListedDir; dir: string; note?: PinNote }) {
  const path = (dir ? dir + "/" : "") + d.name;
  const name = lastName(d.name);
  return (
    <tr class="dir" data-path={path}>
      <td colspan={4}>
        <a class="folder trunc" href={`/files?dir=${encodeURIComponent(path)}`} title={name}>
          {name}/
        </a>
        <InFolder path={path} dir={dir} />
        <PinLine mark={d.pin} note={note} />
      </td>
      <td class="actions">
        <PinToggle path={path} mark={d.pin} dir={dir} />
        <button
          class="small danger"
          hx-post="/files/delete-folder"
          hx-vals={JSON.stringify({ path, dir })}
          hx-target="#file-list"
          hx-swap="outerHTML"
          hx-include={LIST_FIELDS}
          hx-confirm={`Delete the folder ${name} and everything in it? Its files go to the Trash, with their history.`}
          data-confirm-label="Delete"
          aria-label={`Delete folder ${name}`}
        >
          Delete
        </button>
        <MoveForm path={path} dir={dir} folder />
      </td>
    </tr>
  );
}

/** A file's row (a whole row: the pin toggle swaps it); `pick` adds its Share checkbox. */
export function FileRow({ f, dir, pick, note }: { f: ListedEntry; dir: string; pick: boolean; note?: PinNote }) {
  const name = lastName(f.path);
  return (
    <tr data-path={f.path}>
      <td class="name">
        {pick ? <input type="checkbox" class="pick" name="path" value={f.path} form="share-pick" aria-label={`Select ${name}`} /> : null}
        <a href={`/files/detail?path=${encodeURIComponent(f.path)}`} class="trunc" title={name}>
          {name}
        </a>
        <InFolder path={f.path} dir={dir} />
        {f.away ? (
          <span class="notice away" title="Not kept on this cell: opened from there when you download it">
            {" "}
            on {f.away}
          </span>
        ) : null}
        <PinLine mark={f.pin} note={note} />
      </td>
      <td class="num">{formatBytes(f.size)}</td>
      <td class="num">{f.version}</td>
      <td>
        <When ms={f.updated_at} />
      </td>
      <td class="actions">
        <PinToggle path={f.path} mark={f.pin} dir={dir} />
        <a href={fileUrl(f.path, "?download")} download={name} class="button small">
          Download
        </a>
        <button
          class="small danger"
          hx-post="/files/delete"
          hx-vals={JSON.stringify({ path: f.path, dir })}
          hx-target="#file-list"
          hx-swap="outerHTML"
          hx-include={LIST_FIELDS}
          hx-disabled-elt="this"
          aria-label={`Delete ${name}`}
        >
          Delete
        </button>
        <MoveForm path={f.path} dir={dir} folder={false} />
      </td>
    </tr>
  );
}

export function FileList({ l, share = true }: { l: Listing; share?: boolean }) {
  const pick = share && l.files.length > 0;
  return (
    <div id="file-list" hx-trigger={pick ? "load, change" : undefined} hx-on-htmx-trigger={pick ? PICK_SCRIPT : undefined}>
      <input type="hidden" name="sort" value={l.view.sort} />
      <input type="hidden" name="order" value={l.view.order} />
      <input type="hidden" name="q" value={l.view.q} />
      {l.dirs.length === 0 && l.files.length === 0 ? (
        <p class="empty">
          {l.view.q
            ? `Nothing here or in the folders in it has “${l.view.q}” in its name.`
            : "No files here yet. Choose files or a folder above, or drop them on this page, to upload them."}
        </p>
      ) : (
        <div class="card table-wrap">
          {pick ? (
            <form id="share-pick" method="get" action="/share" class="pick-bar">
              {l.dir ? <input type="hidden" name="dir" value={l.dir} /> : null}
              <button type="submit" id="share-selected" class="small">
                Share selected…
              </button>
              <button
                type="button"
                id="delete-selected"
                class="small danger"
                hx-post="/files/delete-many"
                hx-target="#file-list"
                hx-swap="outerHTML"
                hx-include={`#file-list input.pick:checked, ${LIST_FIELDS}`}
                hx-confirm="Delete the selected files? They go to the Trash, with their history."
                data-confirm-label="Delete"
                data-busy="Deleting…"
              >
                Delete selected
              </button>
              <details class="move move-selected">
                <summary class="button small secondary">Move selected…</summary>
                <span class="move-form">
                  <label for="move-selected-to">Into the folder</label>
                  {/* form="": not sent with the Share dialog's GET; the Move button includes it by id. */}
                  <input
                    type="text"
                    id="move-selected-to"
                    name="to_dir"
                    form=""
                    value={l.dir}
                    placeholder="top folder"
                    spellcheck={false}
                    autocomplete="off"
                  />
                  <button
                    type="button"
                    id="move-selected"
                    class="small"
                    hx-post="/files/move-many"
                    hx-target="#file-list"
                    hx-swap="outerHTML"
                    hx-include={`#file-list input.pick:checked, #move-selected-to, ${LIST_FIELDS}`}
                    data-busy="Moving…"
                  >
                    Move
                  </button>
                </span>
              </details>
              <span id="pick-count" class="notice" aria-live="polite"></span>
            </form>
          ) : null}
          {l.view.q ? (
            <p class="search-note" role="status">
              {count(l.dirs.length + l.files.length, "result")} for “{l.view.q}”{" "}
              {l.dir ? (
                <>
                  in <code>{l.dir}</code> and the folders in it.
                </>
              ) : (
                "in all your files."
              )}
            </p>
          ) : null}
          <SortBar l={l} />
          <table class={pick ? "files pickable" : "files"}>
            <thead>
              <tr>
                <SortHeader l={l} by="name" label="Name" />
                <SortHeader l={l} by="size" label="Size" num />
                <th class="num">Version</th>
                <SortHeader l={l} by="date" label="Updated" />
                <th>
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {l.dirs.map((d) => (
                <DirRow d={d} dir={l.dir} />
              ))}
              {l.files.map((f) => (
                <FileRow f={f} dir={l.dir} pick={pick} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function FilesPage(p: {
  l: Listing;
  notice?: string;
  share?: boolean;
  csrf?: string;
  /** config max_upload_bytes: public/app.js says a file over it is too large before sending it. */
  maxUpload?: number;
}) {
  return (
    <>
      <h1 class="visually-hidden">Files</h1>
      <div class="files-head">
        <Breadcrumb dir={p.l.dir} />
        <form class="search" role="search" method="get" action="/files" onsubmit="return false">
          <input type="hidden" name="dir" value={p.l.dir} />
          <input
            type="search"
            name="q"
            value={p.l.view.q}
            placeholder={p.l.dir ? "Search this folder" : "Search all files"}
            aria-label={p.l.dir ? "Search file names in this folder and the folders in it" : "Search the names of all your files"}
            hx-get="/files/list"
            hx-trigger="input changed delay:250ms, search"
            hx-target="#file-list"
            hx-swap="outerHTML"
            hx-include="closest form, #file-list input[name=sort], #file-list input[name=order]"
          />
        </form>
        <a href="/files/trash" class="trash-link">
          Trash
        </a>
      </div>
      <section class="card upload" id="upload" data-dir={p.l.dir} data-max-upload={p.maxUpload ? String(p.maxUpload) : undefined}>
        <form id="upload-form">
          <label for="upload-input">
            Upload to <code>{p.l.dir || "/"}</code>
          </label>
          <input type="file" id="upload-input" name="file" multiple />
          <span class="pick-folder">
            <label for="upload-folder">or a folder</label>
            <input type="file" id="upload-folder" name="folder" multiple webkitdirectory />
          </span>
          <button type="submit" id="upload-button">
            Upload
          </button>
        </form>
        <div id="upload-progress" aria-live="polite"></div>
        <form
          class="new-folder"
          method="post"
          action="/files/mkdir"
          hx-post="/files/mkdir"
          hx-target="#file-list"
          hx-swap="outerHTML"
          hx-include={LIST_FIELDS}
          hx-on-htmx-after-request="if(event.detail.successful)this.reset()"
        >
          <input type="hidden" name="dir" value={p.l.dir} />
          {p.csrf ? <input type="hidden" name="_csrf" value={p.csrf} /> : null}
          <label for="new-folder-name">New folder</label>
          <input type="text" id="new-folder-name" name="name" required placeholder="Folder name" spellcheck={false} autocomplete="off" />
          <button type="submit" class="small" data-busy="Making…">
            Make folder
          </button>
        </form>
      </section>
      {p.notice ? <p class="notice">{p.notice}</p> : null}
      <FileList l={p.l} share={p.share} />
      {/* What a deletion did, with Undo (views/trash Toast, swapped in out of band). */}
      <div id="toast" class="toast" role="status" aria-live="polite"></div>
    </>
  );
}

/** "7 days", "2 hours", "90 s": how long something waits in the trash. */
function duration(s: number): string {
  if (s >= 86400 && s % 3600 === 0) return s % 86400 === 0 ? count(s / 86400, "day") : count(s / 3600, "hour");
  if (s >= 3600 && s % 60 === 0) return s % 3600 === 0 ? count(s / 3600, "hour") : count(s / 60, "minute");
  return `${s} s`;
}

/** The folder a path is in ("" at the top). */
const dirOf = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");

export function FileDetailPage(p: {
  csrf?: string;
  path: string;
  manifest: Manifest | null;
  manifestHash: string | null;
  versions: VersionEntry[];
  share?: Omit<ShareBoxProps, "path" | "csrf">;
  /** config trash_retention_s: how long purged versions can still be brought back. */
  trashRetentionS?: number;
  /** How the current version is previewed (views/preview), and a text file's first bytes. */
  preview?: { kind: FilePreviewKind; text?: string } | null;
}) {
  const m = p.manifest;
  const name = p.path.split("/").pop()!;
  const keep = duration(p.trashRetentionS ?? 7 * 86400);
  return (
    <>
      <Breadcrumb dir={dirOf(p.path)} file={name} />
      <section class="card">
        <h1>{name}</h1>
        {m ? (
          <dl class="facts">
            <dt>Path</dt>
            <dd>
              <code>{p.path}</code>
            </dd>
            <dt>Size</dt>
            <dd>
              {formatBytes(m.total_size)} ({m.total_size} bytes)
            </dd>
            <dt>Chunks</dt>
            <dd>
              {m.chunks.length} × up to {formatBytes(m.encryption.chunk_size)}, {m.encryption.cipher}
            </dd>
            <dt>File hash</dt>
            <dd>
              <code>{m.file_hash}</code>
            </dd>
            <dt>Manifest</dt>
            <dd>
              <code>{p.manifestHash}</code>
            </dd>
            <dt>Version</dt>
            <dd>
              {m.version} · {formatTime(m.created_at)}
            </dd>
          </dl>
        ) : (
          <p class="notice">This file is deleted; its versions below can still be downloaded.</p>
        )}
        {m ? (
          <div class="file-actions">
            <a class="button" href={fileUrl(p.path, "?download")}>
              Download
            </a>
            <MoveForm path={p.path} dir={dirOf(p.path)} folder={false} page={{ csrf: p.csrf }} />
          </div>
        ) : null}
      </section>
      {m && p.preview ? (
        <FilePreview kind={p.preview.kind} src={fileUrl(p.path)} name={name} size={m.total_size} text={p.preview.text} />
      ) : null}
      {m && p.share ? <ShareBox {...p.share} path={p.path} csrf={p.csrf} /> : null}
      <section class="card">
        <h2>Versions</h2>
        <table class="versions">
          <thead>
            <tr>
              <th>Version</th>
              <th>When</th>
              <th class="num">Size</th>
              <th>
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {p.versions.map((v, i) => (
              <tr data-version={v.version}>
                <td>{v.version}</td>
                <td>{formatTime(v.at)}</td>
                <td class="num">{v.deleted ? "deleted" : formatBytes(v.size)}</td>
                <td class="actions">
                  {v.deleted ? null : <a href={fileUrl(p.path, `?download&version=${v.version}`)}>Download</a>}
                  {i > 0 && !v.deleted ? (
                    <button
                      class="small restore"
                      hx-post="/files/restore"
                      hx-vals={JSON.stringify({ path: p.path, version: String(v.version) })}
                    >
                      Restore
                    </button>
                  ) : null}
                  {i > 0 ? (
                    <button
                      class="small danger purge"
                      hx-post="/files/purge"
                      hx-vals={JSON.stringify({ path: p.path, version: String(v.version) })}
                      hx-confirm={`Purge version ${v.version} of ${name}? It waits in the trash for ${keep}, then it is gone for good.`}
                      data-confirm-label="Purge"
                    >
                      Purge
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {p.versions.length > 1 || !m ? (
          <p>
            <button
              class="small danger purge-all"
              hx-post="/files/purge"
              hx-vals={JSON.stringify({ path: p.path, version: "all" })}
              data-confirm-label="Purge"
              hx-confirm={
                m
                  ? `Purge every older version of ${name}? The current one stays. They wait in the trash for ${keep}, then they are gone for good.`
                  : `Purge every version of ${name}? It disappears from the history; it waits in the trash for ${keep}, then it is gone for good.`
              }
            >
              {m ? "Purge older versions…" : "Purge all versions…"}
            </button>
          </p>
        ) : null}
        <p class="notice">
          Restore makes an older version current again (as a new version: nothing is lost). Purged versions wait in the{" "}
          <a href="/files/trash">Trash</a> for {keep}, where Restore brings them back; then they and the pieces only they used are deleted
          here and on peers.
        </p>
      </section>
      {m && m.chunks.length > 0 ? (
        <section class="card">
          <h2>Chunks</h2>
          <table class="chunks">
            <thead>
              <tr>
                <th class="num">#</th>
                <th>Name (SHA-256 of sealed bytes)</th>
                <th class="num">Sealed size</th>
              </tr>
            </thead>
            <tbody>
              {m.chunks.slice(0, 200).map((c) => (
                <tr>
                  <td class="num">{c.index}</td>
                  <td>
                    <code>{c.hash}</code>
                  </td>
                  <td class="num">{formatBytes(c.size)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {m.chunks.length > 200 ? <p>… and {m.chunks.length - 200} more.</p> : null}
        </section>
      ) : null}
    </>
  );
}
