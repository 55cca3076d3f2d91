/**
 * @module relay/relay-client — this cell on its relays (docs/design.md: Relay). It keeps a reservation
 * (a logged-in WebSocket) on every relay in config `relays`, and on any relay a peer's card names
 * once a call needs it; it reconnects with backoff when one drops. Through them it
 *   - carries this cell's peer calls (net/peer-client's relay transport): each call sealed end
 *     to end with its own keys (relay/tunnel), answered or failed with a clear reason;
 *   - answers calls from peers by handing them to the peer API, exactly as if they came over HTTP
 *     (the same signature, replay and size checks apply).
 * The relay passes frames only from cells this one accepts: its peers, a cell it is joining,
 * and, while an invite is live, small frames from anyone (so a new cell can pair).
 *
 * Config `relays` may change while the cell runs (`setRelays`, on a config reload): a relay added is
 * opened and kept, one removed is closed and forgotten (its calls in flight fail saying so; a peer's
 * card naming it still opens it on demand), one whose token changed logs in again with the new one.
 *
 * A relay serves only the cells its operator allows. A relay URL in config `relays` may carry an
 * access token (`?token=…`, net/route-class `relayAccessToken`): this cell proves it holds it at
 * each login, and the URL without it is the one kept, shown and advertised. A relay that refused
 * this cell is tried again at once when the fleet changes (it may be allowed now: paired with the
 * relay's cell, or joining a cell on it).
 */
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { fromHex, toHex, type CellId } from "../core/types.ts";
import type { CellKeys } from "../crypto/keys.ts";
import type { CipherSuite } from "../crypto/cipher.ts";
import type { PeerRequest, PeerResponse } from "../net/peer-client.ts";
import { normalizeRelayUrl, relayAccessToken } from "../net/route-class.ts";
import { ID_BYTES, MAX_ACCEPT, makeLogin, provenOperator, unframe, type Login } from "./relay-protocol.ts";
import { ByteTally } from "./tally.ts";
import { freeBuffer } from "./free-buffer.ts";
import { shortId } from "../core/format.ts";
import {
  KIND_REQUEST,
  KIND_RESPONSE,
  Reassembly,
  TunnelError,
  acceptCall,
  MessageSealer,
  decodeRequest,
  decodeResponse,
  encodeResponse,
  frameBufferBytes,
  frameTextBytes,
  openCall,
  openFrame,
  readHead,
  requestPieces,
  type CallKeys,
  type FrameHead,
  type TunnelResponse,
} from "./tunnel.ts";

/** Calls being answered for one peer at a time, and bytes of them being put together, at most. */
const MAX_INCOMING_PER_PEER = 32;
const MAX_INCOMING_BYTES = 128 * 1024 * 1024;
/** A call whose parts stop coming is dropped after this. */
const INCOMING_TIMEOUT_MS = 120_000;
/**
 * Stop writing while this much is queued on the socket (native memory, outside the collector's
 * sight): two frames' worth keeps the relay busy, more only sits in this cell's memory.
 */
const HIGH_WATER = 2 * 1024 * 1024;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;
/** A cell being joined is accepted this long. */
const EXPECT_MS = 10 * 60 * 1000;
const ACCEPT_REFRESH_MS = 15_000;

export interface RelayClientOptions {
  keys: CellKeys;
  suite: CipherSuite;
  /** Relays to hold a reservation on (config `relays` at start; `setRelays` when it changes). */
  relays: readonly string[];
  /** Who may send frames to this cell now: its peers' ids, and whether a live invite lets others pair. */
  accept(): { ids: string[]; open: boolean };
  /** A peer's X25519 public key (from its card), or null when it is not a peer. */
  peerX25519(peer: CellId): Uint8Array | null;
  /** Answer a peer request that arrived through a relay (the peer API's fetch). */
  serve(req: Request): Promise<Response>;
}

/** One relay as the dashboard and `grove status` show it. */
export interface RelayState {
  url: string;
  state: "connecting" | "ready" | "down";
  /** From config `relays` (kept up), or opened to reach a peer. */
  configured: boolean;
  since: number;
  error: string | null;
  calls_out: number;
  calls_in: number;
  /** The cell that runs this relay, as it proved at login; null = anonymous (carries uncredited). */
  operator: string | null;
}

/** What the rest of the cell uses (fleet, sync service). */
export interface RelayLink {
  call(relayUrl: string, peer: CellId, req: PeerRequest, timeoutMs: number, signal?: AbortSignal): Promise<PeerResponse>;
  /** About to join `peer` through a relay: accept its frames, and seal to this key. */
  expect(peer: CellId, x25519Hex: string): void;
  /** The fleet or the invites changed: tell the relays whom to accept (and try again those that refused this cell). */
  refreshAccept(): void;
  status(): RelayState[];
}

interface OutCall {
  peer: CellId;
  keys: CallKeys;
  parts: Reassembly | null;
  resolve(r: PeerResponse): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

interface InCall {
  eph: string;
  keys: CallKeys;
  parts: Reassembly;
  timer: ReturnType<typeof setTimeout>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Connection {
  ws: WebSocket | null = null;
  state: RelayState["state"] = "down";
  since = Date.now();
  error: string | null = null;
  callsOut = 0;
  callsIn = 0;
  readonly out = new Map<number, OutCall>();
  readonly incoming = new Map<string, InCall>();
  private incomingBytes = 0;
  private nextCall = 1;
  private waiters: { resolve(): void; reject(e: Error): void; timer: ReturnType<typeof setTimeout> }[] = [];
  private backoff = RECONNECT_MIN_MS;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private sentAccept = "";
  private failures = 0;
  /** The relay refused this cell's last login (it may allow it once the fleet changes). */
  private refused = false;
  /** The login sent for the current challenge (the operator's proof signs it). */
  private login: { nonce: string; login: Login } | null = null;
  /** The relay's proven operator (null: none or not proven). */
  operator: string | null = null;
  /** Payload bytes sent and received through this relay since the last `takeCarried`, by operator. */
  readonly carried = new ByteTally();
  stopped = false;

  constructor(
    readonly url: string,
    /** In config `relays`: reconnected with backoff when it drops (else reopened by the next call). */
    public configured: boolean,
    private client: RelayClient,
  ) {}

  connect(): void {
    if (this.stopped || this.ws) return;
    this.set("connecting", this.error);
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.closed(errorMessage(e));
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") this.control(ev.data);
      else {
        // Nothing keeps a view of a frame once handled (its part is opened into the message's
        // own buffer): its megabyte goes back now, not when the collector gets to it.
        this.client.onFrame(this, new Uint8Array(ev.data as ArrayBuffer));
        freeBuffer(ev.data as ArrayBuffer);
      }
    };
    ws.onclose = (ev) => {
      if (this.ws === ws) this.closed(this.error ?? (ev.reason || `closed (${ev.code})`));
    };
    ws.onerror = () => {
      this.error ??= "cannot connect";
    };
  }

  /** Count payload bytes carried for us, when the relay proved who runs it. */
  count(bytes: number): void {
    if (this.operator) this.carried.add(this.operator, bytes);
  }

  private set(state: RelayState["state"], error: string | null): void {
    if (state !== this.state) this.since = Date.now();
    this.state = state;
    this.error = error;
  }

  private control(text: string): void {
    let m: { type?: string; nonce?: string; reason?: string; to?: string };
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    // What a relay says is checked like anything else from the network (the operator is not trusted).
    if (m === null || typeof m !== "object") return;
    if (typeof m.to !== "string" || !/^[0-9a-f]{64}$/.test(m.to)) delete m.to;
    if (typeof m.reason !== "string") m.reason = undefined;
    if (m.type === "challenge" && typeof m.nonce === "string") {
      const a = this.client.acceptList();
      this.sentAccept = JSON.stringify(a);
      const login = makeLogin(this.client.keys, m.nonce, a.ids, Date.now(), a.open, this.client.tokenFor(this.url));
      this.login = { nonce: m.nonce, login };
      this.ws?.send(JSON.stringify(login));
    } else if (m.type === "ready") {
      const op = this.login
        ? provenOperator(m as { operator?: unknown; operator_signature?: unknown }, this.login.nonce, this.login.login)
        : null;
      // Our own relay carries nothing we owe anyone for.
      this.operator = op === this.client.keys.id ? null : op;
      if (op && op !== this.operator) log("info", "relay: this is our own relay", { relay: this.url });
      else if (this.operator) log("info", "relay: operated by a cell", { relay: this.url, operator: shortId(this.operator) });
      this.set("ready", null);
      this.refused = false;
      this.backoff = RECONNECT_MIN_MS;
      log("info", "relay: reservation held", { relay: this.url });
      for (const w of this.waiters.splice(0)) clearTimeout(w.timer), w.resolve();
      this.refreshAccept(); // the fleet may have changed while logging in
    } else if (m.type === "refused") {
      const error = `refused: ${m.reason ?? "no reason given"}`;
      // Said once per reason: a relay that does not allow this cell refuses every retry alike.
      if (!this.refused || this.error !== error) log("warn", `relay ${this.url} refused this cell: ${m.reason ?? "?"}`);
      this.refused = true;
      this.error = error;
    } else if (m.type === "undeliverable" && m.to) {
      this.failPeer(m.to as CellId, `cell ${shortId(m.to)} is not connected to this relay`);
    } else if (m.type === "error") {
      if (m.to) this.failPeer(m.to as CellId, `the relay refused a frame: ${m.reason ?? "?"}`);
      else {
        // Maybe our accept list was not taken (rate limited): the next refresh sends it again.
        this.sentAccept = "";
        log("warn", `relay ${this.url}: ${m.reason ?? "error"}`);
      }
    }
  }

  refreshAccept(): void {
    if (this.state !== "ready" || !this.ws) return;
    const a = this.client.acceptList();
    const text = JSON.stringify(a);
    if (text === this.sentAccept) return;
    this.sentAccept = text;
    this.ws.send(JSON.stringify({ type: "accept", accept: a.ids, open: a.open }));
  }

  /** Refused by the relay and waiting to retry: try now, from the shortest backoff (the fleet changed). */
  retryIfRefused(): void {
    if (this.stopped || !this.refused || this.ws || !this.reconnectTimer) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.backoff = RECONNECT_MIN_MS;
    this.connect();
  }

  private closed(why: string): void {
    const wasReady = this.state === "ready";
    this.ws = null;
    this.operator = null;
    this.login = null;
    this.set("down", why);
    this.sentAccept = "";
    for (const c of this.out.values()) clearTimeout(c.timer), c.reject(new Error(`the relay connection closed (${why})`));
    this.out.clear();
    for (const c of this.incoming.values()) clearTimeout(c.timer);
    this.incoming.clear();
    this.incomingBytes = 0;
    if (this.stopped) return;
    this.failures = wasReady ? 1 : this.failures + 1;
    // A relay of our own is kept: reconnect with backoff. A peer's relay is reopened by the next
    // call that needs it. A relay that stays away is logged on the first failures, then rarely.
    if (wasReady || this.failures <= 2 || this.failures % 20 === 0) {
      log("warn", wasReady ? "relay: connection lost" : "relay: cannot connect", {
        relay: this.url,
        why,
        tries: this.failures,
        retry: this.configured ? `in ${this.backoff} ms` : "on next call",
      });
    }
    if (!this.configured) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, this.backoff);
    this.backoff = Math.min(RECONNECT_MAX_MS, this.backoff * 2);
  }

  /** Resolves once logged in; rejects after `ms` with why it is not. */
  whenReady(ms: number): Promise<void> {
    if (this.state === "ready") return Promise.resolve();
    // Down and waiting to retry: fail now rather than hold up the caller (a probe round).
    if (this.reconnectTimer) return Promise.reject(new Error(`not connected to the relay (${this.error ?? "down"}; retrying)`));
    if (!this.ws) this.connect();
    return new Promise((resolve, reject) => {
      const w = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error(`not connected to the relay${this.error ? ` (${this.error})` : ""}`));
        }, ms),
      };
      this.waiters.push(w);
    });
  }

  newCallId(): number {
    for (;;) {
      const id = this.nextCall;
      this.nextCall = this.nextCall >= 0xffffffff ? 1 : this.nextCall + 1;
      if (!this.out.has(id)) return id;
    }
  }

  /** Where each frame is sealed just before it is sent (the socket copies what it cannot write at once). */
  private readonly frameBuffer = new Uint8Array(frameBufferBytes(ID_BYTES));

  /**
   * Send a message's frames to `peer` in order, waiting while the socket's queue is long. Each
   * frame is sealed, with ID_BYTES spare in front for the recipient's id, into one buffer reused
   * for every frame of every call: a call costs no buffer of its own however large its body.
   */
  async send(peer: CellId, message: MessageSealer, abandoned: () => boolean = () => false): Promise<void> {
    const id = fromHex(peer);
    for (let i = 0; i < message.parts; i++) {
      if (abandoned()) return; // the call ended (abort, timeout): its remaining parts are not sent
      while (this.ws && this.ws.bufferedAmount > HIGH_WATER) await sleep(2);
      if (abandoned()) return; // it may have ended while this waited (its body may be freed)
      if (!this.ws || this.state !== "ready") throw new Error("the relay connection closed");
      const f = message.frame(i, this.frameBuffer); // sealed and sent with no await between: the buffer is free again after
      f.set(id, 0);
      this.ws.send(f);
      this.count(f.byteLength - ID_BYTES);
    }
  }

  failPeer(peer: CellId, why: string): void {
    for (const [id, c] of this.out) {
      if (c.peer !== peer) continue;
      clearTimeout(c.timer);
      this.out.delete(id);
      c.reject(new Error(why));
    }
  }

  /** Room for one more call from `peer` being put together? */
  admitIncoming(peer: string): boolean {
    let n = 0;
    for (const k of this.incoming.keys()) if (k.startsWith(peer)) n++;
    return n < MAX_INCOMING_PER_PEER && this.incomingBytes < MAX_INCOMING_BYTES;
  }

  trackIncoming(key: string, c: InCall): void {
    this.incoming.set(key, c);
  }

  addIncomingBytes(n: number): void {
    this.incomingBytes += n;
  }

  dropIncoming(key: string): void {
    const c = this.incoming.get(key);
    if (!c) return;
    clearTimeout(c.timer);
    this.incomingBytes -= c.parts.footprint;
    this.incoming.delete(key);
  }

  /** Now in config `relays`: kept up from here on (opened now if it is down). */
  keep(): void {
    if (this.configured) return;
    this.configured = true;
    if (!this.ws && !this.reconnectTimer) this.connect();
  }

  /**
   * Close for good: calls waiting for it or in flight on it fail now with `why` (the socket's own
   * close comes later, and a removed relay's caller should hear why, not "closed").
   */
  stop(why = "the cell is stopping"): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    for (const w of this.waiters.splice(0)) clearTimeout(w.timer), w.reject(new Error(why));
    for (const c of this.out.values()) clearTimeout(c.timer), c.reject(new Error(why));
    this.out.clear();
    this.ws?.close(1000, why.slice(0, 120));
  }
}

export class RelayClient implements RelayLink {
  private readonly conns = new Map<string, Connection>();
  private readonly expected = new Map<CellId, { x25519: Uint8Array; until: number }>();
  /** Access tokens from config `relays`, by normalised relay URL. */
  private readonly tokens = new Map<string, string>();
  private refreshTimer: ReturnType<typeof setInterval>;
  readonly keys: CellKeys;

  constructor(private opts: RelayClientOptions) {
    this.keys = opts.keys;
    this.setRelays(opts.relays);
    this.refreshTimer = setInterval(() => this.sendAccepts(), ACCEPT_REFRESH_MS);
    (this.refreshTimer as { unref?: () => void }).unref?.();
  }

  /**
   * Config `relays` changed while the cell runs: hold reservations on exactly these. A relay added
   * is opened (or, already open to reach a peer, kept from now on); one removed is closed and
   * forgotten, its calls failing with why (a peer's card naming it opens it again on demand, as
   * any peer's relay); one whose access token changed is closed and opened again with the new token.
   */
  setRelays(urls: readonly string[]): void {
    const next = new Map<string, string | null>();
    for (const u of urls) next.set(normalizeRelayUrl(u), relayAccessToken(u));
    for (const [url, c] of this.conns) {
      if (!c.configured || next.has(url)) continue;
      this.conns.delete(url);
      this.tokens.delete(url);
      c.stop("the relay was removed from config `relays`");
      log("info", "relay: removed from config, reservation dropped", { relay: url });
    }
    for (const [url, token] of next) {
      const before = this.tokens.get(url) ?? null;
      if (token === null) this.tokens.delete(url);
      else this.tokens.set(url, token);
      const c = this.conns.get(url);
      if (c && before !== token) {
        // Logged in with the old token (or none, opened for a peer): log in again with this one.
        this.conns.delete(url);
        c.stop("the relay's access token changed in config `relays`");
        log("info", "relay: access token changed, logging in again", { relay: url });
      } else if (c) {
        c.keep();
        continue;
      }
      this.connection(url, true);
    }
  }

  private connection(url: string, configured = false): Connection {
    const key = normalizeRelayUrl(url);
    let c = this.conns.get(key);
    if (!c) {
      c = new Connection(key, configured, this);
      this.conns.set(key, c);
      c.connect();
    }
    return c;
  }

  /** The accept list sent to relays: peers and cells being joined (at most MAX_ACCEPT). */
  acceptList(): { ids: string[]; open: boolean } {
    const now = Date.now();
    for (const [id, e] of this.expected) if (e.until < now) this.expected.delete(id);
    const a = this.opts.accept();
    const ids = [...new Set([...a.ids, ...this.expected.keys()])].sort().slice(0, MAX_ACCEPT);
    return { ids, open: a.open };
  }

  expect(peer: CellId, x25519Hex: string): void {
    this.expected.set(peer, { x25519: Uint8Array.from(Buffer.from(x25519Hex, "hex")), until: Date.now() + EXPECT_MS });
    this.refreshAccept();
  }

  refreshAccept(): void {
    for (const c of this.conns.values()) c.retryIfRefused();
    this.sendAccepts();
  }

  private sendAccepts(): void {
    for (const c of this.conns.values()) c.refreshAccept();
  }

  /** The access token this cell holds for the relay at `url` (normalised), from config `relays`. */
  tokenFor(url: string): string | null {
    return this.tokens.get(url) ?? null;
  }

  async call(relayUrl: string, peer: CellId, req: PeerRequest, timeoutMs: number, signal?: AbortSignal): Promise<PeerResponse> {
    signal?.throwIfAborted();
    const conn = this.connection(relayUrl);
    const t0 = Date.now();
    await conn.whenReady(Math.min(timeoutMs, 10_000));
    signal?.throwIfAborted();
    // Removed from config (or its token changed) while this waited: its socket is closing.
    if (conn.stopped) throw new Error("the relay connection closed (config `relays` changed)");
    const x = this.opts.peerX25519(peer) ?? this.expected.get(peer)?.x25519 ?? null;
    if (!x) throw new Error(`cell ${shortId(peer)} is not a peer (no key to seal to)`);
    const { ephPublic, keys } = openCall(x);
    const callId = conn.newCallId();
    const frames = new MessageSealer(this.opts.suite, keys.request, KIND_REQUEST, callId, requestPieces(req), ephPublic, ID_BYTES);
    conn.callsOut++;
    return new Promise<PeerResponse>((resolve, reject) => {
      const left = Math.max(1000, timeoutMs - (Date.now() - t0));
      // Whichever ends the call first (answer, timeout, abort, a send error) ends it for good.
      let settled = false;
      const end = (e: Error | null, r?: PeerResponse) => {
        if (settled) return;
        settled = true;
        conn.out.delete(callId);
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (e) reject(e);
        else resolve(r!);
      };
      const onAbort = () => end(signal!.reason instanceof Error ? signal!.reason : new Error("the call was abandoned"));
      const timer = setTimeout(() => end(new Error(`no answer through the relay in ${Math.round(timeoutMs / 1000)} s`)), left);
      conn.out.set(callId, { peer, keys, parts: null, resolve: (r) => end(null, r), reject: (e) => end(e), timer });
      signal?.addEventListener("abort", onAbort, { once: true });
      conn.send(peer, frames, () => !conn.out.has(callId)).catch((e) => end(e as Error));
    });
  }

  /** A frame from the relay: a part of a call to answer, or of an answer we wait for. */
  onFrame(conn: Connection, data: Uint8Array): void {
    const f = unframe(data);
    if (!f) return;
    conn.count(f.payload.byteLength);
    const from = f.id as CellId;
    let head: FrameHead;
    try {
      head = readHead(f.payload);
      if (head.kind === KIND_RESPONSE) this.responsePart(conn, from, head, f.payload);
      else this.requestPart(conn, from, head, f.payload);
    } catch (e) {
      this.dropped(conn, from, e instanceof TunnelError ? e.message : errorMessage(e));
    }
  }

  private drops = { count: 0, loggedAt: 0 };

  /** Log a dropped frame; a stream of them (a stranger's noise) is logged once per 10 s with a count. */
  private dropped(conn: Connection, from: CellId, why: string): void {
    this.drops.count++;
    const now = Date.now();
    if (now - this.drops.loggedAt < 10_000) return;
    log("warn", "relay: frame dropped", { relay: conn.url, from: shortId(from), why, dropped_since_last_log: this.drops.count });
    this.drops = { count: 0, loggedAt: now };
  }

  private responsePart(conn: Connection, from: CellId, head: FrameHead, payload: Uint8Array): void {
    const call = conn.out.get(head.callId);
    if (!call || call.peer !== from) throw new TunnelError("an answer to no call of ours");
    call.parts ??= new Reassembly(head.parts);
    if (call.parts.has(head.part)) return; // a duplicate
    // Opened straight into its place in the answer (no buffer per part, no copy at the end).
    const into = call.parts.place(head.part, head.parts, frameTextBytes(payload, head)) ?? undefined;
    const plain = openFrame(this.opts.suite, call.keys.response, payload, head, into);
    const whole = call.parts.add(head.part, head.parts, plain);
    if (!whole) return;
    conn.out.delete(head.callId);
    clearTimeout(call.timer);
    try {
      call.resolve(decodeResponse(whole));
    } catch (e) {
      call.reject(e as Error);
    }
  }

  private requestPart(conn: Connection, from: CellId, head: FrameHead, payload: Uint8Array): void {
    const key = `${from}:${head.callId}`;
    const eph = toHex(head.ephPublic!);
    let call = conn.incoming.get(key);
    let keys: CallKeys;
    if (!call) {
      // A cell that is not a peer (a joiner, through an open invite) sends one-frame calls only:
      // else a stranger could keep parts of calls that never complete waiting here.
      if (head.parts > 1 && this.opts.peerX25519(from) === null && !this.expected.has(from))
        throw new TunnelError("a cell that is not a peer may only send one-frame calls");
      if (!conn.admitIncoming(from)) throw new TunnelError("too many calls from this cell at once");
      keys = acceptCall(this.keys.x25519Secret, this.keys.x25519Public, head.ephPublic!);
    } else if (call.eph !== eph) throw new TunnelError("a frame of another call under the same number");
    else keys = call.keys;
    // Opened before the call is kept: a frame that does not open leaves nothing behind (else
    // junk frames would fill the sender's slots for INCOMING_TIMEOUT_MS and block its real calls).
    // A call's first frame is opened on its own (a frame that does not open costs no more than
    // itself), then copied into its place; the next ones are opened straight into their places.
    if (call?.parts.has(head.part)) return; // a duplicate
    const before = call ? call.parts.footprint : 0;
    const into = call ? (call.parts.place(head.part, head.parts, frameTextBytes(payload, head)) ?? undefined) : undefined;
    let plain = openFrame(this.opts.suite, keys.request, payload, head, into);
    if (!call) {
      call = { eph, keys, parts: new Reassembly(head.parts), timer: setTimeout(() => conn.dropIncoming(key), INCOMING_TIMEOUT_MS) };
      conn.trackIncoming(key, call);
      const at = call.parts.place(head.part, head.parts, plain.byteLength);
      if (at) plain = (at.set(plain), at);
    }
    let whole: Uint8Array | null;
    try {
      whole = call.parts.add(head.part, head.parts, plain);
    } catch (e) {
      conn.dropIncoming(key);
      throw e;
    }
    conn.addIncomingBytes(call.parts.footprint - before);
    if (!whole) return;
    conn.dropIncoming(key);
    conn.callsIn++;
    void this.answer(conn, from, head.callId, keys, whole).catch((e) =>
      log("warn", "relay: could not answer a call", { from: shortId(from), why: errorMessage(e) }),
    );
  }

  private async answer(conn: Connection, from: CellId, callId: number, keys: CallKeys, message: Uint8Array): Promise<void> {
    let req: Request | TunnelResponse;
    try {
      req = this.toRequest(from, message);
    } catch (e) {
      // The call opened (it is from `from`) but holds no request this cell can read: say so,
      // rather than leave the caller waiting for its timeout.
      req = jsonAnswer(400, `not a peer request this cell can read: ${e instanceof TunnelError ? e.message : errorMessage(e)}`);
    }
    let res: TunnelResponse;
    if (req instanceof Request) {
      const r = await this.opts.serve(req);
      const out: Record<string, string> = {};
      r.headers.forEach((v, k) => void (out[k] = v));
      res = { status: r.status, headers: out, body: new Uint8Array(await r.arrayBuffer()) };
    } else res = req;
    await conn.send(
      from,
      new MessageSealer(this.opts.suite, keys.response, KIND_RESPONSE, callId, [encodeResponse(res)], undefined, ID_BYTES),
    );
    // The call's message (its body put together, up to 17 MiB) was read by the peer API, which
    // has answered: nothing refers to it any more.
    freeBuffer(message);
  }

  /** The call as a request for the peer API, or this cell's refusal; throws when it is malformed. */
  private toRequest(from: CellId, message: Uint8Array): Request | TunnelResponse {
    const req = decodeRequest(message);
    // The path as the app will route it: `..` (or its encodings) must not lead out of /peer/.
    const url = new URL(`http://relay.invalid${req.path}`);
    if (url.host !== "relay.invalid" || !url.pathname.startsWith("/peer/")) {
      return jsonAnswer(404, `only the peer API answers through a relay, not ${url.pathname}`);
    }
    const claimed = req.headers["X-Grove-Cell"] ?? req.headers["x-grove-cell"];
    if (claimed !== from) {
      log("warn", "relay: a call signed by another cell than the relay's sender was refused", { from: shortId(from), path: url.pathname });
      return jsonAnswer(401, "the request is not signed by the cell that sent it through the relay");
    }
    const headers = new Headers(req.headers);
    headers.set("content-length", String(req.body?.byteLength ?? 0));
    const hasBody = req.body !== null && req.method !== "GET" && req.method !== "HEAD";
    // The body as a stream of the message's own bytes: given as a Uint8Array, Bun copies it into
    // new buffers (garbage the size of the body, per call); the peer API reads it into a pooled one.
    const bytes = req.body;
    const body = hasBody && bytes ? new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(bytes), c.close()) }) : null;
    return new Request(url, { method: req.method, headers, body });
  }

  status(): RelayState[] {
    return [...this.conns.values()].map((c) => ({
      url: c.url,
      state: c.state,
      configured: c.configured,
      since: c.since,
      error: c.error,
      calls_out: c.callsOut,
      calls_in: c.callsIn,
      operator: c.operator,
    }));
  }

  /** Bytes each proven operator's relay carried for this cell since the last call (counts restart at zero). */
  takeCarried(): Map<string, number> {
    const all = new ByteTally();
    for (const c of this.conns.values()) all.addAll(c.carried.take());
    return all.take();
  }

  stop(): void {
    clearInterval(this.refreshTimer);
    for (const c of this.conns.values()) c.stop();
  }
}

function jsonAnswer(status: number, error: string): TunnelResponse {
  return { status, headers: { "content-type": "application/json" }, body: new TextEncoder().encode(JSON.stringify({ error })) };
}
