/** @jsxImportSource hono/jsx */
/**
 * @module views/files — the Files tab: browse GROVE_HOME, upload with progress, download, delete,
 * details (versions: download, restore, purge); pick files (checkboxes) and "Share selected…"
 * opens the Share dialog (GET /share).
 */
import type { FileEntry, VersionEntry } from "../src/store/placement-db.ts";
import type { Manifest } from "../src/store/manifest.ts";
import { count, fileUrl, formatBytes, formatTime } from "../src/core/format.ts";
import { ShareBox, type ShareBoxProps } from "./share-dialog.tsx";

/** A file as the Files tab lists it: `away` names the cell of mine that keeps it when this one does not. */
export type ListedEntry = FileEntry & { away?: string };

export interface Listing {
  dir: string;
  dirs: string[];
  files: ListedEntry[];
}

/**
 * Split the current files under `dir` into its immediate subfolders and files. A file of the tree
 * not kept here (`local: false`) is marked with the name of the cell that keeps it (`names`).
 */
export function listing(
  dir: string,
  all: (FileEntry & { local?: boolean; cells?: string[] })[],
  names: ReadonlyMap<string, string> = new Map(),
): Listing {
  const base = dir ? dir + "/" : "";
  const dirs = new Set<string>();
  const files: ListedEntry[] = [];
  for (const f of all) {
    const rest = f.path.slice(base.length);
    const slash = rest.indexOf("/");
    if (slash >= 0) dirs.add(rest.slice(0, slash));
    else if (f.local === false)
      files.push({ ...f, away: (f.cells ?? []).map((id) => names.get(id) ?? id.slice(0, 8)).join(", ") || "another cell" });
    else files.push(f);
  }
  return { dir, dirs: [...dirs].sort(), files };
}

function Breadcrumb({ dir }: { dir: string }) {
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
    </p>
  );
}

/**
 * htmx runs this on #file-list when it loads and on every checkbox change: "Share selected…" is
 * disabled until a file is checked. Without JS the button stays enabled (the dialog then asks
 * for a file if none was checked).
 */
const PICK_SCRIPT =
  "var n=this.querySelectorAll('input.pick:checked').length,b=this.querySelector('#share-selected'),c=this.querySelector('#pick-count');" +
  "if(b)b.disabled=n===0;if(c)c.textContent=n?n+' selected':''";

export function FileList({ l, share = true }: { l: Listing; share?: boolean }) {
  const base = l.dir ? l.dir + "/" : "";
  const pick = share && l.files.length > 0;
  return (
    <div id="file-list" hx-trigger={pick ? "load, change" : undefined} hx-on-htmx-trigger={pick ? PICK_SCRIPT : undefined}>
      {l.dirs.length === 0 && l.files.length === 0 ? (
        <p class="empty">
          No files here yet. Upload one above, or use <code>grove put FILE</code>.
        </p>
      ) : (
        <div class="card table-wrap">
          {pick ? (
            <form id="share-pick" method="get" action="/share" class="pick-bar">
              {l.dir ? <input type="hidden" name="dir" value={l.dir} /> : null}
              <button type="submit" id="share-selected" class="small">
                Share selected…
              </button>
              <span id="pick-count" class="notice" aria-live="polite"></span>
            </form>
          ) : null}
          <table class={pick ? "files pickable" : "files"}>
            <thead>
              <tr>
                <th>Name</th>
                <th class="num">Size</th>
                <th class="num">Version</th>
                <th>Updated</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {l.dirs.map((d) => (
                <tr class="dir">
                  <td colspan={5}>
                    <a class="folder" href={`/files?dir=${encodeURIComponent(base + d)}`}>
                      {d}/
                    </a>
                  </td>
                </tr>
              ))}
              {l.files.map((f) => {
                const name = f.path.slice(base.length);
                return (
                  <tr data-path={f.path}>
                    <td class="name">
                      {pick ? (
                        <input type="checkbox" class="pick" name="path" value={f.path} form="share-pick" aria-label={`Select ${name}`} />
                      ) : null}
                      <a href={`/files/detail?path=${encodeURIComponent(f.path)}`}>{name}</a>
                      {f.away ? (
                        <span class="notice away" title="Not kept on this cell: opened from there when you download it">
                          {" "}
                          on {f.away}
                        </span>
                      ) : null}
                    </td>
                    <td class="num">{formatBytes(f.size)}</td>
                    <td class="num">{f.version}</td>
                    <td>{formatTime(f.updated_at)}</td>
                    <td class="actions">
                      <a href={fileUrl(f.path, "?download")} download={name} class="button small">
                        Download
                      </a>
                      <button
                        class="small danger"
                        hx-post="/files/delete"
                        hx-vals={JSON.stringify({ path: f.path, dir: l.dir })}
                        hx-target="#file-list"
                        hx-swap="outerHTML"
                        hx-confirm={`Delete ${name}? It stays in history.`}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function FilesPage(p: { l: Listing; notice?: string; share?: boolean }) {
  return (
    <>
      <Breadcrumb dir={p.l.dir} />
      <section class="card upload" id="upload" data-dir={p.l.dir}>
        <form id="upload-form">
          <label for="upload-input">
            Upload to <code>{p.l.dir || "/"}</code>
          </label>
          <input type="file" id="upload-input" name="file" multiple />
          <button type="submit" id="upload-button">
            Upload
          </button>
        </form>
        <div id="upload-progress" aria-live="polite"></div>
      </section>
      {p.notice ? <p class="notice">{p.notice}</p> : null}
      <FileList l={p.l} share={p.share} />
    </>
  );
}

/** "7 days", "2 hours", "90 s": how long something waits in the trash. */
function duration(s: number): string {
  if (s >= 86400 && s % 3600 === 0) return s % 86400 === 0 ? count(s / 86400, "day") : count(s / 3600, "hour");
  if (s >= 3600 && s % 60 === 0) return s % 3600 === 0 ? count(s / 3600, "hour") : count(s / 60, "minute");
  return `${s} s`;
}

export function FileDetailPage(p: {
  csrf?: string;
  path: string;
  manifest: Manifest | null;
  manifestHash: string | null;
  versions: VersionEntry[];
  share?: Omit<ShareBoxProps, "path" | "csrf">;
  /** config trash_retention_s: how long purged versions can still be brought back. */
  trashRetentionS?: number;
}) {
  const m = p.manifest;
  const name = p.path.split("/").pop()!;
  const keep = duration(p.trashRetentionS ?? 7 * 86400);
  return (
    <>
      <p class="crumbs">
        <a href="/files">Home</a> / {p.path}
      </p>
      <section class="card">
        <h1>{p.path.split("/").pop()}</h1>
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
          <p>
            <a class="button" href={fileUrl(p.path, "?download")}>
              Download
            </a>
          </p>
        ) : null}
      </section>
      {m && p.share ? <ShareBox {...p.share} path={p.path} csrf={p.csrf} /> : null}
      <section class="card">
        <h2>Versions</h2>
        <table class="versions">
          <thead>
            <tr>
              <th>Version</th>
              <th>When</th>
              <th class="num">Size</th>
              <th></th>
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
          Restore makes an older version current again (as a new version: nothing is lost). Purged versions wait in the trash for {keep} (
          <code>grove trash</code>; <code>grove trash restore</code> brings them back), then they and the chunks only they used are deleted
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
