/** @jsxImportSource hono/jsx */
/**
 * @module web/peers-pages — the Peers tab (mounted at /peers by web/dashboard, behind its login):
 * GET /peers (the peers, cells nearby, relays), POST /peers/invite (a new invite token), POST
 * /peers/join (pair with a token; tells the list to reload), GET /peers/list (the list alone) and
 * POST /peers/check ("Check now": probe every peer, then the list) and
 * POST /peers/:id/:action (friend requests and their answers, favorite, remove: fleet/fleet's `act`). Posts carry the
 * session's CSRF token and answer htmx fragments.
 */
import { Hono } from "hono";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { humanError, humanProblem } from "../../views/human-error.ts";
import { PeersPage, PeerList, InviteBox, JoinResult, type PeerActionNote } from "../../views/peers.tsx";
import { nearbyCells, peerView } from "./api/fleet.ts";
import type { WebServices } from "./services.ts";
import type { WebEnv } from "./context.ts";
import { formField, info, requireCsrf } from "./page-helpers.tsx";
import { shortId } from "../core/format.ts";
import { toast } from "./toast.ts";

function friendMessage(action: string, name: string, friends: boolean): string {
  if (action === "unfriend") return `${name} is no longer a friend (or the request is withdrawn or declined).`;
  return friends
    ? `You and ${name} are friends: you can share files with each other.`
    : `${name} was asked to be friends; it shows in its Peers tab until it accepts.`;
}

/** What an action that tells no one did (favorite, remove), for its toast. */
function actionMessage(action: string, name: string): string {
  if (action === "favorite") return `${name} is a favorite now.`;
  if (action === "unfavorite") return `${name} is no longer a favorite.`;
  if (action === "remove") return `Removed ${name}. It must be invited again to pair.`;
  return "";
}

export function peersPages(s: Pick<WebServices, "cell" | "peers" | "fleet" | "nearby" | "relay" | "rounds">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  // peerView (web/api/fleet) is typed for the whole record; it reads `peers` alone.
  const peerList = () => s.peers.list().map((p) => peerView(s as WebServices, p));

  app.get("/", (c) =>
    c.render(
      <PeersPage
        peers={peerList()}
        nearby={nearbyCells(s)}
        mdns={s.nearby !== null}
        mdnsOff={s.nearby !== null ? null : s.cell.config.mdns ? "environment" : "config"}
        relays={s.relay?.status() ?? []}
        canCheck={s.rounds !== null}
      />,
      info(c, "Peers", "peers"),
    ),
  );

  app.post("/invite", async (c) => {
    await requireCsrf(c);
    const ttl = Number(await formField(c, "ttl")) || 86400;
    const forName = (await formField(c, "for")).slice(0, 64) || undefined;
    const inv = s.fleet.invite(ttl * 1000, { mine: (await formField(c, "kind")) === "mine" });
    return c.html(<InviteBox token={inv.token} expires={inv.expires_at} forName={forName} />);
  });

  app.post("/join", async (c) => {
    await requireCsrf(c);
    try {
      const card = await s.fleet.join(await formField(c, "token"));
      const mine = s.peers.get(card.id)?.mine === true;
      const message = mine
        ? `Joined ${card.name} (${shortId(card.id)}) as one of your cells: its files are listed here in a few seconds.`
        : `Paired with ${card.name} (${shortId(card.id)}).`;
      toast(c, message, "ok", ["peers-changed"]);
      return c.html(<JoinResult ok message={message} />);
    } catch (e) {
      log("info", "join from the dashboard failed", { why: errorMessage(e) });
      const message = humanError(e, "the cell that made this invite");
      toast(c, `Not joined: ${message}`, "error");
      return c.html(<JoinResult ok={false} message={message} />);
    }
  });

  app.get("/list", (c) => c.html(<PeerList peers={peerList()} canCheck={s.rounds !== null} />));

  // "Check now": probe every route of every peer (what a sync round does first), then the list.
  app.post("/check", async (c) => {
    await requireCsrf(c);
    let note: PeerActionNote | undefined;
    try {
      if (s.rounds) await s.rounds.probe();
    } catch (e) {
      log("warn", "peer check from the dashboard failed", { why: errorMessage(e) });
      note = { ok: false, message: "The peers could not be checked just now. Try again in a moment; the cell's log has the details." };
    }
    return c.html(<PeerList peers={peerList()} note={note} canCheck={s.rounds !== null} />);
  });

  // An action, then the list; a friendship action says whether the other cell heard of it.
  app.post("/:id/:action", async (c) => {
    await requireCsrf(c);
    const action = c.req.param("action");
    let note: PeerActionNote | undefined;
    try {
      // Its name before the action (a removed peer is gone after it).
      const param = c.req.param("id");
      const before = s.peers.list().find((p) => p.id === param || p.id.startsWith(param))?.name;
      const { id, told } = await s.fleet.act(param, action);
      const name = s.peers.get(id)?.name ?? before ?? shortId(id);
      if (told?.old_build)
        note = {
          ok: true,
          message: `${name} runs an older build without friend requests: this cell shares with it now; it must mark this cell as a friend too before it accepts your files.`,
        };
      else if (told && !told.delivered)
        note = {
          ok: false,
          message:
            `${name} could not be told yet; it is told after each sync round. ${told.error ? humanProblem(told.error, name) : ""}`.trim(),
        };
      else if (told) note = { ok: true, message: friendMessage(action, name, s.peers.get(id)?.friend ?? false) };
      const done = note?.message ?? actionMessage(action, name);
      if (done) toast(c, done, note && !note.ok ? "error" : "ok");
    } catch (e) {
      log("info", `peer action ${action} failed`, { why: errorMessage(e) });
      const peer = s.peers.get(c.req.param("id"));
      // Accepting a peer that has not asked: the fleet's refusal names `grove peers friend`; the page names its button.
      const notAsked = action === "accept" && peer && peer.friendship !== "asked" && peer.friendship !== "friends";
      note = {
        ok: false,
        message: notAsked
          ? peer.friendship === "requested"
            ? `${peer.name} has not asked to be friends: this cell asked it, and it accepts in its own Peers tab.`
            : `${peer.name} has not asked to be friends: use “Ask to be friends” to ask it.`
          : humanError(e, peer?.name ?? "the peer"),
      };
      toast(c, note.message, "error");
    }
    return c.html(<PeerList peers={peerList()} note={note} canCheck={s.rounds !== null} />);
  });

  return app;
}
