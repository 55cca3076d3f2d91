/**
 * @module ai/remote — asking a friend's cell (the caller's side of protocol/ai-chat): which
 * friends offer which models (their cards), the best one for a question (model match, then
 * measured tokens/s, then route), and the question itself: sealed to that cell, sent on its
 * best route that answers, the answer read back part by part (long polls, each a signed call
 * that works the same directly and through a relay), checked piece by piece and, at the end,
 * against the answer's digest the cell signed.
 *
 *   for await (const ev of askPeer(access, peerRow, { v: 1, model: null, history: [], question, max_tokens: 64, temperature: 0 })) …
 */
import { errorMessage, GroveError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { fromHex, type CellId } from "../core/types.ts";
import { callPeerRaw, PeerCallError, refusalText, type PeerCaller } from "../net/peer-client.ts";
import type { PeerRow } from "../fleet/peer-store.ts";
import type { PeerDirectory } from "../fleet/peer-directory.ts";
import { AI_REPLY_INFO, AiPart, type AiDone, type AiQuestion } from "../protocol/ai-chat.ts";
import type { Card, CardModel } from "../protocol/card.ts";
import { AI_INFO } from "../protocol/labels.ts";
import { openJson, sealJson } from "../protocol/sealed-json.ts";
import { answerDigest } from "./answer.ts";
import { shortId } from "../core/format.ts";

/** What asking other cells needs: the peers (their cards and routes), and how to call them. */
export interface FleetAccess {
  readonly caller: PeerCaller;
  readonly peers: PeerDirectory;
}

/** A model on a peer's card. */
export interface Offer {
  peer: CellId;
  peer_name: string;
  friend: boolean;
  model: CardModel;
  /** The friend's machine, as its card says (RAM rounded down to whole GiB; GPU or null). */
  hardware: { ram_bytes: number | null; gpu: string | null };
  /** Best route's score (lower is better); null when no route answered lately. */
  route_score: number | null;
}

/** Every model the peers' cards offer (only friends' with `friendsOnly`). */
export function offers(access: FleetAccess, friendsOnly = true): Offer[] {
  const out: Offer[] = [];
  for (const p of access.peers.list()) {
    if (friendsOnly && !p.friend) continue;
    let caps: Partial<Card["capabilities"]> = {};
    try {
      caps = (JSON.parse(p.card) as Card).capabilities ?? {};
    } catch {}
    const score = access.peers.score(p.id);
    const hardware = { ram_bytes: caps.ram_bytes ?? null, gpu: caps.gpu ?? null };
    for (const m of caps.models ?? [])
      out.push({ peer: p.id, peer_name: p.name, friend: p.friend, model: m, hardware, route_score: score });
  }
  return out;
}

/** True when a model called `asked` (as a user types it) is `name`. */
export function sameModel(asked: string, name: string): boolean {
  return name === asked || name === `${asked}.gguf` || name === `${asked}:latest`;
}

/** The best offer: the model asked for (when one is), then the fastest measured, then the best route. */
export function bestOffer(list: Offer[], model?: string): Offer | null {
  const pool = model === undefined ? list : list.filter((o) => sameModel(model, o.model.name));
  const speed = (o: Offer) => o.model.tokens_per_s ?? -1;
  const route = (o: Offer) => o.route_score ?? Infinity;
  return [...pool].sort((a, b) => speed(b) - speed(a) || route(a) - route(b) || (a.peer < b.peer ? -1 : 1))[0] ?? null;
}

/** A piece of a peer's answer, then `done` with the figures it signed. */
export type RemoteEvent = { token: string } | ({ done: true } & AiDone);

/** Sealed questions above this are cut (oldest history first) to fit the peer API's 1 MiB body limit. */
const MAX_SEALED_QUESTION = 960 * 1024;
/** How long one poll may wait for the next pieces. */
const POLL_WAIT_MS = 10_000;
/** How long the first call waits for the first pieces (the model may have to load). */
const FIRST_WAIT_MS = 3_000;

const label = (p: PeerRow) => `${p.name} (${shortId(p.id)})`;

/** A refusal or failure of the peer, with its status kept for the caller (403 stays 403). */
function refused(p: PeerRow, status: number, body: Uint8Array): GroveError {
  const keep = status === 400 || status === 403 || status === 404 || status === 429 || status === 503;
  return new GroveError(`cell ${label(p)} refused: ${refusalText(body)}`, keep ? status : 502, status === 403 ? "forbidden" : "peer");
}

/** Reject when `signal` aborts (the call itself goes on; its answer is ignored). */
function raceAbort<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new Error("aborted"));
  return new Promise<T>((resolve, reject) => {
    const on = () => reject(new Error("aborted"));
    signal.addEventListener("abort", on, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", on));
  });
}

/**
 * Ask `peer`. Yields the answer's pieces as its parts arrive, then `done`. Throws GroveError:
 * the peer's refusal with its status (403: not a friend there, or it does not share; 404: no
 * such model there), 502 when no route answers, the answer fails, or it does not check out.
 */
export async function* askPeer(access: FleetAccess, peer: PeerRow, q: AiQuestion, signal?: AbortSignal): AsyncGenerator<RemoteEvent> {
  const { keys } = access.caller;
  const x25519 = fromHex((JSON.parse(peer.card) as Card).x25519);
  let question = q;
  let body = await sealJson(x25519, question, AI_INFO, keys.id);
  while (body.byteLength > MAX_SEALED_QUESTION && question.history.length) {
    question = { ...question, history: question.history.slice(2) };
    body = await sealJson(x25519, question, AI_INFO, keys.id);
  }
  const routes = access.peers.routes(peer.id);
  if (!routes.length) throw new GroveError(`cell ${label(peer)} has no address to reach it at`, 502, "peer");
  const open = async (bytes: Uint8Array): Promise<AiPart> => {
    const parsed = AiPart.safeParse(await openJson(keys, bytes, AI_REPLY_INFO, peer.id).catch(() => null));
    if (!parsed.success) throw new GroveError(`cell ${label(peer)} sent an answer that does not open or is malformed`, 502, "peer");
    return parsed.data;
  };

  // The question, on the best route that answers.
  let url = "";
  let part: AiPart | null = null;
  const failures: string[] = [];
  for (const r of routes) {
    if (signal?.aborted) return;
    let ans;
    try {
      ans = await raceAbort(
        callPeerRaw(access.caller, r, peer.id, "POST", `/peer/ai/chat?wait=${FIRST_WAIT_MS}`, body, 30_000 + FIRST_WAIT_MS),
        signal,
      );
    } catch (e) {
      if (signal?.aborted) return;
      if (e instanceof PeerCallError) {
        failures.push(`${r}: ${e.message}`);
        continue;
      }
      throw e;
    }
    if (ans.status !== 200) throw refused(peer, ans.status, ans.body);
    url = r;
    part = await open(ans.body);
    break;
  }
  if (!part) throw new GroveError(`cannot reach cell ${label(peer)} on any route (${failures.join("; ")})`, 502, "peer");

  const job = part.job;
  const pieces: string[] = [];
  let finished = false;
  try {
    for (;;) {
      if (part.job !== job || part.after !== pieces.length)
        throw new GroveError(`cell ${label(peer)} sent the answer out of order`, 502, "peer");
      for (const p of part.pieces) {
        pieces.push(p);
        yield { token: p };
      }
      if (part.error !== null) {
        finished = true;
        throw new GroveError(`cell ${label(peer)}: ${part.error}`, 502, "model_failed");
      }
      if (part.done) {
        finished = true;
        if (part.done.pieces !== pieces.length || part.done.answer_sha256 !== answerDigest(pieces)) {
          throw new GroveError(`the answer put together from cell ${label(peer)}'s parts does not match the digest it signed`, 502, "peer");
        }
        yield { done: true, ...part.done };
        return;
      }
      const path = `/peer/ai/chat/${job}?after=${pieces.length}&wait=${POLL_WAIT_MS}`;
      let ans;
      try {
        ans = await raceAbort(callPeerRaw(access.caller, url, peer.id, "GET", path, undefined, 30_000 + POLL_WAIT_MS), signal);
      } catch (e) {
        if (signal?.aborted) return;
        throw new GroveError(`cell ${label(peer)} stopped answering: ${errorMessage(e)}`, 502, "peer");
      }
      if (ans.status !== 200) throw refused(peer, ans.status, ans.body);
      part = await open(ans.body);
    }
  } finally {
    if (!finished) {
      // Left early (the user went away) or failed in transit: the peer may stop generating.
      void callPeerRaw(access.caller, url, peer.id, "DELETE", `/peer/ai/chat/${job}`, undefined, 10_000).catch((e) =>
        log("info", "could not cancel a question on a peer", { peer: shortId(peer.id), why: errorMessage(e) }),
      );
    }
  }
}
