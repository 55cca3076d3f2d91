/**
 * @module web/peer-api — /peer/*: the API other cells call. Every request must be signed by a
 * known peer (method, path, time, nonce, body hash, bound to this cell; ±5 min; no replays);
 * `/peer/join` is signed by the joining cell's own key and carries a one-time invite secret;
 * `/peer/join/words` carries the vouch of the words of one of my cells instead (fleet/words-join),
 * and `/peer/hello` says who this cell is (its id and X25519 key) to a cell about to send it one.
 * Every answer, refusals included, is signed by this cell for the request's nonce.
 */
import { MAX_PEER_BODY } from "../protocol/limits.ts";
import { Hono, type Context } from "hono";
import { GroveError, errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { fromHex, toHex, type CellId } from "../core/types.ts";
import { HEADER, RequestVerifier, requestTarget, signResponse, type VerifyResult } from "../protocol/request-auth.ts";
import type { WebServices } from "./services.ts";
import { CARD_INFO, JOIN_INFO, JOIN_REPLY_INFO } from "../protocol/labels.ts";
import { openSealed, sealTo } from "../protocol/seal.ts";
import { CHUNK_BUFFER_SIZE, CHUNK_SIZE, TAG_SIZE } from "../core/types.ts";
import { BufferPool } from "../ingest/buffer-pool.ts";
import { MAX_BACKUP_BYTES, MAX_CHUNK_BATCH_BODY } from "../sync/wire.ts";
import { peerSyncApi, type PeerEnv } from "./peer-sync-api.ts";
import { peerShareApi } from "./peer-share-api.ts";
import { peerMessageApi } from "./peer-message-api.ts";
import { peerFriendApi } from "./peer-friend-api.ts";
import { peerBountyApi } from "./peer-bounty-api.ts";
import { peerAiApi } from "./peer-ai-api.ts";
import { peerUpdateApi } from "./peer-update-api.ts";
import { peerTreeApi } from "./peer-tree-api.ts";
import { BountyGate } from "../bounty/allowance.ts";
import { readAtMost } from "../core/bounded-read.ts";
import { PEER_RATE_PER_S, PeerRate } from "./peer-rate.ts";

export interface PeerApiOptions {
  /** Hears every request a known peer signed, with the listener it came through (see web/listeners). */
  onPeer?: (peer: CellId, listener: string | undefined) => void;
}

/** The peer listener's outer bound on any request body (Bun refuses more): the largest route limit, with room. */
export const MAX_PEER_REQUEST = MAX_BACKUP_BYTES + 64 * 1024;

/** Largest body for a request path: a sealed chunk, a batch of chunks, a manifest backup, or MAX_PEER_BODY. */
export function bodyLimit(path: string): number {
  if (path.startsWith("/peer/sync/chunks/")) return CHUNK_SIZE + TAG_SIZE;
  if (path === "/peer/sync/backups") return MAX_BACKUP_BYTES;
  if (path === "/peer/sync/chunks") return MAX_CHUNK_BATCH_BODY;
  return MAX_PEER_BODY;
}

function refuse(c: Context<PeerEnv>, status: number, message: string, reason: string): Response {
  log("warn", `peer request refused: ${message}`, { path: c.req.path, reason, from: c.req.header(HEADER.cell)?.slice(0, 8) ?? "?" });
  return c.json({ error: message, reason }, status as 401);
}

/**
 * Buffers the large bodies (chunks, batches of them) are read into, reused: the pages of a new
 * 4 MiB buffer per request cost a fault each (about a tenth of a receiving cell's CPU) and stay
 * in memory until the collector frees them, late. At most 6 kept; more at once are allocated.
 */
const bodyBuffers = new BufferPool(CHUNK_BUFFER_SIZE, 6);
/** Bodies announced larger than this are read into a pooled buffer. */
const POOLED_FROM = 1024 * 1024;

/**
 * The request body, read while it streams in and never past the route's limit (413 at the first
 * byte over). A large one is read into a pooled buffer: `release` gives it back, once nothing
 * uses the body any more (after the handler).
 */
async function readBody(c: Context<PeerEnv>): Promise<Uint8Array | Response> {
  const max = bodyLimit(c.req.path);
  const len = Number(c.req.header("content-length") ?? 0);
  if (len > max) return refuse(c, 413, `body over ${max} bytes`, "too_large");
  // A pooled buffer for a large body only: a small one (a manifest backup, a batch of a few small
  // chunks) would take a 4 MiB buffer for a few KiB. It is read as it comes, growing with the bytes
  // that arrive: nothing is allocated for a length only announced (a stranger's join included).
  const pooled = max > MAX_PEER_BODY && len > POOLED_FROM && len <= CHUNK_BUFFER_SIZE ? bodyBuffers.take() : undefined;
  // Straight from the listener (not the relay's or an in-process caller's body): its pieces are freed as copied.
  const body = await readAtMost(c.req.raw.body, max, pooled, c.env?.server !== undefined);
  if (!body) {
    if (pooled) bodyBuffers.give(pooled);
    return refuse(c, 413, `body over ${max} bytes`, "too_large");
  }
  if (pooled && body.buffer === pooled.buffer) pooledBodies.set(c, pooled);
  else if (pooled) bodyBuffers.give(pooled);
  return body;
}

/** Requests whose body sits in a pooled buffer, until `releaseBody`. */
const pooledBodies = new WeakMap<Context<PeerEnv>, Uint8Array>();

/** The request is answered: its pooled body buffer (if any) goes back for the next one. */
function releaseBody(c: Context<PeerEnv>): void {
  const b = pooledBodies.get(c);
  if (b) pooledBodies.delete(c), bodyBuffers.give(b);
}

function parseJson<T>(body: Uint8Array): T {
  try {
    return JSON.parse(new TextDecoder().decode(body)) as T;
  } catch {
    throw new GroveError("body must be JSON", 400, "bad_request");
  }
}

export function peerApi(s: WebServices, opts: PeerApiOptions = {}): Hono<PeerEnv> {
  const app = new Hono<PeerEnv>();
  const keys = s.cell.keys;
  const rate = new PeerRate();

  // Sign every answer (and turn errors into signed JSON answers).
  app.use("*", async (c, next) => {
    try {
      await next();
    } catch (e) {
      const status = e instanceof GroveError ? e.status : 500;
      // A peer gets the message of a refusal it can act on, never a server path or a stack.
      if (status >= 500)
        log("error", `peer API: ${errorMessage(e)}`, {
          path: c.req.path,
          stack: e instanceof GroveError ? undefined : (e as Error).stack?.split("\n")[1]?.trim(),
        });
      else log("warn", `peer request refused: ${errorMessage(e)}`, { path: c.req.path, status, from: c.var.peer?.slice(0, 8) ?? "?" });
      const message = e instanceof GroveError ? e.message : "internal error (logged by the cell)";
      c.res = c.json({ error: message }, status as 400);
    }
    const nonce = c.req.header(HEADER.nonce);
    if (!nonce || !/^[0-9a-f]{32}$/.test(nonce)) return;
    const body = new Uint8Array(await c.res.arrayBuffer());
    const headers = new Headers(c.res.headers);
    headers.set(HEADER.response, signResponse(keys.ed25519Secret, nonce, c.res.status, body));
    c.res = new Response(body, { status: c.res.status, headers });
  });

  /**
   * A join's body: sealed to this cell (HPKE), a JSON object whose `card` is of the cell that
   * signed the request (its own key, the one in that card). A Response when it is not.
   */
  async function openJoin(c: Context<PeerEnv>): Promise<{ signer: CellId; req: Record<string, unknown> } | Response> {
    const body = await readBody(c);
    if (body instanceof Response) return body;
    const signer = c.req.header(HEADER.cell) ?? "";
    if (!/^[0-9a-f]{64}$/.test(signer)) return refuse(c, 401, "join must be signed by the joining cell", "malformed");
    let req: unknown;
    try {
      req = JSON.parse(new TextDecoder().decode(await openSealed(keys.x25519Secret, keys.x25519Public, body, JOIN_INFO, signer)));
    } catch {
      return refuse(c, 400, "join body is not a message sealed to this cell", "bad_seal");
    }
    // JSON.parse may give null, a number or an array: only an object is a join request.
    if (req === null || typeof req !== "object" || Array.isArray(req))
      return refuse(c, 400, "join body must be a JSON object {secret, card}", "bad_request");
    const r = req as Record<string, unknown>;
    if ((r.card as { id?: unknown } | null)?.id !== signer)
      return refuse(c, 401, "join must be signed by the cell its card describes", "bad_signature");
    const once = new RequestVerifier(new Map([[signer, fromHex(signer)]]), Date.now, { self: keys.id });
    const v = once.verify({ method: c.req.method, path: requestTarget(c.req.url), headers: c.req.raw.headers, body });
    if (!v.ok) return refuse(c, 401, v.message, v.reason);
    return { signer: signer as CellId, req: r };
  }

  /** Answer a join: `accept` gives our answer (sealed to the joiner's key) or a refusal the joiner can act on. */
  async function answerJoin(c: Context<PeerEnv>, req: Record<string, unknown>, accept: () => unknown): Promise<Response> {
    let answer;
    try {
      answer = accept();
    } catch (e) {
      if (e instanceof GroveError && e.status < 500)
        return refuse(c, e.status === 400 ? 400 : e.status === 403 ? 403 : 401, e.message, e.code);
      throw e;
    }
    const x25519 = String((req.card as { x25519?: unknown }).x25519);
    const sealed = await sealTo(fromHex(x25519), new TextEncoder().encode(JSON.stringify(answer)), JOIN_REPLY_INFO, keys.id);
    return c.body(sealed as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
  }

  // Join: the invite secret authorises it. The answer (our card) is sealed to the joiner.
  app.post("/join", async (c) => {
    // Without a live invite there is nothing to redeem: not a byte of the body is read.
    if (s.fleet.invites.live() === 0) return refuse(c, 404, "this cell has no open invite: ask its owner for a new one", "no_invite");
    const opened = await openJoin(c);
    if (opened instanceof Response) return opened;
    const { signer, req } = opened;
    return answerJoin(c, req, () =>
      s.fleet.acceptJoin(signer, { secret: typeof req.secret === "string" ? req.secret : "", card: req.card, keys: req.keys }),
    );
  });

  // Who this cell is, for a new cell of mine that has only its address and the words (fleet/words-join).
  app.get("/hello", (c) => c.json({ id: keys.id, x25519: toHex(keys.x25519Public) }));

  // Join with the words: the vouch of one of my cells authorises it (fleet/words-join).
  app.post("/join/words", async (c) => {
    const opened = await openJoin(c);
    if (opened instanceof Response) return opened;
    const { signer, req } = opened;
    return answerJoin(c, req, () => s.fleet.acceptWordsJoin(signer, { card: req.card, keys: req.keys, vouch: req.vouch }));
  });

  // Everything else: a known peer's signature.
  app.use("*", async (c, next) => {
    const base = { method: c.req.method, path: requestTarget(c.req.url), headers: c.req.raw.headers };
    const pre = s.verifier.precheck(base);
    if (!pre.ok) return refuse(c, 401, pre.message, pre.reason);
    const body = await readBody(c);
    if (body instanceof Response) return body;
    try {
      const v: VerifyResult = s.verifier.verify({ ...base, body });
      if (!v.ok) return refuse(c, 401, v.message, v.reason);
      const waitS = rate.take(v.peer);
      if (waitS > 0) {
        c.header("Retry-After", String(waitS));
        return refuse(c, 429, `too many requests from this cell: at most ${PEER_RATE_PER_S} a second`, "rate_limited");
      }
      opts.onPeer?.(v.peer, c.env?.listener);
      s.peerStore.touch(v.peer);
      c.set("peer", v.peer);
      c.set("peerBody", body);
      c.set("peerBodyHash", v.bodyHash);
      await next();
    } finally {
      releaseBody(c); // refused, or the handler is done with the body (a chunk is durable before its answer)
    }
  });

  // Our card, sealed to the asking peer (names and addresses are not for the network to read).
  app.get("/card", async (c) => {
    const peerCard = JSON.parse(s.peers.get(c.var.peer)!.card) as { x25519: string };
    const sealed = await sealTo(
      fromHex(peerCard.x25519),
      new TextEncoder().encode(JSON.stringify({ card: s.fleet.self.get() })),
      CARD_INFO,
      keys.id,
    );
    return c.body(sealed as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
  });
  // The route probe: the body is ignored, the answer says only who and when.
  app.post("/ping", (c) => c.json({ id: keys.id, time: Date.now() }));
  // Route benchmark: a real transfer of the requested size (at most 1 MiB) of random bytes.
  app.post("/bench", (c) => {
    // Any JSON parses (null, 5, a 100,000-deep array that Number() would overflow on): only a number or numeric text is a size.
    const req = parseJson<unknown>(c.var.peerBody);
    const bytes = req !== null && typeof req === "object" ? (req as { bytes?: unknown }).bytes : undefined;
    const want = typeof bytes === "number" || typeof bytes === "string" ? Number(bytes) : NaN;
    if (!Number.isInteger(want) || want < 1 || want > 1024 * 1024) throw new GroveError("bytes must be 1 to 1048576", 400, "bad_request");
    const data = new Uint8Array(want);
    for (let o = 0; o < want; o += 65536) crypto.getRandomValues(data.subarray(o, Math.min(want, o + 65536)));
    return c.body(data, 200, { "Content-Type": "application/octet-stream" });
  });
  app.route("/share", peerShareApi(s));
  app.route("/msg", peerMessageApi(s));
  app.route("/friend", peerFriendApi({ keys, peers: s.peers, friends: s.fleet.friends }));
  app.route(
    "/sync",
    peerSyncApi({
      keys,
      peers: s.peerStore,
      held: s.cell.held,
      store: s.cell.store,
      bounty: new BountyGate(s.cell.db.db, s.peers, s.cell.config),
    }),
  );
  app.route("/bounty", peerBountyApi(s));
  app.route("/ai", peerAiApi(s));
  app.route("/update", peerUpdateApi(s));
  app.route("/tree", peerTreeApi(s, s.tree));
  app.all("*", (c) => c.json({ error: `no peer route ${c.req.method} ${c.req.path}` }, 404));
  return app;
}
