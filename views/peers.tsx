/** @jsxImportSource hono/jsx */
/**
 * @module views/peers — the Peers tab: the paired cells first (online or offline, how each is
 * reached, when it was last seen; friend, favorite, remove; "Check now" probes them), then invite
 * and join, cells nearby and relays.
 */
import type { PeerView } from "../src/api/types.ts";
import type { RelayState } from "../src/relay/relay-client.ts";
import { formatTime, shortId } from "../src/core/format.ts";
import { presence, PRESENCE_TEXT, routeKindText } from "./peer-presence.ts";
import { When } from "./when.tsx";
import { humanProblem } from "./human-error.ts";

/** What the friendship column says, from this cell's side. */
function friendshipText(p: PeerView): string {
  const base = { none: "", requested: "friend request sent", asked: "asks to be friends", friends: "friend" }[p.friendship];
  return base && p.friendship_notice ? `${base} (not told yet)` : base;
}

/** The outcome of the last friendship action, shown above the list. */
export interface PeerActionNote {
  ok: boolean;
  message: string;
}

/** The state dot and word: online, offline or not checked yet. */
function PresenceBadge({ p }: { p: PeerView }) {
  const state = presence(p);
  return (
    <span class={`presence ${state}`} data-presence={state}>
      {PRESENCE_TEXT[state]}
    </span>
  );
}

/** How it is reached: the kind of its best route, with latency and speed; or why there is none. */
function Connection({ p }: { p: PeerView }) {
  const state = presence(p);
  if (state === "unknown") return <span class="sub-inline">not probed yet</span>;
  if (!p.best_route) return <span class="sub-inline">no route answers</span>;
  const figures = [p.latency_ms === null ? "" : `${p.latency_ms} ms`, p.mb_s === null ? "" : `${p.mb_s} MB/s`].filter(Boolean).join(" · ");
  return (
    <>
      <span class="route-kind" title={p.best_route}>
        {routeKindText(p.best_route)}
      </span>
      {figures ? <span class="sub">{figures}</span> : null}
    </>
  );
}

export function PeerList({ peers, note, canCheck = false }: { peers: PeerView[]; note?: PeerActionNote; canCheck?: boolean }) {
  const noteEl = note ? (
    <p class={note.ok ? "notice" : "error"} role="status" id="peer-action-note">
      {note.message}
    </p>
  ) : null;
  if (!peers.length)
    return (
      <section id="peer-list" class="card">
        <h2>Your peers</h2>
        {noteEl}
        <p class="empty">
          No peers yet. Create an invite below and paste it in another cell's Peers tab, or paste another cell's invite below.
        </p>
      </section>
    );
  const action = (p: PeerView, name: string, label: string, cls = "small") => (
    <button
      class={cls}
      hx-post={`/peers/${p.id}/${name}`}
      hx-target="#peer-list"
      hx-swap="outerHTML"
      {...(name === "remove"
        ? { "hx-confirm": `Remove ${p.name}? It must be invited again to pair.`, "data-confirm-label": "Remove" }
        : {})}
    >
      {label}
    </button>
  );
  const online = peers.filter((p) => presence(p) === "online").length;
  return (
    <section id="peer-list" class="card">
      <div class="card-head">
        <h2>Your peers</h2>
        <span class="notice" id="peer-count">
          {online} of {peers.length} online
        </span>
        {canCheck ? (
          <button
            class="small"
            id="peer-check"
            hx-post="/peers/check"
            hx-target="#peer-list"
            hx-swap="outerHTML"
            hx-disabled-elt="this"
            title="Ask every peer now whether it answers"
          >
            Check now
          </button>
        ) : null}
      </div>
      {noteEl}
      <div class="table-wrap">
        <table class="peers">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Connection</th>
              <th>Last seen</th>
              <th>Relationship</th>
              <th>
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {peers.map((p) => (
              <tr data-peer={p.id} data-presence={presence(p)}>
                <td>
                  <span class="peer-name">{p.name}</span>
                  <code class="sub" title={p.id}>
                    {shortId(p.id)}
                  </code>
                </td>
                <td>
                  <PresenceBadge p={p} />
                  {p.uptime_pct === null ? null : <span class="sub">answered {p.uptime_pct}% of rounds</span>}
                </td>
                <td>
                  <Connection p={p} />
                </td>
                <td class="last-seen">{p.last_seen === null ? "never" : <When ms={p.last_seen} />}</td>
                <td class="relationship">
                  {[p.mine ? "mine" : "", friendshipText(p), p.favorite ? "favorite" : ""].filter(Boolean).join(", ") || "—"}
                </td>
                <td class="actions">
                  {p.friendship === "friends" ? (
                    action(p, "unfriend", "Unfriend")
                  ) : p.friendship === "requested" ? (
                    action(p, "unfriend", "Withdraw request")
                  ) : p.friendship === "asked" ? (
                    <>
                      {action(p, "accept", "Accept friend")}
                      {action(p, "unfriend", "Decline")}
                    </>
                  ) : (
                    action(p, "friend", "Ask to be friends")
                  )}
                  {p.favorite ? action(p, "unfavorite", "Unfavorite") : action(p, "favorite", "Favorite")}
                  {action(p, "remove", "Remove", "small danger")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function InviteBox({ token, expires, forName }: { token: string; expires: number; forName?: string }) {
  return (
    <div id="invite-box">
      <p>
        Single-use, valid until {formatTime(expires)}. Copy it, then paste it in the Peers tab of{" "}
        {forName ? <strong>{forName}</strong> : "the other cell"}, under “Join with an invite”.
      </p>
      <textarea id="invite-token" readonly rows={5} aria-label="The invite, to paste on the other cell">
        {token}
      </textarea>
      <button type="button" class="small" data-copy="#invite-token">
        Copy
      </button>
    </div>
  );
}

export function JoinResult({ ok, message }: { ok: boolean; message: string }) {
  return (
    <p id="join-result" class={ok ? "notice" : "error"} role="status">
      {message}
    </p>
  );
}

export interface NearbyView {
  id: string;
  name: string;
  addresses: string[];
  paired: boolean;
}

/** Cells found on the local network. "Pair" makes an invite to enter on that cell: being nearby grants nothing. */
export function NearbyList({ cells, mdns, mdnsOff }: { cells: NearbyView[]; mdns: boolean; mdnsOff?: "config" | "environment" | null }) {
  if (!mdns)
    return (
      <p class="notice">
        Local discovery is off: this cell does not look for other cells on the local network.{" "}
        {mdnsOff === "environment" ? (
          "This run of the cell was started with it turned off; it comes back when the cell is started again without that."
        ) : (
          <>
            Turn it on in <a href="/settings#set-mdns">Settings › Local discovery</a>; it is taken at once.
          </>
        )}
      </p>
    );
  if (!cells.length) return <p class="empty">No other cells seen on the local network.</p>;
  return (
    <table class="nearby">
      <thead>
        <tr>
          <th>Name</th>
          <th>Id</th>
          <th>Addresses</th>
          <th>
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {cells.map((n) => (
          <tr data-nearby={n.id}>
            <td>{n.name}</td>
            <td>
              <code title={n.id}>{n.id.slice(0, 12)}</code>
            </td>
            <td>{n.addresses.join(" ")}</td>
            <td class="actions">
              {n.paired ? (
                "paired"
              ) : (
                <button
                  class="small"
                  hx-post="/peers/invite"
                  hx-vals={JSON.stringify({ ttl: "3600", for: n.name })}
                  hx-target="#invite-box"
                  hx-swap="outerHTML"
                >
                  Pair
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The relays this cell holds a reservation on, with their state. */
export function RelayList({ relays }: { relays: RelayState[] }) {
  if (!relays.length) {
    return (
      <p class="notice" id="relay-list">
        No relay. Cells that cannot reach each other directly (behind NAT, on different networks) meet through a relay: a machine both can
        reach. Add its address in <a href="/settings#set-relays">Settings › Relays</a> on each cell.
      </p>
    );
  }
  return (
    <table id="relay-list">
      <thead>
        <tr>
          <th>Relay</th>
          <th>State</th>
          <th>Since</th>
          <th>Calls out / in</th>
        </tr>
      </thead>
      <tbody>
        {relays.map((r) => (
          <tr>
            <td>
              <code>{r.url}</code>
              {r.configured ? "" : " (a peer's)"}
            </td>
            <td class={`relay-${r.state}`}>
              {r.state === "ready" ? "connected" : r.state}
              {r.error ? ` — ${humanProblem(r.error, "the relay")}` : ""}
            </td>
            <td>
              <time datetime={new Date(r.since).toISOString()}>{new Date(r.since).toLocaleString()}</time>
            </td>
            <td>
              {r.calls_out} / {r.calls_in}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function PeersPage(p: {
  peers: PeerView[];
  nearby: NearbyView[];
  mdns: boolean;
  mdnsOff?: "config" | "environment" | null;
  relays: RelayState[];
  canCheck: boolean;
}) {
  return (
    <>
      <h1>Peers</h1>
      <div hx-get="/peers/list" hx-trigger="peers-changed from:body" hx-target="#peer-list" hx-swap="outerHTML"></div>
      <PeerList peers={p.peers} canCheck={p.canCheck} />
      <section class="card" id="invite-section">
        <h2>Invite a cell</h2>
        <form hx-post="/peers/invite" hx-target="#invite-box" hx-swap="outerHTML" data-busy="Creating…">
          <label>
            Valid for
            <select name="ttl" id="invite-ttl">
              <option value="3600">1 hour</option>
              <option value="86400" selected>
                1 day
              </option>
              <option value="604800">7 days</option>
            </select>
          </label>
          <label>
            For
            <select name="kind" id="invite-kind">
              <option value="peer" selected>
                a friend's cell or a storage peer
              </option>
              <option value="mine">another of my devices (shares my files and keys)</option>
            </select>
          </label>
          <button type="submit" id="invite-button">
            Create invite
          </button>
        </form>
        <div id="invite-box"></div>
      </section>
      <section class="card" id="join-section">
        <h2>Join with an invite</h2>
        <form hx-post="/peers/join" hx-target="#join-result" hx-swap="outerHTML" data-busy="Joining…">
          <label>
            Invite token <input type="text" name="token" id="join-token" required autocomplete="off" />
          </label>
          <button type="submit" id="join-button">
            Join
          </button>
        </form>
        <p id="join-result"></p>
      </section>
      <section class="card">
        <h2>Nearby</h2>
        <NearbyList cells={p.nearby} mdns={p.mdns} mdnsOff={p.mdnsOff} />
      </section>
      <section class="card">
        <h2>Relays</h2>
        <RelayList relays={p.relays} />
      </section>
    </>
  );
}
