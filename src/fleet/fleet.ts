/**
 * @module fleet/fleet — pairing and the user's actions on peers: invites issued, joining another
 * cell's invite, taking a join, friend/accept/unfriend (fleet/friendship), favorite, remove.
 * Reading the peers (cards, routes) is fleet/peer-directory; the HTTP surfaces (web/peer-api,
 * web/api/fleet) only translate.
 */
import { fromHex, type CellId } from "../core/types.ts";
import { badRequest, forbidden } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { verifyCard, type Card } from "../protocol/card.ts";
import type { SelfCard } from "./self-card.ts";
import type { PeerRow, PeerStore } from "./peer-store.ts";
import type { InviteKind, InviteStore } from "./invite-store.ts";
import { decodeToken, encodeToken } from "./invite-token.ts";
import { callPeerRaw, PeerCallError, refusalText, type PeerCaller } from "../net/peer-client.ts";
import { openSealed, sealTo } from "../protocol/seal.ts";
import { JOIN_INFO, JOIN_REPLY_INFO } from "../protocol/labels.ts";
import { isRelayRoute } from "../net/route-class.ts";
import type { Placements } from "../store/placements.ts";
import type { Friendships, FriendshipTold } from "./friendship.ts";
import { shortId } from "../core/format.ts";
import { randomBytes } from "node:crypto";
import { KeyRingSchema, type KeyRing, type KeyRingData } from "../crypto/key-ring.ts";
import { checkVouch, HelloSchema, makeVouch, ringHoldsWords, wordsIdentity } from "./words-join.ts";

export const DEFAULT_INVITE_TTL_MS = 24 * 3600 * 1000;
export const MAX_INVITE_TTL_MS = 30 * 24 * 3600 * 1000;

export const PEER_ACTIONS = ["friend", "accept", "unfriend", "favorite", "unfavorite", "remove"] as const;
export type PeerAction = (typeof PEER_ACTIONS)[number];

/** The actions that change a friendship, which the other cell is told of. */
const FRIENDSHIP_ACTIONS: readonly string[] = ["friend", "accept", "unfriend"];

export interface JoinRequest {
  secret: string;
  card: unknown;
  /** A cell joining as mine: its own file keys (crypto/key-ring), for its files from before the join. */
  keys?: unknown;
}

/** The file keys my cells share (crypto/key-ring), and how to keep them. */
export interface MyKeys {
  ring: KeyRing;
  /** Write the ring to GROVE_DIR (cell/state-dir). */
  save(): void;
  /**
   * The ring or my cells changed (a cell of mine joined or was removed): tell my other cells now;
   * not `joining`, the cell whose join is being answered (it has our keys in the answer, and does
   * not know us until it has it: a poke then is refused).
   */
  changed(joining?: CellId): void;
}

/** What the inviter answers a join: its card, and for a cell of mine the file keys. */
export interface JoinAnswer {
  card: Card;
  keys?: KeyRingData;
}

/** What the relays need to hear of pairing (relay/relay-client). */
export interface RelayAccept {
  /** About to join `peer` through a relay: accept its frames, and seal to this key. */
  expect(peer: CellId, x25519Hex: string): void;
  /** The fleet or the invites changed: tell the relays whom to accept. */
  refreshAccept(): void;
}

/** What pairing needs. */
export interface FleetDeps {
  caller: PeerCaller;
  self: SelfCard;
  peers: PeerStore;
  invites: InviteStore;
  /** Where our chunks are: a removed peer's copies stop counting. */
  placements: Placements;
  /** Friend requests, acceptances and ends, and telling the other cell. */
  friends: Friendships;
  relay: RelayAccept | null;
  /** The file keys handed to (and taken from) a cell that joins as mine. */
  keys: MyKeys;
  /** This cell joined a peer: measure its routes now. */
  paired(peer: CellId): void;
  /** A peer is being removed: ask it, best effort, to release the copies of our chunks it keeps. */
  release(peer: PeerRow): Promise<void>;
}

const enc = new TextEncoder();

export class Fleet {
  constructor(private readonly deps: FleetDeps) {}

  get self(): SelfCard {
    return this.deps.self;
  }

  get invites(): InviteStore {
    return this.deps.invites;
  }

  get friends(): Friendships {
    return this.deps.friends;
  }

  /** A new single-use invite token; `mine`: for another of my own cells, which will receive the file keys. */
  invite(ttlMs = DEFAULT_INVITE_TTL_MS, opts: { mine?: boolean } = {}): { token: string; expires_at: number; kind: InviteKind } {
    if (!Number.isFinite(ttlMs) || ttlMs < 1000 || ttlMs > MAX_INVITE_TTL_MS)
      throw badRequest("invite ttl must be between 1 s and 30 days");
    const card = this.self.get();
    const kind: InviteKind = opts.mine ? "mine" : "peer";
    const { secret, expires_at } = this.invites.issue(ttlMs, kind);
    this.deps.relay?.refreshAccept(); // open to the joiner on our relays
    const token = encodeToken({
      v: 1,
      id: card.id,
      x25519: card.x25519,
      routes: card.addresses,
      secret,
      expires_at,
      ...(opts.mine ? { kind: "mine" as const } : {}),
    });
    return { token, expires_at, kind };
  }

  /**
   * The inviter's side of a join: the joiner's card must verify and match the signer of the
   * request (checked by the caller), the secret must be a live invite. Returns our card, and for
   * an invite made with --mine the file keys (the caller seals the answer to the joiner's key).
   * Keys a joiner sends are taken only with a --mine invite: a peer's are ignored.
   */
  acceptJoin(signer: CellId, req: JoinRequest): JoinAnswer {
    const card = verifyCard(req.card, { expectId: signer });
    if (card.id === this.deps.caller.keys.id) throw badRequest("a cell cannot pair with itself");
    const kind = this.invites.redeem(String(req.secret ?? ""), card.id);
    if (kind === "mine") return this.pairMine(card, req.keys, "invite --mine redeemed");
    // A cell of mine back from its words (`grove recover`) with any invite: it signed with its own
    // key, which only those words give, so it is mine again and takes the keys and the tree.
    if (this.deps.peers.get(card.id)?.mine) return this.pairMine(card, req.keys, "recovered from its words");
    this.deps.peers.upsert(card.id, card.name, JSON.stringify(card));
    this.deps.relay?.refreshAccept();
    log("info", "paired (invite redeemed)", { peer: shortId(card.id), name: card.name });
    // No probe from this side yet: the joiner stores us only when our answer reaches it, so a
    // ping now would be refused. Its own first round (and our next one) measures the routes.
    return { card: this.self.get() };
  }

  /**
   * The asked cell's side of a join with the words (fleet/words-join): the vouch must be signed by
   * this cell or one of my cells, none of them removed; then the joiner is one of mine, as with an
   * invite made with --mine.
   */
  acceptWordsJoin(signer: CellId, req: { card: unknown; keys?: unknown; vouch: unknown }): JoinAnswer {
    const card = verifyCard(req.card, { expectId: signer });
    const self = this.deps.caller.keys.id;
    if (card.id === self) throw badRequest("a cell cannot pair with itself");
    const by = checkVouch(req.vouch, card.id, self);
    if (this.deps.keys.ring.removed.includes(by))
      throw forbidden("these words are of a cell that was removed from your cells: they no longer admit a new one");
    if (by !== self && !this.deps.peers.get(by)?.mine)
      throw forbidden("these words are not of this cell nor of one of its cells: ask one of your own cells");
    return this.pairMine(card, req.keys, `with the words of ${by === self ? "this cell" : shortId(by)}`);
  }

  /** Pair with `card` as one of my cells: keep its keys, hand it ours (sealed by the caller), and tell my other cells. */
  private pairMine(card: Card, theirKeys: unknown, how: string): JoinAnswer {
    const { keys, peers } = this.deps;
    if (keys.ring.removed.includes(card.id))
      throw badRequest("this cell was removed from your cells: to join again, start it anew (an empty GROVE_DIR), then join");
    peers.upsert(card.id, card.name, JSON.stringify(card));
    peers.setFlag(card.id, "mine", true);
    if (theirKeys !== undefined) {
      try {
        keys.ring.merge(theirKeys);
        keys.save();
      } catch (e) {
        log("warn", "a cell joining as mine sent keys that do not parse: its files from before the join stay closed here", {
          peer: shortId(card.id),
          error: (e as Error).message,
        });
      }
    }
    keys.changed(card.id); // my other cells take the new cell's card with the ring, and pair with it
    this.deps.relay?.refreshAccept();
    log("info", `paired with another of my cells (${how})`, { peer: shortId(card.id), name: card.name });
    return { card: this.self.get(), keys: keys.ring.toJSON() };
  }

  /**
   * Apply a user's action to the peer named by `idOrPrefix`; returns its id. A friendship change
   * is told to the other cell in the background (`act` waits for it).
   */
  peerAction(idOrPrefix: string, action: string): CellId {
    const id = this.apply(idOrPrefix, action);
    if (FRIENDSHIP_ACTIONS.includes(action)) void this.deps.friends.tell(id);
    return id;
  }

  /** `peerAction`, waiting for the other cell to hear of a friendship change: what became of it (null for other actions). */
  async act(idOrPrefix: string, action: string): Promise<{ id: CellId; told: FriendshipTold | null }> {
    const id = this.apply(idOrPrefix, action);
    return { id, told: FRIENDSHIP_ACTIONS.includes(action) ? await this.deps.friends.tell(id) : null };
  }

  private apply(idOrPrefix: string, action: string): CellId {
    if (!(PEER_ACTIONS as readonly string[]).includes(action)) throw badRequest(`unknown action '${action}' (${PEER_ACTIONS.join(", ")})`);
    const { peers, friends } = this.deps;
    const p = peers.resolve(idOrPrefix);
    if (action === "remove") {
      if (p.mine) {
        // A cell of mine (lost, stolen, retired): files stored from now on use a key it never had.
        this.deps.keys.ring.rotate(new Uint8Array(randomBytes(32)), p.id);
        this.deps.keys.save();
        this.deps.keys.changed();
        log("warn", "removed one of my cells: new files use a new key; my other cells refuse it", { peer: shortId(p.id), name: p.name });
      }
      void this.deps.release(p); // asked while it is still a peer and answers
      peers.remove(p.id); // its route stats go at the next round
      this.deps.placements.dropPeer(p.id); // its copies of our chunks no longer count
      this.deps.relay?.refreshAccept();
    } else if (action === "friend") friends.request(p.id);
    else if (action === "accept") friends.accept(p.id);
    else if (action === "unfriend") friends.end(p.id);
    else peers.setFlag(p.id, "favorite", action === "favorite");
    log("info", `peer ${action}`, { peer: shortId(p.id) });
    return p.id;
  }

  /** The joiner's side: redeem `token` at the inviter (trying each of its routes), store its card. */
  async join(tokenText: string): Promise<Card> {
    const token = decodeToken(tokenText);
    const { keys } = this.deps.caller;
    if (token.id === keys.id) throw badRequest("this invite was made by this cell: use it on the other cell, to join this one from there");
    if (token.expires_at <= Date.now()) throw badRequest("this invite has expired: ask for a new one");
    const errors: string[] = [];
    // Direct routes first; a relay route is the fallback (and needs the inviter accepted there).
    const routes = [...token.routes.filter((r) => !isRelayRoute(r)), ...token.routes.filter(isRelayRoute)];
    for (const route of routes) {
      try {
        if (isRelayRoute(route)) this.deps.relay?.expect(token.id, token.x25519);
        // The secret and our card travel sealed to the inviter's X25519 key from the token; its
        // card comes back sealed to ours. The request and the answer are signed as always.
        const body = await sealTo(
          fromHex(token.x25519),
          enc.encode(
            JSON.stringify({
              secret: token.secret,
              card: this.self.get(),
              ...(token.kind === "mine" ? { keys: this.deps.keys.ring.toJSON() } : {}),
            }),
          ),
          JOIN_INFO,
          keys.id,
        );
        const ans = await callPeerRaw(this.deps.caller, route, token.id, "POST", "/peer/join", body);
        // A signed refusal from the inviting cell itself (no open invite, used, expired, unknown) is final.
        if (ans.status !== 200)
          throw new PeerCallError(
            `cell ${shortId(token.id)} refused: ${refusalText(ans.body)}`,
            ans.status === 401 || ans.status === 404 ? 401 : 502,
          );
        const reply = await openSealed(keys.x25519Secret, keys.x25519Public, ans.body, JOIN_REPLY_INFO, token.id);
        const answer = JSON.parse(new TextDecoder().decode(reply)) as { card?: unknown; keys?: unknown };
        const card = verifyCard(answer.card, { expectId: token.id });
        // With a plain invite, the keys come back only to a recovered cell of mine; they are taken
        // when they prove it: the inviter's ring holds this cell's own master key.
        const ring = KeyRingSchema.safeParse(answer.keys);
        const mine = token.kind === "mine" || (ring.success && ringHoldsWords(ring.data, { ...keys, id: keys.id }));
        if (token.kind === "mine" && answer.keys === undefined)
          throw new PeerCallError(
            `cell ${shortId(token.id)} did not send the file keys: it runs a Grove without "my cells"; update it`,
            401,
          );
        this.deps.peers.upsert(card.id, card.name, JSON.stringify(card));
        if (mine) {
          // From now on this cell seals its new files under the owner's current key, and opens theirs.
          this.deps.keys.ring.merge(answer.keys, true);
          this.deps.keys.save();
          this.deps.peers.setFlag(card.id, "mine", true);
        }
        this.deps.relay?.refreshAccept();
        log("info", mine ? "joined as one of my cells" : "joined", {
          peer: shortId(card.id),
          name: card.name,
          route,
          latency_ms: Math.round(ans.latency_ms),
        });
        this.deps.paired(card.id); // measure the new peer's routes right away
        return card;
      } catch (e) {
        // A refusal from the right cell (used/expired/unknown invite) is final; a dead route is not.
        if (e instanceof PeerCallError && e.status === 401) throw badRequest(e.message);
        errors.push(`${route}: ${(e as Error).message}`);
      }
    }
    throw new PeerCallError(`could not reach the inviting cell on any of its routes (${errors.join("; ")})`);
  }

  /**
   * Join my cells with the 24 words of one of them (fleet/words-join): ask the cell at `address`
   * who it is, send it our card and keys with the words' vouch (sealed to it), and take its answer
   * only when its key ring proves it is one of the cells whose words these are.
   */
  async joinWithWords(address: string, phrase: string): Promise<Card> {
    let words: ReturnType<typeof wordsIdentity>;
    try {
      words = wordsIdentity(phrase);
    } catch (e) {
      throw badRequest(`the recovery phrase: ${(e as Error).message}`);
    }
    const { keys } = this.deps.caller;
    if (words.id === keys.id) throw badRequest("these are this cell's own words: give the words of another of your cells");
    const url = address.replace(/\/+$/, "");
    if (!/^https?:\/\/[^/\s]+$/.test(url)) throw badRequest(`'${address}' is not a cell's address: give it as http://HOST:PORT`);
    let hello: { id: string; x25519: string };
    try {
      const r = await fetch(`${url}/peer/hello`, { signal: AbortSignal.timeout(10_000) });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      hello = HelloSchema.parse(await r.json());
    } catch (e) {
      throw new PeerCallError(`no Grove cell answered at ${url} (${(e as Error).message}): check the address, and that the cell runs`);
    }
    if (hello.id === keys.id) throw badRequest(`${url} is this cell: give the address of another of your cells`);
    const target = hello.id as CellId;
    const body = await sealTo(
      fromHex(hello.x25519),
      enc.encode(JSON.stringify({ card: this.self.get(), keys: this.deps.keys.ring.toJSON(), vouch: makeVouch(words, keys.id, target) })),
      JOIN_INFO,
      keys.id,
    );
    const ans = await callPeerRaw(this.deps.caller, url, target, "POST", "/peer/join/words", body);
    if (ans.status !== 200) throw badRequest(`the cell at ${url} refused: ${refusalText(ans.body)}`);
    const reply = await openSealed(keys.x25519Secret, keys.x25519Public, ans.body, JOIN_REPLY_INFO, target);
    const answer = JSON.parse(new TextDecoder().decode(reply)) as { card?: unknown; keys?: unknown };
    const card = verifyCard(answer.card, { expectId: target });
    const ring = KeyRingSchema.safeParse(answer.keys);
    if (!ringHoldsWords(ring.success ? ring.data : undefined, words))
      throw badRequest(`the cell at ${url} is not one of the cells these words belong to: nothing was kept`);
    this.deps.peers.upsert(card.id, card.name, JSON.stringify(card));
    this.deps.keys.ring.merge(answer.keys, true);
    this.deps.keys.save();
    this.deps.peers.setFlag(card.id, "mine", true);
    this.deps.relay?.refreshAccept();
    log("info", "joined as one of my cells, with the words", { peer: shortId(card.id), name: card.name, route: url });
    this.deps.paired(card.id);
    return card;
  }
}
