/** @jsxImportSource hono/jsx */
/**
 * @module views/trash — the Trash (GET /files/trash): deleted files, which Restore brings back as
 * they were, and purged versions waiting to be collected, each with when the collection takes it,
 * Restore and "Delete now"; "Empty trash now" for all of it (each behind the in-page confirmation); what
 * `grove trash` shows, in the dashboard. Also the toast a deletion shows in the Files tab, with Undo.
 */
import type { TrashListing } from "../src/trash/listing.ts";
import { count, formatBytes } from "../src/core/format.ts";
import { When } from "./when.tsx";

export interface DeletedFile {
  path: string;
  deleted_at: number;
  /** The last version with content (what Restore brings back) and its size. */
  version: number;
  size: number;
  /** When the trash collection would take it on its own (trash/deleted-files), or null: never on its own. */
  collect_after: number | null;
}

/** The Files tab's toast (swapped in out of band by htmx): what happened, and Undo (of one deletion or several) where it can be undone. */
/**
 * What an Undo brings back: `paths`, this cell's own deleted files; `away`, files only another of
 * my cells keeps, each with the manifest the tree showed there (sent as "MANIFEST:PATH").
 */
export interface Undo {
  paths: readonly string[];
  away?: readonly { path: string; manifest: string }[];
  dir: string;
}

export function Toast(p: { text: string; undo?: Undo; error?: boolean }) {
  return (
    <div id="toast" class={p.error ? "toast error" : "toast"} role={p.error ? "alert" : "status"} hx-swap-oob="true">
      <span>{p.text}</span>
      {p.undo ? (
        <form class="undo" hx-post="/files/undelete" hx-target="#file-list" hx-swap="outerHTML">
          {p.undo.paths.map((path) => (
            <input type="hidden" name="path" value={path} />
          ))}
          {(p.undo.away ?? []).map((f) => (
            <input type="hidden" name="away" value={`${f.manifest}:${f.path}`} />
          ))}
          <input type="hidden" name="dir" value={p.undo.dir} />
          <button class="small" type="submit">
            Undo
          </button>
        </form>
      ) : null}
      {/* Files only another of my cells kept are in that cell's Trash, not this one's: no link to an empty page. */}
      {!p.undo || p.undo.paths.length ? <a href="/files/trash">Trash</a> : null}
      <button type="button" class="toast-close" data-dismiss-toast aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}

const nameOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/** "Empty trash now", behind the in-page confirmation naming what goes; nothing when the trash is empty. */
function EmptyTrash(p: { deleted: number; versions: number; pieces: number }) {
  if (!p.deleted && !p.versions && !p.pieces) return null;
  const what = [
    p.deleted ? `${count(p.deleted, "deleted file")} with ${p.deleted === 1 ? "its" : "their"} history` : "",
    p.versions ? count(p.versions, "purged version") : "",
  ]
    .filter(Boolean)
    .join(" and ");
  return (
    <p class="empty-trash">
      <button
        class="danger"
        id="empty-trash"
        hx-post="/files/trash/empty"
        hx-target="#trash-list"
        hx-swap="outerHTML"
        hx-disabled-elt="this"
        hx-confirm={`Empty the trash now? ${what || "The pieces of files waiting to be freed"} will be deleted for good; your peers drop their copies at the next sync. This cannot be undone.`}
        data-confirm-label="Empty trash"
        data-busy="Emptying…"
      >
        Empty trash now
      </button>
    </p>
  );
}

export function TrashList(p: { deleted: DeletedFile[]; trash: TrashListing; now: number; note?: { ok: boolean; text: string } }) {
  const { deleted, trash, now } = p;
  const versions = trash.versions;
  return (
    <div id="trash-list">
      {p.note ? (
        <p class={p.note.ok ? "notice" : "error"} role={p.note.ok ? "status" : "alert"}>
          {p.note.text}
        </p>
      ) : null}
      <EmptyTrash deleted={deleted.length} versions={versions.length} pieces={trash.totals.chunks} />
      <section class="card">
        <h2>Deleted files</h2>
        {deleted.length === 0 ? (
          <p class="empty">No deleted files. A file you delete waits here, with its history, until you restore it.</p>
        ) : (
          <div class="table-wrap">
            <table class="files">
              <thead>
                <tr>
                  <th>Name</th>
                  <th class="num">Size</th>
                  <th>Deleted</th>
                  <th>Deleted for good</th>
                  <th>
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {deleted.map((f) => (
                  <tr data-path={f.path}>
                    <td class="name" data-label="Name">
                      <a href={`/files/detail?path=${encodeURIComponent(f.path)}`} title={f.path}>
                        {f.path}
                      </a>
                    </td>
                    <td class="num" data-label="Size">
                      {formatBytes(f.size)}
                    </td>
                    <td data-label="Deleted">
                      <When ms={f.deleted_at} now={now} />
                    </td>
                    <td data-label="Deleted for good">
                      {f.collect_after === null ? (
                        <span title="Versions are kept until you delete them (no version retention is set)">when you delete it</span>
                      ) : (
                        <When ms={f.collect_after} now={now} />
                      )}
                    </td>
                    <td class="actions">
                      <button
                        class="small"
                        hx-post="/files/trash/undelete"
                        hx-vals={JSON.stringify({ path: f.path })}
                        hx-target="#trash-list"
                        hx-swap="outerHTML"
                        hx-disabled-elt="this"
                        aria-label={`Restore ${nameOf(f.path)}`}
                      >
                        Restore
                      </button>
                      <button
                        class="small danger"
                        hx-post="/files/trash/delete-file-now"
                        hx-vals={JSON.stringify({ path: f.path })}
                        hx-target="#trash-list"
                        hx-swap="outerHTML"
                        hx-disabled-elt="this"
                        hx-confirm={`Delete ${nameOf(f.path)} and its whole history for good now? It cannot be brought back.`}
                        data-confirm-label="Delete now"
                        aria-label={`Delete now: ${nameOf(f.path)}`}
                      >
                        Delete now
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section class="card">
        <h2>Purged versions</h2>
        {versions.length === 0 ? (
          <p class="empty">No purged versions. Versions you purge from a file's history wait here before they are deleted for good.</p>
        ) : (
          <div class="table-wrap">
            <table class="files">
              <thead>
                <tr>
                  <th>Name</th>
                  <th class="num">Version</th>
                  <th class="num">Size</th>
                  <th>Purged</th>
                  <th>Deleted for good</th>
                  <th>
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr data-path={v.path} data-version={String(v.version)}>
                    <td class="name" data-label="Name">
                      <span title={v.path}>{v.path}</span>
                    </td>
                    <td class="num" data-label="Version">
                      {v.version}
                    </td>
                    <td class="num" data-label="Size">
                      {v.deleted ? "deletion" : formatBytes(v.size)}
                    </td>
                    <td data-label="Purged">
                      <When ms={v.purged_at} now={now} />
                    </td>
                    <td data-label="Deleted for good">
                      <When ms={v.collect_after} now={now} />
                    </td>
                    <td class="actions">
                      <button
                        class="small"
                        hx-post="/files/trash/restore"
                        hx-vals={JSON.stringify({ path: v.path })}
                        hx-target="#trash-list"
                        hx-swap="outerHTML"
                        hx-disabled-elt="this"
                        title="Every purged version of this file goes back into its history"
                        aria-label={`Restore the purged versions of ${nameOf(v.path)}`}
                      >
                        Restore
                      </button>
                      <button
                        class="small danger"
                        hx-post="/files/trash/delete-now"
                        hx-vals={JSON.stringify({ path: v.path, version: String(v.version) })}
                        hx-target="#trash-list"
                        hx-swap="outerHTML"
                        hx-disabled-elt="this"
                        hx-confirm={`Delete version ${v.version} of ${nameOf(v.path)} for good now? It cannot be brought back.`}
                        data-confirm-label="Delete now"
                        aria-label={`Delete now: version ${v.version} of ${nameOf(v.path)}`}
                      >
                        Delete now
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {trash.totals.chunks || trash.totals.held ? (
        <p class="muted">
          Also waiting to be freed: {count(trash.totals.chunks, "piece")} of your files ({formatBytes(trash.totals.chunk_bytes)}) and{" "}
          {count(trash.totals.held, "piece")} kept for other cells ({formatBytes(trash.totals.held_bytes)}).
        </p>
      ) : null}
    </div>
  );
}

export function TrashPage(p: Parameters<typeof TrashList>[0] & { retentionS: number }) {
  return (
    <>
      <p class="crumbs">
        <a href="/files">Home</a> / Trash
      </p>
      <h1>Trash</h1>
      <p class="muted">
        Purged versions are deleted for good{" "}
        {p.retentionS >= 86400 ? count(Math.round(p.retentionS / 86400), "day") : count(p.retentionS, "second")} after they were purged;
        until then Restore puts them back into the file's history. Deleted files wait here with their history; “Delete now” removes one for
        good, “Empty trash now” everything here.
      </p>
      <TrashList deleted={p.deleted} trash={p.trash} now={p.now} note={p.note} />
    </>
  );
}
