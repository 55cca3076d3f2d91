import { shortId } from "../src/core/format.ts";
/** @jsxImportSource hono/jsx */
/**
 * @module views/update — the self-update notice: a banner on every page and a section of the
 * Settings tab when a peer offers a newer trusted build, with an "Update now" button (htmx POST
 * /update with the session's CSRF token; a plain form post works too).
 */

/** What the notice shows (from update-available.json, see update/update-state). */
export interface UpdateNoticeInfo {
  build: string;
  build_time: string;
  peer: string;
  peer_name: string;
  current_build: string;
}

/** "Update now": swaps in the build and answers with UpdateResult in place of the button. */
function UpdateForm({ csrf, id }: { csrf?: string; id: string }) {
  return (
    <form
      method="post"
      action="/update"
      class="update-form"
      hx-post="/update"
      hx-target={`#${id}`}
      hx-swap="outerHTML"
      hx-disabled-elt="find button"
    >
      {csrf ? <input type="hidden" name="_csrf" value={csrf} /> : null}
      <span id={id}>
        <button type="submit">Update now</button>
      </span>
    </form>
  );
}

function describe(u: UpdateNoticeInfo) {
  return (
    <>
      A newer Grove build is available: <code>{u.build.slice(0, 12)}</code> (built {u.build_time}), offered by {u.peer_name} (
      <code>{shortId(u.peer)}</code>) and signed by a trusted release key. This cell runs <code>{u.current_build.slice(0, 12)}</code>.
    </>
  );
}

/** The banner at the top of every page. */
export function UpdateBanner({ u, csrf }: { u: UpdateNoticeInfo; csrf?: string }) {
  return (
    <div class="update-banner" role="status" id="update-banner">
      <span>{describe(u)}</span> <UpdateForm csrf={csrf} id="update-banner-result" />
    </div>
  );
}

/** The Settings tab's section. */
export function UpdateSection({ u, csrf }: { u: UpdateNoticeInfo | null; csrf?: string }) {
  return (
    <section class="card" id="update">
      <h2>Updates</h2>
      {u ? (
        <>
          <p>{describe(u)}</p>
          <p class="notice">
            The build is downloaded, checked against its signature, test-started and swapped in; the cell then restarts, and rolls back if
            the new build does not come up.
          </p>
          <UpdateForm csrf={csrf} id="update-settings-result" />
        </>
      ) : (
        <p class="notice">No newer build offered by your peers (they are asked after each sync round).</p>
      )}
    </section>
  );
}

/** The answer to "Update now". */
export function UpdateResult({ id, ok, message }: { id: string; ok: boolean; message: string }) {
  return (
    <span id={id} class={ok ? "notice" : "error"} role="status">
      {message}
    </span>
  );
}
