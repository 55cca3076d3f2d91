/**
 * @module web/api/fleet — /api/invites, /api/join (a token, or the words of one of my cells), /api/peers: pairing, the peer list, and the
 * user's actions on a peer (friend requests, accept, unfriend, favorite, remove) for the CLI and
 * dashboard.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { WebServices } from "../services.ts";
import type { PeerRow } from "../../fleet/peer-store.ts";
import type { NearbyCell } from "../../net/mdns.ts";
import { GroveError } from "../../core/errors.ts";
import type { WebEnv } from "../context.ts";
import { jsonBody } from "../json-body.ts";
import type { PeerActionResult, PeerView } from "../../api/types.ts";

/** Cells seen on the local network by mDNS, marked when already paired. */
export function nearbyCells(s: Pick<WebServices, "nearby" | "peers">): (NearbyCell & { paired: boolean })[] {
  return (s.nearby?.nearby() ?? []).map((n) => ({ ...n, paired: s.peers.get(n.id) !== null }));
}

export function peerView(s: WebServices, p: PeerRow): PeerView {
  const best = s.peers.best(p.id);
  const measured = s.peers.measured(p.id);
  const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  return {
    id: p.id,
    name: p.name,
    friend: p.friend,
    friendship: p.friendship,
    friendship_at: p.friendship_at,
    friendship_notice: p.friend_notice,
    favorite: p.favorite,
    mine: p.mine,
    best_route: best?.url ?? null,
    latency_ms: round(best?.latency_ms ?? null),
    mb_s: round(best?.mb_s ?? null),
    uptime_pct: round(s.peers.uptimePct(p.id)),
    routes: measured.map((r) => ({
      url: r.url,
      kind: r.kind,
      reachable: r.reachable,
      latency_ms: round(r.latency_ms),
      mb_s: round(r.mb_s),
    })),
    last_seen: p.last_seen,
    added_at: p.added_at,
  };
}

export function fleetApi(s: WebServices): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  app.post("/invites", async (c) => {
    const b = await jsonBody(c, z.object({ ttl_s: z.number().positive().optional(), mine: z.boolean().optional() }).strict());
    return c.json(s.fleet.invite(b.ttl_s === undefined ? undefined : b.ttl_s * 1000, { mine: b.mine === true }), 201);
  });

  app.post("/join", async (c) => {
    // An invite token, or (a new device of mine, none of my cells at hand) the words of one of my cells and the address of one.
    const b = await jsonBody(
      c,
      z.union([
        z.object({ token: z.string().min(1).max(8192) }).strict(),
        z.object({ words: z.string().min(1).max(4096), address: z.string().min(1).max(2048) }).strict(),
      ]),
    );
    const card = "token" in b ? await s.fleet.join(b.token) : await s.fleet.joinWithWords(b.address, b.words);
    return c.json({ peer: peerView(s, s.peers.get(card.id)!) });
  });

  app.get("/peers", (c) => c.json(s.peers.list().map((p) => peerView(s, p))));

  // Why discovery is off, when it is: config.json says so, or the cell was started with GROVE_MDNS=0.
  app.get("/nearby", (c) =>
    c.json({
      mdns: s.nearby !== null,
      mdns_off: s.nearby !== null ? null : s.cell.config.mdns ? "environment" : "config",
      cells: nearbyCells(s),
    }),
  );

  /** Probe every route of every peer now (what a sync round does first); returns the list. */
  app.post("/peers/probe", async (c) => {
    if (!s.rounds) throw new GroveError("probe rounds are not running in this cell", 503, "unavailable");
    const report = await s.rounds.probe();
    return c.json({ report, peers: s.peers.list().map((p) => peerView(s, p)) });
  });

  // A friendship action waits for the other cell to hear of it (or not: `told` says why).
  app.post("/peers/:id/:action", async (c) => {
    const { id, told } = await s.fleet.act(c.req.param("id"), c.req.param("action"));
    const after = s.peers.get(id);
    const result: PeerActionResult = after ? { ...peerView(s, after), told } : { id, removed: true };
    return c.json(result);
  });

  return app;
}
