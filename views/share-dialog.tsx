/** @jsxImportSource hono/jsx */
/**
 * @module views/share-dialog — the "Share" box on a file's detail page: pick a friend and an
 * optional expiry, POST /files/share (htmx swaps in the result; without JS the detail page comes
 * back with it). Without friends it points to the Peers tab; without sharing it says so.
 */

/** A friend the file can be shared with. */
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

export interface ShareOutcome {
  ok: boolean;
  message: string;
  /** Set on success when the friend could not be reached yet. */
  pending?: boolean;
}

export function ShareResult({ r }: { r?: ShareOutcome }) {
  if (!r) return <div id="share-result" role="status" aria-live="polite"></div>;
  return (
    <div id="share-result" role="status" aria-live="polite">
      <p class={r.ok ? "ok-line" : "error"}>
        {r.message}
        {r.ok ? <> · <a href="/feed#shared-by-you">Shared by you</a></> : null}
      </p>
      {r.ok && r.pending ? <p class="notice">Not delivered yet (the friend is unreachable): retried after each sync round.</p> : null}
    </div>
  );
}

export interface ShareBoxProps {
  path: string;
  /** False when this cell runs no sharing service. */
  available: boolean;
  friends: FriendOption[];
  csrf?: string;
  result?: ShareOutcome;
}

export function ShareBox(p: ShareBoxProps) {
  return (
    <section class="card" id="share">
      <h2>Share</h2>
      {!p.available ? (
        <p class="notice">Sharing is not available in this cell.</p>
      ) : p.friends.length === 0 ? (
        <p class="empty" id="share-no-friends">
          No friends to share with yet: mark a peer as friend in the <a href="/peers">Peers</a> tab first.
        </p>
      ) : (
        <form method="post" action="/files/share" class="share-form" hx-post="/files/share" hx-target="#share-result" hx-swap="outerHTML" hx-disabled-elt="#share-button">
          {p.csrf ? <input type="hidden" name="_csrf" value={p.csrf} /> : null}
          <input type="hidden" name="path" value={p.path} />
          <label>
            With
            <select name="peer" id="share-peer" required>
              {p.friends.map((f) => (
                <option value={f.id}>
                  {f.name} ({f.id.slice(0, 8)})
                </option>
              ))}
            </select>
          </label>
          <label>
            Expires
            <select name="expires_s" id="share-expires">
              {EXPIRY_CHOICES.map((e) => (
                <option value={e.value}>{e.label}</option>
              ))}
            </select>
          </label>
          <button type="submit" id="share-button">Share</button>
        </form>
      )}
      {p.available && p.friends.length ? <ShareResult r={p.result} /> : null}
    </section>
  );
}
