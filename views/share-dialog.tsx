/** @jsxImportSource hono/jsx */
/**
 * @module views/share-dialog — sharing from the Files tab: several files with several friends.
 *
 * - The Share dialog (GET /share?path=a&path=b, opened by "Share selected…" in the Files list):
 *   the chosen files, friends as checkboxes, an expiry, and Share.
 * - The Share box on a file's detail page: the same form for that one file.
 *
 * Both post to POST /share, which shares every file with every friend and answers with one
 * result line per (file, friend): htmx swaps the lines into #share-result; without JS the
 * dialog page comes back with them. Without friends both point to the Peers tab; without
 * sharing they say so.
 */
import { formatBytes, shortId } from "../src/core/format.ts";
import { isTechnical } from "./human-error.ts";

/** A friend files can be shared with. */
export interface FriendOption {
  id: string;
  name: string;
}

/** Expiry choices (seconds; "" = never). */
export const EXPIRY_CHOICES: { value: string; label: string }[] = [
  { value: "", label: "Never" },
  { value: "3600", label: "1 hour" },
  { value: "86400", label: "1 day" },
  { value: "604800", label: "7 days" },
  { value: "2592000", label: "30 days" },
];

/** Most files and friends one Share request takes. */
export const MAX_SHARE_FILES = 100;
export const MAX_SHARE_FRIENDS = 20;

/** What sharing one file with one friend did. */
export interface SharePairResult {
  path: string;
  peer: string;
  peerName: string;
  ok: boolean;
  /** "Shared notes.txt with cell-b." or "Could not share … : why". */
  message: string;
  /** Set on success when the friend could not be reached yet. */
  pending?: boolean;
  /** Why the first delivery failed, when it did. */
  pendingWhy?: string;
}

/** The answer to POST /share: a validation error (nothing was shared) or one line per pair. */
export interface ShareResults {
  error?: string;
  lines: SharePairResult[];
}

export function ShareResult({ r }: { r?: ShareResults }) {
  if (!r) return <div id="share-result" role="status" aria-live="polite"></div>;
  const ok = r.lines.filter((l) => l.ok).length;
  return (
    <div id="share-result" role="status" aria-live="polite">
      {r.error ? (
        <p class="error" id="share-error" role="alert">
          {r.error}
        </p>
      ) : null}
      {r.lines.length ? (
        <>
          <p class="share-summary">
            {ok} of {r.lines.length} shared
            {ok ? (
              <>
                {" "}
                · see <a href="/feed#shared-by-you">Shared by you</a>
              </>
            ) : null}
          </p>
          <ul class="share-lines">
            {r.lines.map((l) => (
              <li class={l.ok ? "ok-line" : "error"} data-path={l.path} data-peer={l.peer} data-ok={l.ok ? "1" : "0"}>
                <span class={`badge ${l.ok ? "share-ok" : "share-failed"}`}>{l.ok ? "ok" : "failed"}</span> {l.message}
                {l.ok && l.pending ? (
                  <span class="notice">
                    {" "}
                    Not delivered yet ({l.pendingWhy && !isTechnical(l.pendingWhy) ? l.pendingWhy : `${l.peerName} could not be reached`}):
                    retried after each sync round.
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

function NoFriends() {
  return (
    <p class="empty" id="share-no-friends">
      No friends to share with yet: mark a peer as friend in the <a href="/peers">Peers</a> tab first.
    </p>
  );
}

interface ShareFormProps {
  paths: string[];
  friends: FriendOption[];
  /** Friends checked when the form renders (default: the only friend, if there is just one). */
  chosen?: string[];
  expires?: string;
  /** The Files folder the dialog was opened from (kept for its "Back" link). */
  dir?: string;
  csrf?: string;
}

/** The form both the dialog and the detail page's box use: hidden paths, friend checkboxes, expiry. */
function ShareForm(p: ShareFormProps) {
  const chosen = new Set(p.chosen ?? (p.friends.length === 1 ? [p.friends[0]!.id] : []));
  return (
    <form
      method="post"
      action="/share"
      class="share-form"
      hx-post="/share"
      hx-target="#share-result"
      hx-swap="outerHTML"
      hx-disabled-elt="#share-button"
      hx-indicator="#share-indicator"
    >
      {p.csrf ? <input type="hidden" name="_csrf" value={p.csrf} /> : null}
      {p.dir ? <input type="hidden" name="dir" value={p.dir} /> : null}
      {p.paths.map((path) => (
        <input type="hidden" name="path" value={path} />
      ))}
      <fieldset id="share-friends" class="share-friends">
        <legend>With</legend>
        {p.friends.map((f, i) => (
          <label class="check" for={`share-peer-${i}`}>
            <input type="checkbox" name="peer" value={f.id} id={`share-peer-${i}`} checked={chosen.has(f.id)} /> {f.name}{" "}
            <code>({shortId(f.id)})</code>
          </label>
        ))}
      </fieldset>
      <label>
        Expires
        <select name="expires_s" id="share-expires">
          {EXPIRY_CHOICES.map((e) => (
            <option value={e.value} selected={e.value === (p.expires ?? "")}>
              {e.label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" id="share-button">
        Share
      </button>
      <span id="share-indicator" class="sync-indicator" aria-hidden="true">
        <span class="spinner"></span> Sharing…
      </span>
    </form>
  );
}

export interface ShareBoxProps {
  path: string;
  /** False when this cell runs no sharing service. */
  available: boolean;
  friends: FriendOption[];
  csrf?: string;
}

/** The "Share" box on a file's detail page: this file, with one or more friends. */
export function ShareBox(p: ShareBoxProps) {
  return (
    <section class="card" id="share">
      <h2>Share</h2>
      {!p.available ? (
        <p class="notice">Sharing is not available in this cell.</p>
      ) : p.friends.length === 0 ? (
        <NoFriends />
      ) : (
        <>
          <ShareForm paths={[p.path]} friends={p.friends} csrf={p.csrf} />
          <ShareResult />
        </>
      )}
    </section>
  );
}

/** A chosen file as the dialog lists it; size null = no current version (deleted or never here). */
export interface ShareFile {
  path: string;
  size: number | null;
}

export interface SharePageProps {
  csrf?: string;
  available: boolean;
  files: ShareFile[];
  friends: FriendOption[];
  chosen?: string[];
  expires?: string;
  dir?: string;
  /** Why there is nothing to share (no files, too many, a bad path): shown instead of the form. */
  error?: string;
  results?: ShareResults;
}

/** The Share dialog page: the chosen files, friends, expiry, and (after a post) the results. */
export function SharePage(p: SharePageProps) {
  const back = p.dir ? `/files?dir=${encodeURIComponent(p.dir)}` : "/files";
  const n = p.files.length;
  return (
    <>
      <p class="crumbs">
        <a href={back}>Files</a> / Share
      </p>
      <section class="card" id="share-dialog">
        <h1>{n ? `Share ${n} file${n === 1 ? "" : "s"}` : "Share files"}</h1>
        {n === 0 ? (
          <>
            <p class="error" id="share-error" role="alert">
              {p.error ?? "Choose at least one file to share."}
            </p>
            <p>
              <a class="button" href={back}>
                Back to Files
              </a>
            </p>
          </>
        ) : (
          <>
            <ul id="share-files" class="share-files">
              {p.files.map((f) => (
                <li data-path={f.path}>
                  <a href={`/files/detail?path=${encodeURIComponent(f.path)}`}>
                    <code>{f.path}</code>
                  </a>{" "}
                  {f.size === null ? (
                    <span class="error">(not in your files now: it cannot be shared)</span>
                  ) : (
                    <span class="notice">{formatBytes(f.size)}</span>
                  )}
                </li>
              ))}
            </ul>
            {!p.available ? (
              <p class="notice">Sharing is not available in this cell.</p>
            ) : p.friends.length === 0 ? (
              <NoFriends />
            ) : (
              <>
                <ShareForm
                  paths={p.files.map((f) => f.path)}
                  friends={p.friends}
                  chosen={p.chosen}
                  expires={p.expires}
                  dir={p.dir}
                  csrf={p.csrf}
                />
                <ShareResult r={p.results} />
              </>
            )}
            <p class="share-back">
              <a href={back}>Back to Files</a>
            </p>
          </>
        )}
      </section>
    </>
  );
}
