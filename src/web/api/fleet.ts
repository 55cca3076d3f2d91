/** @module web/api/fleet — /api/invites, /api/join, /api/peers: pairing and the peer list for the CLI and dashboard. */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { badRequest } from "../../core/errors.ts";
import type { Fleet } from "../../fleet/fleet.ts";
import type { PeerRow } from "../../fleet/peer-store.ts";
import type { Card } from "../../protocol/card.ts";
import type { WebEnv } from "../context.ts";

async function jsonBody<T>(c: Context<WebEnv>, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown = {};
  const text = await c.req.text();
  if (text.trim()) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw badRequest("body must be JSON");
    }
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw badRequest(`bad request body: ${r.error.issues[0]!.path.join(".") || "(root)"}: ${r.error.issues[0]!.message}`);
  return r.data;
}

/** The peer as listed by `grove peers` and GET /api/peers. */
export interface PeerView {
  id: string;
  name: string;
  friend: boolean;
  favorite: boolean;
  best_route: string | null;
  routes: string[];
  last_seen: number | null;
  added_at: number;
}

export function peerView(p: PeerRow): PeerView {
  const card = JSON.parse(p.card) as Card;
  return { id: p.id, name: p.name, friend: p.friend, favorite: p.favorite, best_route: null, routes: card.addresses, last_seen: p.last_seen, added_at: p.added_at };
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
    return c.json({ peer: peerView(fleet.peers.get(card.id)!) });
  });

  app.get("/peers", (c) => c.json(fleet.peers.list().map(peerView)));

  app.post("/peers/:id/:action", (c) => {
    const id = fleet.peerAction(c.req.param("id"), c.req.param("action"));
    const after = fleet.peers.get(id);
    return c.json(after ? peerView(after) : { id, removed: true });
  });

  return app;
}
