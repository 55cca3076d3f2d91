/**
 * @module web/peer-sync-api — /peer/sync/*: the holder's side of replication. A peer (already
 * authenticated by its request signature in web/peer-api) compares inventories, pushes and
 * fetches its own chunks (new ones within its bounty allowance, bounty/allowance), answers
 * audits, releases copies, takes DeleteRequests (into the trash) and keeps its manifest
 * backups here.
 * A peer only ever sees and touches what is kept for it (owner = the signer).
 */
import { sha256Hex } from "../core/sha256.ts";
import { Hono } from "hono";
import type { z } from "zod";
import { GroveError, badRequest, forbidden, notFound } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { CHUNK_BUFFER_SIZE, fromHex, isHex64, TAG_SIZE, type CellId, type ChunkHash } from "../core/types.ts";
import { BufferPool } from "../ingest/buffer-pool.ts";
import type { CellKeys } from "../crypto/keys.ts";
import type { PeerStore } from "../fleet/peer-store.ts";
import type { ChunkStore } from "../store/chunk-store.ts";
import type { HeldStore } from "../store/held-store.ts";
import type { BountyGate } from "../bounty/allowance.ts";
import { cardChanged, isNewerCard, verifyCard, type Card } from "../protocol/card.ts";
import { openJson, sealJson } from "../protocol/sealed-json.ts";
import { verifyDeleteRequest } from "../protocol/delete-request.ts";
import { BACKUP_FORMAT, LEGACY_BACKUP_FORMAT } from "../protocol/backup-blob.ts";
import { digestSet, inBuckets } from "../store/set-digest.ts";
import * as W from "../sync/wire.ts";
import type { WebEnv } from "./context.ts";
import { shortId } from "../core/format.ts";

export type PeerEnv = WebEnv & {
  Variables: {
    peer: CellId;
    peerBody: Uint8Array /** hex SHA-256 of peerBody (computed once, by the signature check) */;
    peerBodyHash: string;
  };
};

/** What the holder's side needs of the cell. */
export interface SyncHost {
  keys: CellKeys;
  peers: PeerStore;
  held: HeldStore;
  store: ChunkStore;
  /** The bounty allowance on new chunks (none: every chunk is taken while there is room). */
  bounty?: BountyGate;
}

/** The holder's digests of what it keeps for `owner`. */
function holderDigests(held: HeldStore, owner: CellId) {
  return {
    chunks: digestSet(held.chunksOf(owner).map((c) => c.hash)),
    backups: digestSet(held.backupsOf(owner).map((b) => b.name)),
  };
}

export function peerSyncApi(host: SyncHost): Hono<PeerEnv> {
  const app = new Hono<PeerEnv>();
  const { keys, held, store } = host;

  const x25519Of = (peer: CellId) => fromHex((JSON.parse(host.peers.get(peer)!.card) as Card).x25519);

  /** A sealed JSON request/answer route: open, validate with `schema`, run, seal the answer. */
  function sealedRoute<S extends z.ZodTypeAny>(name: string, schema: S, run: (peer: CellId, req: z.infer<S>) => unknown) {
    app.post(`/${name}`, async (c) => {
      const peer = c.var.peer;
      const parsed = schema.safeParse(await openJson(keys, c.var.peerBody, W.info(name), peer));
      if (!parsed.success) {
        const i = parsed.error.issues[0]!;
        throw badRequest(`bad ${name} request: ${i.path.join(".") || "(root)"}: ${i.message}`);
      }
      const answer = await run(peer, parsed.data);
      const sealed = await sealJson(x25519Of(peer), answer, W.replyInfo(name), keys.id);
      return c.body(sealed as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
    });
  }

  sealedRoute("inventory", W.InventoryRequest, (peer, req): W.InventoryReplyT => {
    if (req.card !== undefined) updateCard(host.peers, peer, req.card);
    const mine = holderDigests(held, peer);
    return {
      chunks: mine.chunks.root === req.chunks ? null : mine.chunks.buckets,
      backups: mine.backups.root === req.backups ? null : mine.backups.buckets,
    };
  });

  sealedRoute("list", W.ListRequest, (peer, req): W.ListReplyT => {
    const chunks = held.chunksOf(peer);
    const sizes = new Map(chunks.map((c) => [c.hash, c.size]));
    const backups = held.backupsOf(peer);
    const kinds = new Map(backups.map((b) => [b.name, b.kind]));
    return {
      chunks: inBuckets(
        chunks.map((c) => c.hash),
        req.chunks,
      ).map((h) => [h, sizes.get(h)!]),
      backups: inBuckets(
        backups.map((b) => b.name),
        req.backups,
      ).map((name) => ({ name, kind: kinds.get(name)! })),
    };
  });

  sealedRoute("audit", W.AuditRequest, async (peer, req): Promise<W.AuditReplyT> => {
    const proofs: W.AuditReplyT["proofs"] = [];
    // Each challenged chunk is read into one reused buffer: a new one per chunk was 4 MiB (8 with
    // a copy) of garbage each, and a round's audit of a peer that keeps large chunks raised its
    // peak RSS by tens of MiB before the collector ran.
    const buf = auditBuffers.take();
    try {
      for (const { hash, nonce } of req.challenges) {
        const h = hash as ChunkHash;
        if (!held.has(peer, h)) {
          proofs.push({ hash, proof: null, reason: "not held" });
          continue;
        }
        const bytes = await store.readInto(h, buf).catch(() => null);
        if (!bytes || sha256Hex(bytes) !== hash) {
          // Our copy is gone or damaged: say so, and stop claiming it (the owner places it again).
          log("warn", "audit: a chunk kept for a peer is missing or damaged; dropped", { chunk: hash.slice(0, 12), owner: shortId(peer) });
          held.dropCorrupt(h);
          proofs.push({ hash, proof: null, reason: bytes ? "damaged" : "missing" });
          continue;
        }
        proofs.push({ hash, proof: W.auditProof(nonce, bytes) });
      }
    } finally {
      auditBuffers.give(buf);
    }
    return { proofs };
  });

  sealedRoute("release", W.ReleaseRequest, (peer, req) => ({ released: held.release(peer, req.chunks as ChunkHash[]) }));

  // The owner's signed DeleteRequest: its records of those chunks go to the trash (collected
  // after trash_retention_s by trash/collector). Forged or not the sender's own: 4xx, no change.
  sealedRoute("delete", W.DeleteBody, (peer, req): W.DeleteReplyT => {
    const dr = verifyDeleteRequest(req.request);
    if (dr.owner !== peer) throw forbidden("delete request: its owner is not the cell sending it (a cell may only delete its own chunks)");
    const r = held.trash(peer, dr.chunks as ChunkHash[]);
    log("info", "delete request: chunks kept for a peer moved to the trash", {
      owner: shortId(peer),
      trashed: r.trashed,
      not_held: r.not_held,
    });
    return r;
  });

  // A chunk pushed by its owner: the bytes must hash to the name.
  app.put("/chunks/:hash", async (c) => {
    const hash = c.req.param("hash");
    if (!isHex64(hash)) throw badRequest("a chunk name is 64 lowercase hex characters");
    const body = c.var.peerBody;
    if (body.byteLength < TAG_SIZE) throw badRequest(`a sealed chunk has at least ${TAG_SIZE} bytes`);
    if (c.var.peerBodyHash !== hash) throw badRequest("chunk bytes do not match its name (truncated or altered)");
    // A new chunk must fit the owner's bounty allowance (402 otherwise: it places it elsewhere).
    const done = held.has(c.var.peer, hash as ChunkHash) ? null : (host.bounty?.admit(c.var.peer, body.byteLength) ?? null);
    try {
      const stored = await held.putChunk(c.var.peer, hash as ChunkHash, body);
      return c.json({ stored });
    } finally {
      done?.();
    }
  });

  // Many small chunks in one request (protocol 1.1, docs/protocol.md): each checked against its
  // name, admitted one by one (room, the bounty allowance), fsynced together, recorded in one
  // transaction; the answer says what became of each. A build without it answers 404: the owner
  // then sends them one by one.
  // GROVE_PEER_NO_BATCH=1 serves as a build before batches did (404): how tests run mixed versions.
  if (process.env.GROVE_PEER_NO_BATCH !== "1")
    app.post("/chunks", async (c) => {
      const chunks = W.decodeChunkBatch(c.var.peerBody, sha256Hex, TAG_SIZE);
      const admitted: (() => void)[] = [];
      const admit = host.bounty?.admitter(c.var.peer);
      try {
        const results = await held.putChunks(
          c.var.peer,
          chunks.map((ch) => ({ hash: ch.hash as ChunkHash, sealed: ch.bytes })),
          (bytes) => {
            if (!admit) return true;
            try {
              admitted.push(admit(bytes));
              return true;
            } catch (e) {
              if (e instanceof GroveError && e.status === 402) return false;
              throw e;
            }
          },
        );
        return c.json({ results });
      } finally {
        for (const done of admitted) done();
      }
    });

  // The owner fetching its own chunk back (a recovered or damaged cell).
  app.get("/chunks/:hash", async (c) => {
    const hash = c.req.param("hash") as ChunkHash;
    if (!isHex64(hash)) throw badRequest("a chunk name is 64 lowercase hex characters");
    if (!held.has(c.var.peer, hash)) throw notFound("this cell keeps no such chunk for you");
    const bytes = await readChunk(store, hash);
    if (!bytes || sha256Hex(bytes) !== hash) {
      held.dropCorrupt(hash);
      throw notFound("this cell's copy of the chunk is missing or damaged");
    }
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
  });

  // Many backups in one request: stored all or none, in one transaction. An index in format 2
  // (protocol/backup-blob) says its owner has moved on from format 1: that owner's format-1
  // blobs go in the same transaction (its restore refuses them anyway; kept, they would take
  // room and keep our inventories from ever agreeing).
  app.post("/backups", (c) => {
    const frames = W.decodeBackupBatch(c.var.peerBody);
    const upgraded = frames.some((f) => f.kind === "index" && f.blob[0] === BACKUP_FORMAT);
    held.putBackups(c.var.peer, frames, upgraded ? { dropFormat: LEGACY_BACKUP_FORMAT } : {});
    return c.json({ stored: frames.length });
  });

  // "index" = the owner's current index; else a manifest backup by name.
  app.get("/backup/:name", (c) => {
    const name = c.req.param("name");
    if (name !== "index" && !isHex64(name)) throw badRequest("ask for 'index' or a 64-hex backup name");
    const b = held.getBackup(c.var.peer, name);
    if (!b) throw notFound("this cell keeps no such backup for you");
    return c.body(b.blob as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
  });

  return app;
}

/** The peer's card as it sends it along: kept when valid, its own, newer and different. */
function updateCard(peers: PeerStore, peer: CellId, raw: unknown): void {
  let next: Card;
  try {
    next = verifyCard(raw, { expectId: peer });
  } catch (e) {
    throw new GroveError(`card: ${(e as Error).message}`, 400, "bad_card");
  }
  const row = peers.get(peer)!;
  const current = JSON.parse(row.card) as Card;
  if (isNewerCard(current, next) && cardChanged(current, next)) {
    peers.upsert(peer, next.name, JSON.stringify(next));
    log("info", "peer card updated (sent along with its sync)", { peer: shortId(peer) });
  }
}

/** The buffers audits read challenged chunks into (one per audit answered at once). */
const auditBuffers = new BufferPool(CHUNK_BUFFER_SIZE, 2);

async function readChunk(store: ChunkStore, hash: ChunkHash): Promise<Uint8Array | null> {
  try {
    return await store.read(hash);
  } catch {
    return null;
  }
}
