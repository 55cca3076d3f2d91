/**
 * @module web/peer-tree-api — /peer/tree/*: what my other cells ask of this one (mine/my-tree).
 * Only a cell of mine (paired with `grove invite --mine`) is answered; any other peer gets a 403
 * and learns nothing of the tree.
 *
 *   POST /peer/tree/pull   {vector}  → {events, manifests, more}: the events it lacks, one page
 *   POST /peer/tree/poke   {events?, manifests?, more?} | {keys: true} → 202: new events pushed
 *                                    (kept at once); this cell pulls from the caller when they leave
 *                                    a gap, when none came, or (keys) to take its new key ring
 *   POST /peer/tree/chunk  {hash}    → the sealed chunk, from this cell's store (own or kept)
 *   POST /peer/tree/chunks {hashes}  → the chunks of those held here, as chunk-batch frames (1.2)
 *   POST /peer/tree/keys   {}        → the file keys (crypto/key-ring), sealed to the caller
 */
import { Hono } from "hono";
import { z } from "zod";
import { badRequest, forbidden, notFound } from "../core/errors.ts";
import type { ChunkHash } from "../core/types.ts";
import { shortId } from "../core/format.ts";
import { log } from "../core/log.ts";
import { PullRequestSchema, type MyTree } from "../mine/my-tree.ts";
import type { WebServices } from "./services.ts";
import type { PeerEnv } from "./peer-sync-api.ts";
import { ChunkBatchRequest } from "../mine/chunk-batch.ts";
import { CHUNK_FRAME_HEAD, MAX_CHUNK_BATCH_BODY, encodeChunkBatch } from "../protocol/chunk-frames.ts";

const ChunkRequest = z.object({ hash: z.string().regex(/^[0-9a-f]{64}$/) });

function body<S extends z.ZodTypeAny>(schema: S, raw: Uint8Array): z.infer<S> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(raw));
  } catch {
    throw badRequest("body must be JSON");
  }
  const r = schema.safeParse(v);
  if (!r.success) throw badRequest(`bad tree request: ${r.error.issues[0]!.path.join(".") || "(root)"}: ${r.error.issues[0]!.message}`);
  return r.data;
}

export function peerTreeApi(s: Pick<WebServices, "cell" | "peers">, tree: MyTree): Hono<PeerEnv> {
  const app = new Hono<PeerEnv>();

  app.use("*", async (c, next) => {
    if (!s.peers.get(c.var.peer)?.mine) {
      log("warn", "tree request from a cell that is not one of mine refused", { peer: shortId(c.var.peer), path: c.req.path });
      throw forbidden("this cell shares its tree only with its owner's other cells (paired with `grove invite --mine`)");
    }
    await next();
  });

  app.post("/pull", (c) => c.json(tree.answerPull(body(PullRequestSchema, c.var.peerBody).vector)));

  app.post("/poke", (c) => {
    tree.poked(c.var.peer, body(z.unknown(), c.var.peerBody));
    return c.json({ ok: true }, 202);
  });

  app.post("/keys", async (c) => {
    const sealed = await tree.sealedKeys(c.var.peer);
    return c.body(sealed as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
  });

  app.post("/chunk", async (c) => {
    const hash = body(ChunkRequest, c.var.peerBody).hash as ChunkHash;
    // Not held here is an answer, not a fault (an on-demand cell holds little): no warning logged.
    if (!s.cell.store.has(hash)) return c.json({ error: "this cell has no copy of that chunk", reason: "not_held" }, 404);
    const bytes = await s.cell.store.read(hash).catch(() => null);
    if (!bytes) throw notFound("this cell's copy of that chunk is missing");
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
  });

  app.post("/chunks", async (c) => {
    const { hashes } = body(ChunkBatchRequest, c.var.peerBody);
    // The chunks held here, in the order asked, while they fit one batch body; the rest is left
    // out (the asker asks again for what it still lacks, one by one).
    const found: { hash: string; bytes: Uint8Array }[] = [];
    let size = 0;
    for (const h of new Set(hashes)) {
      const hash = h as ChunkHash;
      if (!s.cell.store.has(hash)) continue;
      const bytes = await s.cell.store.read(hash).catch(() => null);
      if (!bytes) continue;
      if (size + CHUNK_FRAME_HEAD + bytes.byteLength > MAX_CHUNK_BATCH_BODY) break;
      found.push({ hash, bytes });
      size += CHUNK_FRAME_HEAD + bytes.byteLength;
    }
    return c.body(encodeChunkBatch(found) as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
  });

  return app;
}
