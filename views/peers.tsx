/** @jsxImportSource hono/jsx */
/** @module views/peers — the Peers tab: paired cells with friend/favorite/remove, invite and join. */
import type { PeerView } from "../src/api/types.ts";
import type { RelayState } from "../src/relay/relay-client.ts";
import { isRelayRoute } from "../src/net/route-class.ts";
import { formatTime } from "../src/core/format.ts";

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

export function PeerList({ peers, note }: { peers: PeerView[]; note?: PeerActionNote }) {
  const noteEl = note ? (
    <p class={note.ok ? "notice" : "error"} role="status" id="peer-action-note">
      {note.message}
    </p>
  ) : null;
  if (!peers.length)
    return (
      <div id="peer-list">
        {noteEl}
        <p class="empty">No peers yet. Create an invite here and join it on another cell, or paste another cell's invite below.</p>
      </div>
    );
  const action = (p: PeerView, name: string, label: string, cls = "small") => (
    <button
      class={cls}
      hx-post={`/peers/${p.id}/${name}`}
      hx-target="#peer-list"
      hx-swap="outerHTML"
      {...(name === "remove" ? { "hx-confirm": `Remove ${p.name}? It must be invited again to pair.` } : {})}
    >
      {label}
    </button>
  );
  return (
    <div id="peer-list" class="card table-wrap">
      {noteEl}
      <table class="peers">
        <thead>
          <tr>
            <th>Name</th>
            <th>Id</th>
            <th>Flags</th>
            <th>Best route</th>
            <th class="num">Latency</th>
            <th class="num">MB/s</th>
            <th class="num">Uptime</th>
            <th>Last seen</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {peers.map((p) => (
            <tr data-peer={p.id}>
              <td>{p.name}</td>
              <td>
                <code title={p.id}>{p.id.slice(0, 12)}</code>
              </td>
              <td>{[p.mine ? "mine" : "", friendshipText(p), p.favorite ? "favorite" : ""].filter(Boolean).join(", ") || "—"}</td>
              <td>{p.best_route ? (isRelayRoute(p.best_route) ? `through relay ${p.best_route}` : p.best_route) : "—"}</td>
              <td class="num">{p.latency_ms === null ? "—" : `${p.latency_ms} ms`}</td>
              <td class="num">{p.mb_s ?? "—"}</td>
              <td class="num">{p.uptime_pct === null ? "—" : `${p.uptime_pct}%`}</td>
              <td>{formatTime(p.last_seen)}</td>
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
  );
}

export function InviteBox({ token, expires, forName }: { token: string; expires: number; forName?: string }) {
  return (
    <div id="invite-box">
      <p>
        Single-use, valid until {formatTime(expires)}. On {forName ? <strong>{forName}</strong> : "the other cell"}:{" "}
        <code>grove join TOKEN</code> or paste it in its Peers tab.
      </p>
      <textarea id="invite-token" readonly rows={5}>
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
export function NearbyList({ cells, mdns }: { cells: NearbyView[]; mdns: boolean }) {
  if (!mdns)
    return (
      <p class="notice">
        Local discovery is off (<code>"mdns": false</code> in config.json).
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
          <th></th>
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
        No relay. A cell behind NAT that no peer can reach directly needs one: run <code>grove relay</code> on a machine both can reach and
        add <code>"relays": ["ws://HOST:5680"]</code> to config.json on each cell.
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
              {r.error ? ` — ${r.error}` : ""}
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

export function PeersPage(p: { peers: PeerView[]; nearby: NearbyView[]; mdns: boolean; relays: RelayState[] }) {
  return (
    <>
      <h1>Peers</h1>
      <section class="card">
        <h2>Invite a cell</h2>
        <form hx-post="/peers/invite" hx-target="#invite-box" hx-swap="outerHTML">
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
      <section class="card">
        <h2>Join with an invite</h2>
        <form hx-post="/peers/join" hx-target="#join-result" hx-swap="outerHTML">
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
        <NearbyList cells={p.nearby} mdns={p.mdns} />
      </section>
      <section class="card">
        <h2>Relays</h2>
        <RelayList relays={p.relays} />
      </section>
      <div hx-get="/peers/list" hx-trigger="peers-changed from:body" hx-target="#peer-list" hx-swap="outerHTML"></div>
      <PeerList peers={p.peers} />
    </>
  );
}
