/** @jsxImportSource hono/jsx */
/**
 * @module views/feed — the Feed tab: files friends shared with this cell (download, and a lazy
 * preview for text, raster images and PDF), and the files this cell shared ("Shared by you", with
 * Revoke: htmx swaps the row; without JS a form post and a redirect back).
 */
import type { FeedItem, ShareView } from "../src/share/types.ts";
import { formatBytes, formatTime, shortId } from "../src/core/format.ts";
import { PdfPreview, TextPreview, baseType, previewKind } from "./preview.tsx";

/** A sharer's file type fit for a header: a plain MIME type, else application/octet-stream. */
export function safeContentType(fileType: string): string {
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}(\s*;\s*[a-z0-9_.+-]+=("[\x20-\x7e]{0,64}"|[a-z0-9_.+-]{1,64}))*$/i.test(
    fileType.trim(),
  )
    ? fileType.trim()
    : "application/octet-stream";
}

const itemUrl = (id: string, what: string) => `/feed/${encodeURIComponent(id)}/${what}`;

function expiry(at: number | null): string {
  return at === null ? "never" : formatTime(at);
}

function Badge({ state }: { state: string }) {
  return <span class={`badge state-${state}`}>{state}</span>;
}

/** The preview fragment (GET /feed/:id/preview), swapped into the item's preview cell. */
export function FeedPreview(p: { item: FeedItem; text?: string; error?: string }) {
  const kind = previewKind(p.item.file_type);
  if (p.error)
    return (
      <p class="error preview-error" role="alert">
        {p.error}
      </p>
    );
  if (p.item.state !== "available") return <p class="notice">No preview: this file is {p.item.state}.</p>;
  if (kind === "image") return <img class="preview-img" src={itemUrl(p.item.id, "inline")} alt={`Preview of ${p.item.filename}`} />;
  if (kind === "pdf") return <PdfPreview src={itemUrl(p.item.id, "inline")} name={p.item.filename} />;
  if (kind === "text" && p.text !== undefined) return <TextPreview text={p.text} size={p.item.size} />;
  return <p class="notice">No preview for this type.</p>;
}

const isSvg = (item: FeedItem) => baseType(item.file_type) === "image/svg+xml";
const hasPreview = (item: FeedItem) => item.state === "available" && (previewKind(item.file_type) !== null || isSvg(item));

function PreviewCell({ item }: { item: FeedItem }) {
  if (previewKind(item.file_type) === null) {
    return isSvg(item) ? <p class="notice preview-none">No preview (SVG images are not shown inline).</p> : null;
  }
  return (
    <div class="preview" hx-get={itemUrl(item.id, "preview")} hx-trigger="intersect once" hx-swap="innerHTML">
      <span class="notice">Loading preview…</span>
      <noscript>
        <span class="notice">(previews need JavaScript)</span>
      </noscript>
    </div>
  );
}

function FeedRow({ item }: { item: FeedItem }) {
  return (
    <tbody class="feed-item" data-feed={item.id} data-state={item.state}>
      <tr>
        <td>
          {item.from_name} <code title={item.from}>{shortId(item.from)}</code>
        </td>
        <td>
          <span class="filename">{item.filename}</span>
          <span class="sub">{baseType(item.file_type)}</span>
        </td>
        <td class="num">{formatBytes(item.size)}</td>
        <td>
          {formatTime(item.granted_at)}
          <span class="sub">received {formatTime(item.received_at)}</span>
        </td>
        <td>{expiry(item.expires_at)}</td>
        <td>
          <Badge state={item.state} />
        </td>
        <td class="actions">
          {item.state === "available" ? (
            <a class="button small download" href={itemUrl(item.id, "download")}>
              Download
            </a>
          ) : null}
        </td>
      </tr>
      {hasPreview(item) ? (
        <tr class="preview-row">
          <td colspan={7}>
            <PreviewCell item={item} />
          </td>
        </tr>
      ) : null}
    </tbody>
  );
}

export function FeedList({ items, cellId }: { items: FeedItem[]; cellId: string }) {
  if (!items.length) {
    return (
      <div id="feed-list">
        <p class="empty">
          Nothing shared with you yet. What a friend shares with you appears here. To become friends, pair your cells and mark each other as
          friend in the <a href="/peers">Peers</a> tab.
        </p>
      </div>
    );
  }
  const sorted = [...items].sort((x, y) => y.received_at - x.received_at || y.granted_at - x.granted_at);
  return (
    <div id="feed-list" class="table-wrap">
      <table class="feed">
        <thead>
          <tr>
            <th>From</th>
            <th>Name</th>
            <th class="num">Size</th>
            <th>Shared</th>
            <th>Expires</th>
            <th>State</th>
            <th>
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        {sorted.map((i) => (
          <FeedRow item={i} />
        ))}
      </table>
    </div>
  );
}

/** One of our shares; the row Revoke swaps. */
export function ShareRow({ s, csrf, error }: { s: ShareView; csrf?: string; error?: string }) {
  return (
    <tr data-share={s.id} data-state={s.state}>
      <td>
        <span class="filename">{s.filename}</span>
        {s.path !== s.filename ? <span class="sub">{s.path}</span> : null}
      </td>
      <td>
        {s.to_name} <code title={s.to}>{shortId(s.to)}</code>
      </td>
      <td>{formatTime(s.granted_at)}</td>
      <td>{expiry(s.expires_at)}</td>
      <td>
        <Badge state={s.state} />
        <span class="sub">{s.delivered ? "delivered" : "not delivered yet"}</span>
        {error ? (
          <span class="sub error" role="alert">
            {error}
          </span>
        ) : null}
      </td>
      <td class="actions">
        {s.state === "active" ? (
          <form
            method="post"
            action={`/shares/${encodeURIComponent(s.id)}/revoke`}
            hx-post={`/shares/${encodeURIComponent(s.id)}/revoke`}
            hx-target="closest tr"
            hx-swap="outerHTML"
            hx-confirm={`Revoke ${s.filename} for ${s.to_name}? No cell will serve it to them any more.`}
            data-confirm-label="Revoke"
          >
            {csrf ? <input type="hidden" name="_csrf" value={csrf} /> : null}
            <button type="submit" class="small danger revoke">
              Revoke
            </button>
          </form>
        ) : null}
      </td>
    </tr>
  );
}

export function SharedByYou({ shares, csrf }: { shares: ShareView[]; csrf?: string }) {
  const sorted = [...shares].sort((x, y) => y.granted_at - x.granted_at);
  return (
    <section class="card" id="shared-by-you">
      <h2>Shared by you</h2>
      {!sorted.length ? (
        <p class="empty">
          You have not shared anything yet: open a file in the <a href="/files">Files</a> tab and use Share, or tick files there and choose
          “Share selected…”.
        </p>
      ) : (
        <div class="table-wrap">
          <table class="shares">
            <thead>
              <tr>
                <th>Name</th>
                <th>With</th>
                <th>Shared</th>
                <th>Expires</th>
                <th>State</th>
                <th>
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((s) => (
                <ShareRow s={s} csrf={csrf} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export interface FeedState {
  /** False when this cell runs no sharing service. */
  available: boolean;
  items: FeedItem[];
  shares: ShareView[];
  error?: string;
}

export function FeedPage(p: FeedState & { cellId: string; csrf?: string }) {
  return (
    <>
      <h1>Feed</h1>
      {p.error ? (
        <p class="error" id="feed-error" role="alert">
          {p.error}
        </p>
      ) : null}
      {!p.available ? (
        <section class="card">
          <p class="notice" id="sharing-unavailable">
            Sharing is not available in this cell.
          </p>
        </section>
      ) : (
        <>
          <section class="card" id="shared-with-you">
            <h2>Shared with you</h2>
            <FeedList items={p.items} cellId={p.cellId} />
          </section>
          <SharedByYou shares={p.shares} csrf={p.csrf} />
        </>
      )}
    </>
  );
}
