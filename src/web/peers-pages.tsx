/** @jsxImportSource hono/jsx */
/**
 * @module web/peers-pages — the Peers tab (mounted at /peers by web/dashboard, behind its login):
 * GET /peers (the peers, cells nearby, relays), POST /peers/invite (a new invite token), POST
 * /peers/join (pair with a token; tells the list to reload), GET /peers/list (the list alone) and
 * POST /peers/:id/:action (friend requests and their answers, favorite, remove: fleet/fleet's `act`). Posts carry the
 * session's CSRF token and answer htmx fragments.
 */
import { Hono } from "hono";
import { errorMessage } from "../core/errors.ts";
import { PeersPage, PeerList, InviteBox, JoinResult, type PeerActionNote } from "../../views/peers.tsx";
import { nearbyCells, peerView } from "./api/fleet.ts";
import type { WebServices } from "./services.ts";
import type { WebEnv } from "./context.ts";
import { formField, info, requireCsrf } from "./page-helpers.tsx";
import { shortId } from "../core/format.ts";

function friendMessage(action: string, name: string, friends: boolean): string {
  if (action === "unfriend") return `${name} is no longer a friend (or the request is withdrawn or declined).`;
  return friends
    ? `You and ${name} are friends: you can share files with each other.`
    : `${name} was asked to be friends; it shows in its Peers tab until it accepts.`;
}

export function peersPages(s: Pick<WebServices, "peers" | "fleet" | "nearby" | "relay">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  // peerView (web/api/fleet) is typed for the whole record; it reads `peers` alone.
  const peerList = () => s.peers.list().map((p) => peerView(s as WebServices, p));

  app.get("/", (c) =>
    c.render(
      <PeersPage peers={peerList()} nearby={nearbyCells(s)} mdns={s.nearby !== null} relays={s.relay?.status() ?? []} />,
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
      c.header("HX-Trigger", "peers-changed");
      const mine = s.peers.get(card.id)?.mine === true;
      return c.html(
        <JoinResult
          ok
          message={
            mine
              ? `Joined ${card.name} (${shortId(card.id)}) as one of your cells: its files are listed here in a few seconds.`
              : `Paired with ${card.name} (${shortId(card.id)}).`
          }
        />,
      );
    } catch (e) {
      return c.html(<JoinResult ok={false} message={errorMessage(e)} />);
    }
  });

  app.get("/list", (c) => c.html(<PeerList peers={peerList()} />));

  // An action, then the list; a friendship action says whether the other cell heard of it.
  app.post("/:id/:action", async (c) => {
    await requireCsrf(c);
    const action = c.req.param("action");
    let note: PeerActionNote | undefined;
    try {
      const { id, told } = await s.fleet.act(c.req.param("id"), action);
      const name = s.peers.get(id)?.name ?? shortId(id);
      if (told?.old_build)
        note = {
          ok: true,
          message: `${name} runs an older build without friend requests: this cell shares with it now; it must mark this cell as a friend too before it accepts your files.`,
        };
      else if (told && !told.delivered)
        note = { ok: false, message: `${name} could not be told yet (it is told after each sync round): ${told.error ?? "no answer"}.` };
      else if (told) note = { ok: true, message: friendMessage(action, name, s.peers.get(id)?.friend ?? false) };
    } catch (e) {
      note = { ok: false, message: errorMessage(e) };
    }
    return c.html(<PeerList peers={peerList()} note={note} />);
  });

  return app;
}
