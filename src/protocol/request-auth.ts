/**
 * @module protocol/request-auth — signed peer HTTP requests and responses (docs/design.md: Talking between cells).
 *
 * Request headers:
 *   X-Grove-Cell       sender cell id (64 lowercase hex, its Ed25519 public key)
 *   X-Grove-Time       sender's clock, unix milliseconds (decimal)
 *   X-Grove-Nonce      128 random bits, 32 lowercase hex
 *   X-Grove-Signature  Ed25519 signature, 128 lowercase hex, over the UTF-8 bytes of
 *
 *     "grove-request-v1\n" METHOD "\n" TARGET "\n" TIME "\n" NONCE "\n" SHA256(BODY) "\n" TO
 *
 * METHOD is upper case, TARGET the path with its query exactly as on the request line
 * (`requestTarget`), TIME and NONCE the header values, SHA256(BODY) lowercase hex of the raw body
 * bytes (of nothing when there is no body), TO the recipient's cell id or "" when the caller does
 * not bind the request to a recipient. The verifier refuses unknown cells, a time outside ±window
 * of its clock, a bad signature and a nonce it has already accepted.
 *
 * Response header:
 *   X-Grove-Response-Signature  Ed25519 by the responder, 128 hex, over
 *
 *     "grove-response-v1\n" REQUEST_NONCE "\n" STATUS "\n" SHA256(BODY)
 *
 * Binding the response to the request's fresh nonce means a response recorded earlier, or
 * altered in transit (status or body), does not verify.
 */
import { sha256 } from "../core/sha256.ts";
import { fromHex, toHex, type CellId } from "../core/types.ts";
import { sign, verify } from "../crypto/keys.ts";
import { shortId } from "../core/format.ts";

export const HEADER = {
  cell: "X-Grove-Cell",
  time: "X-Grove-Time",
  nonce: "X-Grove-Nonce",
  signature: "X-Grove-Signature",
  response: "X-Grove-Response-Signature",
} as const;

/** How old a request may be, by the receiver's clock (docs/protocol.md: 5 min). */
export const DEFAULT_WINDOW_MS = 5 * 60 * 1000;
/**
 * How far ahead of the receiver's clock a request may be stamped (1 min). Narrower than the past
 * window: a request stamped in the future would keep its nonce remembered for longer.
 */
export const DEFAULT_FUTURE_MS = 60 * 1000;
/** Nonces remembered at most per peer; past this that peer's oldest are dropped (see NonceCache). */
export const DEFAULT_MAX_NONCES = 50_000;

const REQUEST_CONTEXT = "grove-request-v1";
const RESPONSE_CONTEXT = "grove-response-v1";
const NONCE_BYTES = 16;

const CELL_RE = /^[0-9a-f]{64}$/;
const TIME_RE = /^[0-9]{1,15}$/;
const NONCE_RE = /^[0-9a-f]{32}$/;
const SIG_RE = /^[0-9a-f]{128}$/;
const METHOD_RE = /^[A-Z]{1,16}$/;

const enc = new TextEncoder();

/** A request or response body as the signer sees it: its raw bytes (null or "" = no body). */
export type Body = Uint8Array | string | null | undefined;

export interface RequestAuthHeaders {
  "X-Grove-Cell": string;
  "X-Grove-Time": string;
  "X-Grove-Nonce": string;
  "X-Grove-Signature": string;
}

export interface SignRequestOptions {
  /** Recipient cell id: binds the request to it (the verifier needs the same `self`). */
  to?: CellId;
  /** Sender clock, unix ms (tests). Defaults to Date.now(). */
  now?: number;
  /** 16 bytes (tests). Defaults to fresh random bytes. */
  nonce?: Uint8Array;
}

/**
 * Sign a peer request. `path` is the request target (path + query, see `requestTarget`),
 * `body` the exact bytes that will be sent. Returns the four headers to add.
 */
export function signRequest(
  secretKey: Uint8Array,
  cellId: CellId,
  method: string,
  path: string,
  body: Body,
  opts: SignRequestOptions = {},
): RequestAuthHeaders {
  if (!isTarget(path)) throw new Error("request target must start with '/' and contain no spaces or control characters");
  const time = String(Math.floor(opts.now ?? Date.now()));
  const nonceBytes = opts.nonce ?? crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  if (nonceBytes.byteLength !== NONCE_BYTES) throw new Error(`request nonce must be ${NONCE_BYTES} bytes`);
  const nonce = toHex(nonceBytes);
  const message = requestMessage(method.toUpperCase(), path, time, nonce, bodySha256Hex(body), opts.to ?? "");
  return {
    "X-Grove-Cell": cellId,
    "X-Grove-Time": time,
    "X-Grove-Nonce": nonce,
    "X-Grove-Signature": toHex(sign(secretKey, message)),
  };
}

/** The request target both sides sign: pathname + search of a URL, as sent on the request line. */
export function requestTarget(url: string | URL): string {
  const u = typeof url === "string" ? new URL(url) : url;
  return u.pathname + u.search;
}

/** Why a request was refused. Every refusal should be answered 401. */
export type RefusalReason = "malformed" | "unknown_cell" | "bad_signature" | "stale" | "future" | "replayed";

export type Refusal = { ok: false; reason: RefusalReason; message: string };
export type VerifyResult = { ok: true; peer: CellId /** hex SHA-256 of the body, as checked */; bodyHash: string } | Refusal;
export type PrecheckResult = { ok: true; peer: CellId } | Refusal;

/** Read a header by name, case-insensitively: a Fetch `Headers`, a plain record, or a function. */
export type HeaderSource = Headers | Record<string, string | undefined> | ((name: string) => string | null | undefined);

export interface IncomingRequest {
  method: string;
  /** Path + query as received (`requestTarget(req.url)`). */
  path: string;
  headers: HeaderSource;
  /** The raw body bytes, read in full before verifying. */
  body: Body;
}

/** id → Ed25519 public key of a known peer, or undefined. */
export type PeerKeyLookup = (id: CellId) => Uint8Array | undefined;

export interface VerifierOptions {
  /** How old a request may be, ms. Default 5 min. */
  windowMs?: number;
  /** How far in the future a request may be stamped, ms. Default 1 min. */
  futureMs?: number;
  /** Most nonces remembered per peer. Default 50,000. */
  maxNonces?: number;
  /** This cell's id: when set, requests must be signed with `to` = this id. */
  self?: CellId;
  /**
   * Refuse requests whose time is at or before this (unix ms). The nonce cache lives in memory:
   * pass the process start time so a request captured before a restart cannot be replayed after.
   */
  notBefore?: number;
}

/**
 * Checks signed peer requests against the known peers, the clock and the nonces seen. Replay
 * state is kept per peer: one peer filling its nonce cache raises only its own floor, never
 * another peer's (test/web/peer-limits.test.ts).
 */
export class RequestVerifier {
  private readonly lookup: PeerKeyLookup;
  private readonly windowMs: number;
  private readonly futureMs: number;
  private readonly self: string;
  private readonly maxNonces: number;
  /** Requests at or before this are refused for every peer (the process start: see `notBefore`). */
  private readonly floor: number;
  private readonly nonces = new Map<string, NonceCache>();

  constructor(
    peers: PeerKeyLookup | ReadonlyMap<string, Uint8Array>,
    private readonly clock: () => number = Date.now,
    opts: VerifierOptions = {},
  ) {
    this.lookup = typeof peers === "function" ? peers : (id) => peers.get(id);
    this.windowMs = opts.windowMs ?? DEFAULT_WINDOW_MS;
    this.futureMs = opts.futureMs ?? Math.min(DEFAULT_FUTURE_MS, this.windowMs);
    this.self = opts.self ?? "";
    this.maxNonces = opts.maxNonces ?? DEFAULT_MAX_NONCES;
    this.floor = opts.notBefore ?? Number.NEGATIVE_INFINITY;
    if (!Number.isInteger(this.maxNonces) || this.maxNonces < 1) throw new Error("nonce cache size must be a positive integer");
  }

  private cacheOf(peer: string): NonceCache {
    let c = this.nonces.get(peer);
    if (!c) this.nonces.set(peer, (c = new NonceCache(this.maxNonces)));
    return c;
  }

  /** Forget the replay state of peers no longer known (call after a peer is removed). */
  forget(peer: CellId): void {
    this.nonces.delete(peer);
  }

  /**
   * The checks that need no body: header shapes, method and path, time window, known cell.
   * Run it before reading a body so a stranger cannot make us read one. `verify` repeats it.
   */
  precheck(req: Omit<IncomingRequest, "body">): PrecheckResult {
    const pre = this.checkHeaders(req);
    return "reason" in pre ? pre : { ok: true, peer: pre.peer };
  }

  /** Verify one request. Accepting it records its nonce, so the same request is refused next time. */
  verify(req: IncomingRequest): VerifyResult {
    const pre = this.checkHeaders(req);
    if ("reason" in pre) return pre;
    const { h, peer, key } = pre;
    const bodyHash = bodySha256Hex(req.body);
    const message = requestMessage(req.method.toUpperCase(), req.path, h.time, h.nonce, bodyHash, this.self);
    if (!verify(fromHex(h.signature), message, key)) {
      return refuse("bad_signature", "request signature does not verify (altered method, path, time, nonce or body, or wrong key)");
    }
    const cache = this.cacheOf(peer);
    cache.sweep(this.clock() - this.windowMs);
    if (!cache.add(h.nonce, Number(h.time))) return refuse("replayed", "request nonce was already used");
    return { ok: true, peer, bodyHash };
  }

  /** How many nonces are remembered now, over all peers (for tests and status). */
  get rememberedNonces(): number {
    let n = 0;
    for (const c of this.nonces.values()) n += c.size;
    return n;
  }

  private checkHeaders(req: Omit<IncomingRequest, "body">): Refusal | { h: AuthHeaders; peer: CellId; key: Uint8Array } {
    const h = readAuthHeaders(req.headers);
    if (typeof h === "string") return refuse("malformed", h);
    if (!METHOD_RE.test(req.method.toUpperCase())) return refuse("malformed", "request method is not a plain HTTP method");
    if (!isTarget(req.path)) return refuse("malformed", "request path must start with '/' and contain no spaces or control characters");

    const now = this.clock();
    const time = Number(h.time);
    const allowed = `allowed ${this.windowMs / 1000} s back, ${this.futureMs / 1000} s ahead`;
    if (time < now - this.windowMs) return refuse("stale", `request time is ${describeSkew(now - time)} old (${allowed})`);
    if (time > now + this.futureMs)
      return refuse("future", `request time is ${describeSkew(time - now)} ahead (${allowed}): check this cell's clock`);
    if (time <= this.floor) return refuse("replayed", "request is older than this cell's start");

    const peer = h.cell as CellId;
    if (time <= (this.nonces.get(peer)?.floor ?? Number.NEGATIVE_INFINITY))
      return refuse("replayed", "request is older than the nonces still remembered for this cell");
    const key = this.lookup(peer);
    if (!key) return refuse("unknown_cell", `cell ${shortId(peer)} is not a known peer`);
    return { h, peer, key };
  }
}

/** Sign a response to the request that carried `requestNonce`. Returns the header value. */
export function signResponse(secretKey: Uint8Array, requestNonce: string, status: number, body: Body): string {
  return toHex(sign(secretKey, responseMessage(requestNonce, status, body)));
}

/** True when `header` is the responder's signature over this status and body for our request nonce. */
export function verifyResponse(
  publicKey: Uint8Array,
  requestNonce: string,
  status: number,
  body: Body,
  header: string | null | undefined,
): boolean {
  if (typeof header !== "string" || !SIG_RE.test(header)) return false;
  if (!NONCE_RE.test(requestNonce)) return false;
  return verify(fromHex(header), responseMessage(requestNonce, status, body), publicKey);
}

/** SHA-256 of a body's raw bytes, lowercase hex ("" and null hash as the empty string). */
export function bodySha256Hex(body: Body): string {
  const h = sha256();
  if (body !== null && body !== undefined) h.update(typeof body === "string" ? enc.encode(body) : body);
  return h.digest("hex");
}

/**
 * Remembers accepted nonces until they could no longer pass the time check. Bounded: at
 * `max` entries the oldest is dropped and `floor` rises to its request time, so a request no
 * newer than a forgotten nonce is refused instead of risking a replay.
 */
export class NonceCache {
  /** key → request time (unix ms); insertion order = acceptance order. */
  private readonly seen = new Map<string, number>();
  /** Requests with a time at or below this are refused (a nonce that old may have been dropped). */
  floor = Number.NEGATIVE_INFINITY;

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new Error("nonce cache size must be a positive integer");
  }

  get size(): number {
    return this.seen.size;
  }

  /** Drop entries, oldest accepted first, whose time is before `oldest` (they would fail as stale). */
  sweep(oldest: number): void {
    for (const [key, time] of this.seen) {
      if (time >= oldest) break;
      this.seen.delete(key);
    }
  }

  /** Record `key`; false if it is already there. */
  add(key: string, time: number): boolean {
    if (this.seen.has(key)) return false;
    while (this.seen.size >= this.max) this.evictOldest();
    this.seen.set(key, time);
    return true;
  }

  private evictOldest(): void {
    const first = this.seen.entries().next();
    if (first.done) return;
    const [key, time] = first.value;
    this.seen.delete(key);
    if (time > this.floor) this.floor = time;
  }
}

interface AuthHeaders {
  cell: string;
  time: string;
  nonce: string;
  signature: string;
}

/** The four auth headers, checked for shape; a string names what is wrong. */
function readAuthHeaders(source: HeaderSource): AuthHeaders | string {
  const get = headerGetter(source);
  const cell = get(HEADER.cell);
  const time = get(HEADER.time);
  const nonce = get(HEADER.nonce);
  const signature = get(HEADER.signature);
  if (!cell || !time || !nonce || !signature) {
    const missing = [
      [HEADER.cell, cell],
      [HEADER.time, time],
      [HEADER.nonce, nonce],
      [HEADER.signature, signature],
    ]
      .filter(([, v]) => !v)
      .map(([n]) => n);
    return `missing header ${missing.join(", ")}`;
  }
  if (!CELL_RE.test(cell)) return `${HEADER.cell} must be a cell id (64 lowercase hex characters)`;
  if (!TIME_RE.test(time)) return `${HEADER.time} must be unix milliseconds (decimal digits)`;
  if (!NONCE_RE.test(nonce)) return `${HEADER.nonce} must be 32 lowercase hex characters (128 bits)`;
  if (!SIG_RE.test(signature)) return `${HEADER.signature} must be 128 lowercase hex characters`;
  return { cell, time, nonce, signature };
}

function headerGetter(source: HeaderSource): (name: string) => string | undefined {
  if (typeof source === "function") return (name) => source(name) ?? undefined;
  if (source instanceof Headers) return (name) => source.get(name) ?? undefined;
  const lower = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(source)) lower.set(k.toLowerCase(), v);
  return (name) => lower.get(name.toLowerCase());
}

/** A request-line target: starts with "/", no whitespace or control characters (so no "\n"). */
function isTarget(path: string): boolean {
  return path.startsWith("/") && !/[\x00-\x20\x7f]/.test(path);
}

function requestMessage(method: string, target: string, time: string, nonce: string, bodyHash: string, to: string): Uint8Array {
  return enc.encode([REQUEST_CONTEXT, method, target, time, nonce, bodyHash, to].join("\n"));
}

function responseMessage(requestNonce: string, status: number, body: Body): Uint8Array {
  return enc.encode([RESPONSE_CONTEXT, requestNonce, String(status), bodySha256Hex(body)].join("\n"));
}

function refuse(reason: RefusalReason, message: string): Refusal {
  return { ok: false, reason, message };
}

function describeSkew(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
