/**
 * @module net/peer-client — calls another cell's peer API: every request signed (bound to the
 * recipient), every answer's signature checked against the peer's key before it is believed.
 * The caller is a `PeerCaller`: this cell's keys, and the relay transport it has, if any (on the
 * main thread relay/relay-client, in the sync Worker a message to it). A route on a relay
 * (ws:// or wss://, net/route-class) goes through that transport; the request and the checks are
 * the same either way. Plain keys are a caller without relays (direct routes only).
 */
import { GroveError, errorMessage } from "../core/errors.ts";
import { fromHex, type CellId } from "../core/types.ts";
import { requestTarget, signRequest, verifyResponse, HEADER } from "../protocol/request-auth.ts";
import { isRelayRoute } from "./route-class.ts";
import type { CellKeys } from "../crypto/keys.ts";
import { readAtMost } from "../core/bounded-read.ts";
import { shortId } from "../core/format.ts";

/**
 * The largest answer a peer call reads, by default: a manifest backup (sync/wire MAX_BACKUP_BYTES,
 * 16 MiB: the largest body the protocol sends back) with 1 MiB to spare. Reading stops at the first byte past it, so a peer (or
 * a host on the path) cannot grow this cell's memory with an endless answer.
 */
export const MAX_PEER_ANSWER = 17 * 1024 * 1024;

/** A peer request as a transport carries it. */
export interface PeerRequest {
  method: string;
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
  body: Uint8Array | null;
}

export interface PeerResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Carries one request to `peer` through the relay at `relayUrl`; rejects with a one-line reason. */
/** Carries one peer call through a relay; `signal` abandons it (no more frames sent, nothing kept waiting). */
export type RelayTransport = (
  relayUrl: string,
  peer: CellId,
  req: PeerRequest,
  timeoutMs: number,
  signal?: AbortSignal,
) => Promise<PeerResponse>;

/** Who calls: this cell's keys, and how it reaches peers through relays (null: it cannot). */
export interface PeerCaller {
  readonly keys: CellKeys;
  readonly relay: RelayTransport | null;
}

const callerOf = (c: PeerCaller | CellKeys): PeerCaller => ("keys" in c ? c : { keys: c, relay: null });

export interface PeerAnswer<T> {
  status: number;
  body: T;
  /** Round trip, ms. */
  latency_ms: number;
}

/** A peer call failed: unreachable, refused, or its answer did not verify. */
export class PeerCallError extends GroveError {
  constructor(message: string, status = 502) {
    super(message, status, "peer");
  }
}

/** No answer came back at all (connection failed, timed out, relay could not carry it): the peer, or our own link, may be down. */
export class PeerUnreachableError extends PeerCallError {}

/**
 * Send `method path` with `body` (JSON-encoded, or bytes as they are, e.g. an HPKE-sealed
 * message) to the cell `peer` at `baseUrl` and return the raw answer
 * once its signature checks out. Throws PeerCallError when the cell cannot be reached or when
 * the answer is not signed by `peer` for this request (PeerUnreachableError when no answer came:
 * after `timeoutMs`, or when `signal` aborts the call first).
 */
export async function callPeerRaw(
  from: PeerCaller | CellKeys,
  baseUrl: string,
  peer: CellId,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 15_000,
  signal?: AbortSignal,
  maxAnswer = MAX_PEER_ANSWER,
): Promise<PeerAnswer<Uint8Array>> {
  const { keys, relay: relayTransport } = callerOf(from);
  const url = new URL(path, baseUrl);
  const sealed = body instanceof Uint8Array;
  const raw = body === undefined || body === null ? null : sealed ? body : new TextEncoder().encode(JSON.stringify(body));
  const headers: Record<string, string> = { ...signRequest(keys.ed25519Secret, keys.id, method, requestTarget(url), raw, { to: peer }) };
  if (raw) headers["content-type"] = sealed ? "application/octet-stream" : "application/json";
  const t0 = performance.now();
  let status: number;
  let bytes: Uint8Array;
  let signature: string | null;
  if (isRelayRoute(baseUrl)) {
    if (!relayTransport)
      throw new PeerCallError(`cannot reach cell ${shortId(peer)} through ${baseUrl}: this caller has no relay connection`);
    try {
      const res = await relayTransport(baseUrl, peer, { method, path: requestTarget(url), headers, body: raw }, timeoutMs, signal);
      status = res.status;
      bytes = res.body;
      signature = res.headers[HEADER.response.toLowerCase()] ?? res.headers[HEADER.response] ?? null;
    } catch (e) {
      throw new PeerUnreachableError(`cannot reach cell ${shortId(peer)} through relay ${baseUrl}: ${errorMessage(e)}`);
    }
    if (bytes.byteLength > maxAnswer)
      throw new PeerCallError(`cell ${shortId(peer)} sent an answer over the ${maxAnswer} bytes read from a peer`);
  } else {
    let res: Response;
    try {
      const timeout = AbortSignal.timeout(timeoutMs);
      res = await fetch(url, {
        method,
        headers,
        body: raw as BodyInit | null,
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
        redirect: "manual",
      });
    } catch (e) {
      throw new PeerUnreachableError(`cannot reach ${url.origin}: ${errorMessage(e)}`);
    }
    status = res.status;
    const declared = Number(res.headers.get("content-length") ?? 0);
    if (declared > maxAnswer) {
      void res.body?.cancel().catch(() => {});
      throw new PeerCallError(`${url.origin} announced a ${declared}-byte answer, over the ${maxAnswer} bytes read from a peer`);
    }
    let read: Uint8Array | null;
    try {
      read = await readAtMost(res.body, maxAnswer);
    } catch (e) {
      // The answer started and then stopped coming (timeout, connection lost mid-body).
      throw new PeerUnreachableError(`${url.origin} stopped answering: ${errorMessage(e)}`);
    }
    if (!read) throw new PeerCallError(`${url.origin} sent an answer over the ${maxAnswer} bytes read from a peer; the rest was not read`);
    bytes = read;
    signature = res.headers.get(HEADER.response);
  }
  const latency_ms = performance.now() - t0;
  if (!verifyResponse(fromHex(peer), headers[HEADER.nonce]!, status, bytes, signature)) {
    throw new PeerCallError(
      `the answer from ${isRelayRoute(baseUrl) ? baseUrl : url.origin} is not signed by cell ${shortId(peer)} (altered in transit, or another cell answered)`,
    );
  }
  return { status, body: bytes, latency_ms };
}

/** `callPeerRaw` for JSON answers; a 4xx/5xx answer becomes a PeerCallError with the peer's message. */
export async function callPeer<T>(
  from: PeerCaller | CellKeys,
  baseUrl: string,
  peer: CellId,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 15_000,
): Promise<PeerAnswer<T>> {
  const ans = await callPeerRaw(from, baseUrl, peer, method, path, body, timeoutMs);
  let parsed: unknown = null;
  try {
    parsed = ans.body.byteLength ? JSON.parse(new TextDecoder().decode(ans.body)) : null;
  } catch {
    throw new PeerCallError(`cell ${shortId(peer)} answered with malformed JSON`);
  }
  if (ans.status >= 400)
    throw new PeerCallError(
      `cell ${shortId(peer)} refused: ${(parsed as { error?: string } | null)?.error ?? ans.status}`,
      ans.status === 401 ? 401 : 502,
    );
  return { status: ans.status, body: parsed as T, latency_ms: ans.latency_ms };
}

/** The `error` of a peer's JSON refusal, for messages ("refused" when there is none). */
export function refusalText(body: Uint8Array): string {
  try {
    return String((JSON.parse(new TextDecoder().decode(body)) as { error?: unknown }).error ?? "refused");
  } catch {
    return "refused";
  }
}
