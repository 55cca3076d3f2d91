/**
 * @module web/peer-share-api — /peer/share/*: receiving grants (only from friends), revocations,
 * and serving a shared file's chunks to its recipient, from the sharer or from any cell that
 * keeps the sharer's chunks, only under a valid fetch pass naming the asking cell.
 */
import { sha256Hex } from "../core/sha256.ts";
import { Hono } from "hono";
import { z } from "zod";
import { badRequest, forbidden, notFound } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { CellId, ChunkHash } from "../core/types.ts";
import type { WebServices } from "./services.ts";
import { chunksDigest, grantId, isExpired, openFileKey, verifyGrant, verifyPass, verifyRevocation } from "../protocol/grant.ts";
import { openJson } from "../protocol/sealed-json.ts";
import { SHARE_INFO } from "../protocol/labels.ts";
import { canonicalJson } from "../core/canonical-json.ts";
import { ManifestSchema, type Manifest } from "../store/manifest.ts";
import type { PeerEnv } from "./peer-sync-api.ts";
import { shortId } from "../core/format.ts";

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const ChunkRequest = z.object({ pass: z.unknown(), chunks: z.array(hex64).min(1).max(16_000), hash: hex64 });
const Delivery = z.object({ grant: z.unknown(), pass: z.unknown(), manifest: z.unknown() });

function parse<S extends z.ZodTypeAny>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw badRequest(`bad ${what}: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return r.data;
}

function json(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw badRequest("body must be JSON");
  }
}

export function peerShareApi(s: WebServices): Hono<PeerEnv> {
  const app = new Hono<PeerEnv>();
  const { keys } = s.cell;
  const grants = s.sharing.store;

  // A grant for us, sealed, with its fetch pass and the sharer's manifest. Accepted only from a
  // friend, only when every part checks out; nothing is stored otherwise.
  app.post("/grant", async (c) => {
    const from = c.var.peer;
    const peer = s.peers.get(from)!;
    if (!peer.friend) {
      const state =
        peer.friendship === "asked"
          ? " (it asked to be friends; not accepted yet)"
          : peer.friendship === "requested"
            ? " (this cell asked it to be friends; it has not accepted)"
            : "";
      throw forbidden(`cell ${shortId(from)} is not a friend of this cell${state}: grants are accepted from friends only`);
    }
    const d = parse(Delivery, await openJson(keys, c.var.peerBody, SHARE_INFO, from), "grant delivery");
    const grant = verifyGrant(d.grant);
    if (grant.creator !== from) throw badRequest("grant: made by another cell than the one sending it");
    if (grant.recipient !== keys.id) throw badRequest("grant: made for another cell");
    if (isExpired(grant)) throw badRequest("grant: already expired");
    const m = ManifestSchema.safeParse(d.manifest);
    if (!m.success) throw badRequest("grant: the manifest sent with it is malformed");
    const manifest = m.data as Manifest;
    if (sha256Hex(canonicalJson(manifest)) !== grant.manifest_hash) {
      throw badRequest("grant: names an unknown manifest (the manifest sent does not hash to manifest_hash)");
    }
    if (manifest.owner !== from || manifest.total_size !== grant.total_size)
      throw badRequest("grant: the manifest does not match it (owner or size)");
    await openFileKey(keys, grant); // a tampered or misdirected key is refused here
    const pass = verifyPass(d.pass);
    const id = grantId(grant);
    if (pass.grant_id !== id || pass.owner !== from || pass.recipient !== keys.id || pass.expires_at !== grant.expires_at)
      throw badRequest("fetch pass: does not belong to this grant");
    if (pass.chunks_digest !== chunksDigest([...manifest.chunks].sort((a, b) => a.index - b.index).map((x) => x.hash)))
      throw badRequest("fetch pass: does not cover the manifest's chunks");
    const fresh = grants.addIn(grant, pass, id, manifest);
    if (fresh) log("info", "received a shared file", { from: shortId(from), grant: id.slice(0, 12), size: grant.total_size });
    return c.json({ accepted: true, id });
  });

  // A revocation signed by the grant's owner (sent by the owner, or passed on).
  app.post("/revoke", (c) => {
    const r = verifyRevocation(json(c.var.peerBody));
    if (r.owner !== c.var.peer && !s.peers.get(r.owner)) throw forbidden("revocation from a cell this cell does not know");
    if (grants.addRevocation(r)) log("info", "grant revoked by its owner", { grant: r.grant_id.slice(0, 12), owner: shortId(r.owner) });
    return c.json({ ok: true });
  });

  // One chunk of a shared file, for the cell the pass names.
  app.post("/chunk", async (c) => {
    const req = parse(ChunkRequest, json(c.var.peerBody), "chunk request");
    const pass = verifyPass(req.pass);
    if (pass.recipient !== c.var.peer) throw forbidden("this fetch pass names another cell");
    if (isExpired(pass)) throw forbidden("this grant has expired");
    if (grants.isRevoked(pass.grant_id)) throw forbidden("this grant was revoked by its owner");
    if (chunksDigest(req.chunks) !== pass.chunks_digest) throw forbidden("the chunk list does not match the fetch pass");
    if (!req.chunks.includes(req.hash)) throw forbidden("this chunk is not part of the shared file");
    const hash = req.hash as ChunkHash;
    let servable: boolean;
    if (pass.owner === keys.id) {
      const own = grants.get(pass.grant_id);
      servable = own !== null && own.direction === "out" && own.revoked_at === null && s.cell.store.has(hash);
    } else {
      if (!s.peers.get(pass.owner)) throw forbidden("the owner named in this pass is not known here");
      servable = s.cell.held.has(pass.owner as CellId, hash);
    }
    if (!servable) throw notFound("this cell has no copy of that chunk");
    const bytes = await s.cell.store.read(hash).catch(() => null);
    if (!bytes) throw notFound("this cell's copy of that chunk is missing");
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
  });

  return app;
}
