/** @module web/api/fleet — /api/invites, /api/join, /api/peers: pairing and the peer list for the CLI and dashboard. */
import { Hono } from "hono";
import { z } from "zod";
import type { Fleet } from "../../fleet/fleet.ts";
import type { PeerRow } from "../../fleet/peer-store.ts";
import type { WebEnv } from "../context.ts";
import { jsonBody } from "../json-body.ts";


/** The peer as listed by `grove peers` and GET /api/peers. */
export interface PeerView {
  id: string;
  name: string;
  friend: boolean;
  favorite: boolean;
  /** URL of the lowest-scoring reachable route, from the last probes (null: none answered yet). */
  best_route: string | null;
  latency_ms: number | null;
  mb_s: number | null;
  uptime_pct: number | null;
  routes: { url: string; kind: string; reachable: boolean; latency_ms: number | null; mb_s: number | null }[];
  last_seen: number | null;
  added_at: number;
}

export function peerView(fleet: Fleet, p: PeerRow): PeerView {
  const best = fleet.best(p.id);
  const measured = fleet.stats.speeds.routes(p.id);
  const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  return {
    id: p.id,
    name: p.name,
    friend: p.friend,
    favorite: p.favorite,
    best_route: best?.url ?? null,
    latency_ms: round(best?.latency_ms ?? null),
    mb_s: round(best?.mb_s ?? null),
    uptime_pct: round(fleet.uptimePct(p.id)),
    routes: measured.map((r) => ({ url: r.url, kind: r.kind, reachable: r.reachable, latency_ms: round(r.latency_ms), mb_s: round(r.mb_s) })),
    last_seen: p.last_seen,
    added_at: p.added_at,
  };
}

export function fleetApi(fleet: Fleet): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  app.post("/invites", async (c) => {
    const b = await jsonBody(c, z.object({ ttl_s: z.number().positive().optional() }).strict());
    return c.json(fleet.invite(b.ttl_s === undefined ? undefined : b.ttl_s * 1000), 201);
  });

  app.post("/join", async (c) => {
    const b = await jsonBody(c, z.object({ token: z.string().min(1).max(8192) }).strict());
    const card = await fleet.join(b.token);
    return c.json({ peer: peerView(fleet, fleet.peers.get(card.id)!) });
  });

  app.get("/peers", (c) => c.json(fleet.peers.list().map((p) => peerView(fleet, p))));

  app.get("/nearby", (c) => c.json({ mdns: fleet.mdns !== null, cells: fleet.nearby() }));

  /** Probe every route of every peer now (what a sync round does first); returns the list. */
  app.post("/peers/probe", async (c) => {
    const report = await fleet.probe();
    return c.json({ report, peers: fleet.peers.list().map((p) => peerView(fleet, p)) });
  });

  app.post("/peers/:id/:action", (c) => {
    const id = fleet.peerAction(c.req.param("id"), c.req.param("action"));
    const after = fleet.peers.get(id);
    return c.json(after ? peerView(fleet, after) : { id, removed: true });
  });

  return app;
}
