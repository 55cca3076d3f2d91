/**
 * @module message/messenger — end-to-end encrypted messages between paired cells (issue 6):
 * send (stored as queued, then delivered to the peer's best route), receive (idempotent),
 * retry what is queued, list conversations, and tell open pages what changed.
 *
 * On the wire (POST /peer/msg, docs/protocol.md "Messages") each message is sealed to the
 * recipient's X25519 key with HPKE base mode (RFC 9180: DHKEM(X25519, HKDF-SHA256),
 * ChaCha20-Poly1305): every message gets a fresh ephemeral X25519 key, so each has its own key
 * (one that leaks opens no other) and the sender keeps nothing that opens what it sent. It is
 * not forward secret against the recipient: its static X25519 secret opens every message sealed
 * to it. The sender's cell id is the AEAD's additional data and the request is signed by the
 * sender, so a sealed message cannot be passed off as coming from another cell.
 *
 * A message to a peer that cannot be reached stays queued; `retry()` (after each sync round)
 * delivers every queued message whose peer is reachable, and a message arriving from a peer
 * sends that peer ours at once (it is evidently up). A peer's refusal of a message (a 4xx but
 * 401, 404 and 429) makes it failed with the peer's reason; messages to a removed peer fail too.
 */
import { errorMessage, GroveError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { fromHex, type CellId } from "../core/types.ts";
import type { Database } from "bun:sqlite";
import type { PeerDirectory } from "../fleet/peer-directory.ts";
import { callPeerRaw, PeerUnreachableError, refusalText, type PeerCaller } from "../net/peer-client.ts";
import type { Card } from "../protocol/card.ts";
import { MSG_INFO } from "../protocol/labels.ts";
import { checkText, newMessageId, type MessagePayload } from "../protocol/message.ts";
import { sealJson } from "../protocol/sealed-json.ts";
import { MessageStore, type MessageRow } from "./message-store.ts";
import type { Conversation, MessageChange, MessageView } from "./types.ts";
import { shortId } from "../core/format.ts";

/** How long one delivery may take before the message stays queued. */
const DELIVER_TIMEOUT_MS = 10_000;
/** Messages listed per conversation unless asked otherwise, and at most. */
export const DEFAULT_LIMIT = 200;
export const MAX_LIMIT = 5000;
const REMOVED = "the peer was removed from the fleet";

type Listener = (e: MessageChange) => void;

/** What messaging needs of the cell: its database, the peers, and how to call them. */
export interface MessengerDeps {
  db: Database;
  peers: PeerDirectory;
  caller: PeerCaller;
}

export class Messenger {
  readonly store: MessageStore;
  private listeners = new Set<Listener>();
  /** Messages being delivered right now (send and retry never send one twice at once). */
  private inFlight = new Set<string>();
  /** Peers whose queue is being worked through. */
  private draining = new Set<CellId>();
  /** The last local timestamp handed out: `at` is strictly increasing, so order is stable. */
  private lastAt = 0;

  constructor(private deps: MessengerDeps) {
    this.store = new MessageStore(deps.db);
  }

  private get keys() {
    return this.deps.caller.keys;
  }

  private get peers(): PeerDirectory {
    return this.deps.peers;
  }

  private now(): number {
    this.lastAt = Math.max(Date.now(), this.lastAt + 1);
    return this.lastAt;
  }

  /** Be told of every new message and state change; returns the function that stops it. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** How many pages listen (for tests and logs). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  private emit(e: MessageChange): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        log("warn", `message listener failed: ${errorMessage(err)}`);
      }
    }
  }

  private nameOf(peer: string): string {
    return this.peers.get(peer)?.name ?? shortId(peer);
  }

  view(r: MessageRow): MessageView {
    return {
      id: r.id,
      peer: r.peer,
      peer_name: this.nameOf(r.peer),
      direction: r.direction,
      text: r.text,
      sent_at: r.sent_at,
      received_at: r.received_at,
      delivered_at: r.delivered_at,
      read_at: r.read_at,
      state: r.state,
      error: r.error,
    };
  }

  /**
   * A peer by id or unique prefix: a paired cell, or one we still have messages with after it
   * was removed. 404 when neither.
   */
  resolvePeer(idOrPrefix: string): { id: CellId; name: string; paired: boolean } {
    try {
      const p = this.peers.resolve(idOrPrefix);
      return { id: p.id, name: p.name, paired: true };
    } catch (e) {
      if (!(e instanceof GroveError) || e.status !== 404) throw e;
      const q = idOrPrefix.trim().toLowerCase();
      const past = this.store.peersMatching(q);
      if (past.length !== 1) throw e;
      return { id: past[0]!, name: past[0]!.slice(0, 8), paired: false };
    }
  }

  /**
   * Send `text` to `peer` (id or unique prefix): stored as queued, then one delivery try. The
   * answer says whether it was delivered; a queued one says why in `error` and is retried.
   */
  async send(peer: string, rawText: string): Promise<MessageView> {
    const to = this.peers.resolve(peer);
    const text = checkText(rawText);
    const row = this.store.addOut(newMessageId(), to.id, text, this.now());
    log("info", "message queued", { to: shortId(to.id), id: shortId(row.id), chars: text.length });
    this.emit({ kind: "new", peer: to.id, id: row.id });
    // Older messages still queued for this peer go first, so they arrive in order.
    if (this.store.queued(to.id).length > 1 && !this.draining.has(to.id)) await this.drain(to.id);
    else await this.deliver(row);
    return this.view(this.store.get(row.id)!);
  }

  /**
   * One delivery try. Delivered: marked so. Refused by the peer for good (a 4xx but 401, 404
   * and 429): failed with its reason. Otherwise (unreachable, 401 = it does not know us (yet) or
   * the clocks differ, 404 = a cell without messaging, 429, 5xx): stays queued, the reason kept
   * in `error`. Returns true when delivered.
   */
  private async deliver(r: MessageRow): Promise<boolean> {
    if (this.inFlight.has(r.id)) return false;
    this.inFlight.add(r.id);
    try {
      const row = this.peers.get(r.peer);
      if (!row) {
        if (this.store.setFailed(r.id, REMOVED)) this.emit({ kind: "state", peer: r.peer, id: r.id });
        return false;
      }
      const url = this.peers.routeOf(r.peer);
      if (!url) throw new Error(`no address of ${row.name} is known yet: it will be sent once ${row.name} has been seen`);
      const card = JSON.parse(row.card) as Card;
      const payload: MessagePayload = { v: 1, id: r.id, text: r.text, sent_at: r.sent_at };
      const body = await sealJson(fromHex(card.x25519), payload, MSG_INFO, this.keys.id);
      const ans = await callPeerRaw(this.deps.caller, url, r.peer, "POST", "/peer/msg", body, DELIVER_TIMEOUT_MS);
      if (ans.status === 200) {
        if (this.store.setDelivered(r.id, Date.now())) {
          log("info", "message delivered", { to: shortId(r.peer), id: shortId(r.id) });
          this.emit({ kind: "state", peer: r.peer, id: r.id });
        }
        return true;
      }
      const why = `${row.name} refused it: ${refusalText(ans.body)}`;
      if (ans.status >= 400 && ans.status < 500 && ans.status !== 401 && ans.status !== 404 && ans.status !== 429) {
        log("warn", "message refused by the peer", { to: shortId(r.peer), id: shortId(r.id), status: ans.status, why });
        if (this.store.setFailed(r.id, why)) this.emit({ kind: "state", peer: r.peer, id: r.id });
        return false;
      }
      throw new Error(why);
    } catch (e) {
      // What the person reads (chat, `grove msgs`) says what happened and what comes next; the
      // technical reason (address, socket error) goes to the log only.
      const name = this.peers.get(r.peer)?.name ?? shortId(r.peer);
      const why =
        e instanceof PeerUnreachableError
          ? `${name} could not be reached (its cell may be off or offline): it will be sent when it is back`
          : errorMessage(e);
      if (e instanceof PeerUnreachableError)
        log("info", "message not delivered yet", { to: shortId(r.peer), id: shortId(r.id), why: errorMessage(e) });
      this.store.setError(r.id, why);
      this.emit({ kind: "state", peer: r.peer, id: r.id });
      return false;
    } finally {
      this.inFlight.delete(r.id);
    }
  }

  /** Deliver `peer`'s queued messages in order, stopping at the first that does not get through. */
  private async drain(peer: CellId): Promise<number> {
    if (this.draining.has(peer)) return 0;
    this.draining.add(peer);
    let n = 0;
    try {
      for (const r of this.store.queued(peer)) {
        if (!(await this.deliver(r))) {
          if (this.store.get(r.id)?.state === "queued") break; // unreachable: the rest would not get through either
        } else n++;
      }
    } finally {
      this.draining.delete(peer);
    }
    return n;
  }

  /**
   * Deliver every queued message whose peer is reachable (a route answered in the last probe);
   * queued messages to removed peers become failed. Called after each sync round.
   */
  async retry(): Promise<{ delivered: number; failed: number }> {
    const orphans = this.store.failOrphans(REMOVED);
    for (const o of orphans) this.emit({ kind: "state", peer: o.peer, id: o.id });
    const peers = this.store.queuedPeers().filter((p) => this.peers.best(p) !== null);
    const counts = await Promise.all(peers.map((p) => this.drain(p)));
    const delivered = counts.reduce((a, b) => a + b, 0);
    if (delivered || orphans.length) log("info", "queued messages retried", { delivered, failed: orphans.length });
    return { delivered, failed: orphans.length };
  }

  /** Is a message with this id already here (either direction)? */
  has(id: string): boolean {
    return this.store.get(id) !== null;
  }

  /**
   * A message `from` sent us (opened and checked by web/peer-message-api). Stored once: the same
   * id again is a duplicate (the sender retrying after a lost answer). Our queued messages for
   * `from` go out right after.
   */
  receive(from: CellId, m: MessagePayload): { fresh: boolean } {
    const fresh = this.store.addIn(m.id, from, m.text, m.sent_at, this.now());
    if (fresh) {
      log("info", "message received", { from: shortId(from), id: shortId(m.id), chars: m.text.length });
      this.emit({ kind: "new", peer: from, id: m.id });
    }
    if (this.store.queued(from).length) void this.drain(from).catch(() => {});
    return { fresh };
  }

  /** Every paired peer (and removed ones we have messages with): newest conversation first. */
  conversations(): Conversation[] {
    const orphans = this.store.failOrphans(REMOVED);
    for (const o of orphans) this.emit({ kind: "state", peer: o.peer, id: o.id });
    const sums = new Map(this.store.summaries().map((s) => [s.peer, s]));
    const paired = this.peers.list();
    const ids = new Set<CellId>([...paired.map((p) => p.id), ...sums.keys()]);
    const list: (Conversation & { at: number })[] = [...ids].map((id) => {
      const s = sums.get(id);
      const last = s ? this.store.last(id) : null;
      const p = paired.find((x) => x.id === id);
      return {
        peer: id,
        name: p?.name ?? shortId(id),
        paired: p !== undefined,
        last: last ? this.view(last) : null,
        unread: s?.unread ?? 0,
        queued: s?.queued ?? 0,
        failed: s?.failed ?? 0,
        at: s?.last_at ?? 0,
      };
    });
    list.sort((x, y) => y.at - x.at || x.name.localeCompare(y.name) || x.peer.localeCompare(y.peer));
    return list.map(({ at: _at, ...c }) => c);
  }

  /** The newest `limit` messages with `peer` (id or prefix), oldest first; `markRead` marks what it sent us read. */
  conversation(
    peer: string,
    opts: { limit?: number; markRead?: boolean } = {},
  ): { id: CellId; name: string; paired: boolean; messages: MessageView[] } {
    const p = this.resolvePeer(peer);
    const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? DEFAULT_LIMIT)), MAX_LIMIT);
    const rows = this.store.conversation(p.id, limit);
    if (opts.markRead) this.markRead(p.id);
    return { ...p, messages: rows.map((r) => this.view(r)) };
  }

  /** Mark what `peer` sent us read (shown on an open page, or listed). */
  markRead(peer: CellId): void {
    this.store.markRead(peer);
  }
}
