/**
 * @module fleet/fleet — the cell's fleet state in one place: its own card, its peers, the
 * invites it issued, and the verifier for incoming peer requests. Pairing (invite/join) lives
 * here; the HTTP surfaces (web/peer-api, web/api/fleet) only translate.
 */
import { fromHex, type CellId } from "../core/types.ts";
import { badRequest, errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { RequestVerifier } from "../protocol/request-auth.ts";
import { verifyCard, type Card } from "../protocol/card.ts";
import type { Cell } from "../cell/cell.ts";
import { SelfCard } from "./self-card.ts";
import { PeerStore, type PeerRow } from "./peer-store.ts";
import { PeerLink } from "../sync/peer-link.ts";
import { InviteStore } from "./invite-store.ts";
import { decodeToken, encodeToken } from "./invite-token.ts";
import { callPeerRaw, PeerCallError, refusalText } from "./peer-client.ts";
import { openSealed, sealTo } from "../protocol/seal.ts";
import { JOIN_INFO, JOIN_REPLY_INFO } from "../protocol/labels.ts";
import { PeerStats } from "../net/peer-stats.ts";
import type { Route } from "../net/route-score.ts";
import type { MdnsPresence, NearbyCell } from "../net/mdns.ts";
import type { RoundReport } from "./prober.ts";
import type { RecoveryRecord, SyncProgress, SyncReport } from "../sync/round.ts";
import { Sharing } from "../share/sharing.ts";
import { Messenger } from "../message/messenger.ts";
import { isRelayRoute } from "../net/route-class.ts";
import type { RelayLink } from "../relay/relay-client.ts";

/** Runs probe and sync rounds (the sync Worker, see sync/sync-service). */
export interface RoundRunner {
  probe(): Promise<RoundReport>;
  sync(): Promise<SyncReport>;
  readonly running: boolean;
  readonly last: SyncReport | null;
  /** How far the round now running is (null between rounds). */
  readonly progress: SyncProgress | null;
  readonly lastError: string | null;
  /** The round that restored this recovered cell since it started (null: none). */
  readonly recovery?: RecoveryRecord | null;
}

export const DEFAULT_INVITE_TTL_MS = 24 * 3600 * 1000;
export const MAX_INVITE_TTL_MS = 30 * 24 * 3600 * 1000;

export const PEER_ACTIONS = ["friend", "unfriend", "favorite", "unfavorite", "remove"] as const;
export type PeerAction = (typeof PEER_ACTIONS)[number];

export interface JoinRequest {
  secret: string;
  card: unknown;
}



const enc = new TextEncoder();


export class Fleet {
  readonly self: SelfCard;
  readonly peers: PeerStore;
  readonly invites: InviteStore;
  readonly verifier: RequestVerifier;
  /** Route and uptime figures, read-only here: the sync Worker measures and writes them. */
  stats: PeerStats;
  /** Sharing files with friends (grants, feed, revocations). */
  readonly sharing: Sharing;
  /** Messages with peers (sealed end to end; queued while a peer is away). */
  readonly messenger: Messenger;
  /** Set once the sync Worker runs; probe rounds go through it. */
  rounds: RoundRunner | null = null;
  /** Local-network presence (mDNS); null when `mdns` is off. */
  mdns: MdnsPresence | null = null;
  /** This cell on its relays (set by `grove start`); null in a process without one. */
  relay: RelayLink | null = null;
  /** Relay bytes into the bounty ledger (bounty/relay-credit); flushed before rounds and reports. */
  relayCredit: { flush(): void } | null = null;

  constructor(readonly cell: Cell, listen: { host: string; port: number }) {
    this.self = new SelfCard(cell, listen);
    this.peers = new PeerStore(cell.db.db);
    this.invites = new InviteStore(cell.layout.invites);
    this.verifier = new RequestVerifier((id) => (this.peers.get(id) ? fromHex(id) : undefined), Date.now, {
      self: cell.keys.id,
      notBefore: Date.now(),
    });
    this.stats = PeerStats.load(cell.layout);
    this.sharing = new Sharing(this);
    this.messenger = new Messenger(this);
  }

  /** Re-read peer_speeds.json / peer_health.json after the Worker wrote them. */
  reloadStats(): void {
    this.stats = PeerStats.load(this.cell.layout);
  }

  best(peer: CellId): Route | null {
    return this.stats.speeds.best(peer);
  }

  /** Where to reach `peer` now: its best measured route, else its card's first address; null when it is not a peer. */
  routeOf(peer: CellId): string | null {
    const best = this.best(peer);
    if (best?.reachable) return best.url;
    const row = this.peers.get(peer);
    return row ? ((JSON.parse(row.card) as Card).addresses[0] ?? null) : null;
  }

  uptimePct(peer: CellId): number | null {
    return this.stats.health.uptimePct(peer);
  }

  /** A probe round now (through the Worker); a cell without one reports nothing probed. */
  probe(): Promise<RoundReport> {
    return this.rounds ? this.rounds.probe() : Promise.resolve({ peers: this.peers.list().length, reachable: 0, routes_probed: 0, benchmarks: 0, reached: [] });
  }

  /** A new single-use invite token. */
  invite(ttlMs = DEFAULT_INVITE_TTL_MS): { token: string; expires_at: number } {
    if (!Number.isFinite(ttlMs) || ttlMs < 1000 || ttlMs > MAX_INVITE_TTL_MS) throw badRequest("invite ttl must be between 1 s and 30 days");
    const card = this.self.get();
    const { secret, expires_at } = this.invites.issue(ttlMs);
    this.relay?.refreshAccept(); // open to the joiner on our relays
    return { token: encodeToken({ v: 1, id: card.id, x25519: card.x25519, routes: card.addresses, secret, expires_at }), expires_at };
  }

  /**
   * The inviter's side of a join: the joiner's card must verify and match the signer of the
   * request (checked by the caller), the secret must be a live invite. Returns our card.
   */
  acceptJoin(signer: CellId, req: JoinRequest): Card {
    const card = verifyCard(req.card, { expectId: signer });
    if (card.id === this.cell.keys.id) throw badRequest("a cell cannot pair with itself");
    this.invites.redeem(String(req.secret ?? ""), card.id);
    this.peers.upsert(card.id, card.name, JSON.stringify(card));
    this.relay?.refreshAccept();
    log("info", "paired (invite redeemed)", { peer: card.id.slice(0, 8), name: card.name });
    // No probe from this side yet: the joiner stores us only when our answer reaches it, so a
    // ping now would be refused. Its own first round (and our next one) measures the routes.
    return this.self.get();
  }

  /** Cells seen on the local network by mDNS, marked when already paired. */
  nearby(): (NearbyCell & { paired: boolean })[] {
    return (this.mdns?.nearby() ?? []).map((n) => ({ ...n, paired: this.peers.get(n.id) !== null }));
  }

  /** Apply a user's action to the peer named by `idOrPrefix`; returns its id. */
  peerAction(idOrPrefix: string, action: string): CellId {
    if (!(PEER_ACTIONS as readonly string[]).includes(action)) throw badRequest(`unknown action '${action}' (${PEER_ACTIONS.join(", ")})`);
    const p = this.peers.resolve(idOrPrefix);
    if (action === "remove") {
      void this.releaseAll(p); // asked while it is still a peer and answers
      this.peers.remove(p.id); // its route stats go at the next round
      this.cell.placements.dropPeer(p.id); // its copies of our chunks no longer count
    }
    else this.peers.setFlag(p.id, action.endsWith("friend") ? "friend" : "favorite", !action.startsWith("un"));
    if (action === "remove") this.relay?.refreshAccept();
    log("info", `peer ${action}`, { peer: p.id.slice(0, 8) });
    return p.id;
  }

  /**
   * A peer being removed: ask it, once and best effort, to release the copies of our chunks it
   * keeps (else they would sit on its disk for good). One that cannot be reached keeps them.
   */
  private async releaseAll(p: PeerRow): Promise<void> {
    const url = this.routeOf(p.id);
    const hashes = this.cell.placements.on(p.id);
    if (!url || !hashes.length) return;
    try {
      const n = await new PeerLink(this.cell.keys, p.id, url, (JSON.parse(p.card) as Card).x25519).release(hashes);
      log("info", "removed peer released our chunks", { peer: p.id.slice(0, 8), released: n, asked: hashes.length });
    } catch (e) {
      log("warn", `removed peer ${p.id.slice(0, 8)} was not asked to release our chunks: ${errorMessage(e)}`);
    }
  }

  /** The joiner's side: redeem `token` at the inviter (trying each of its routes), store its card. */
  async join(tokenText: string): Promise<Card> {
    const token = decodeToken(tokenText);
    if (token.id === this.cell.keys.id) throw badRequest("this token was made by this cell: run `grove join` on the other one");
    if (token.expires_at <= Date.now()) throw badRequest("this invite has expired: ask for a new one");
    const errors: string[] = [];
    // Direct routes first; a relay route is the fallback (and needs the inviter accepted there).
    const routes = [...token.routes.filter((r) => !isRelayRoute(r)), ...token.routes.filter(isRelayRoute)];
    for (const route of routes) {
      try {
        if (isRelayRoute(route)) this.relay?.expect(token.id, token.x25519);
        // The secret and our card travel sealed to the inviter's X25519 key from the token; its
        // card comes back sealed to ours. The request and the answer are signed as always.
        const body = await sealTo(fromHex(token.x25519), enc.encode(JSON.stringify({ secret: token.secret, card: this.self.get() })), JOIN_INFO, this.cell.keys.id);
        const ans = await callPeerRaw(this.cell.keys, route, token.id, "POST", "/peer/join", body);
        // A signed refusal from the inviting cell itself (no open invite, used, expired, unknown) is final.
        if (ans.status !== 200) throw new PeerCallError(`cell ${token.id.slice(0, 8)} refused: ${refusalText(ans.body)}`, ans.status === 401 || ans.status === 404 ? 401 : 502);
        const reply = await openSealed(this.cell.keys.x25519Secret, this.cell.keys.x25519Public, ans.body, JOIN_REPLY_INFO, token.id);
        const card = verifyCard(JSON.parse(new TextDecoder().decode(reply)).card, { expectId: token.id });
        this.peers.upsert(card.id, card.name, JSON.stringify(card));
        this.relay?.refreshAccept();
        log("info", "joined", { peer: card.id.slice(0, 8), name: card.name, route, latency_ms: Math.round(ans.latency_ms) });
        void this.probe().catch(() => {}); // measure the new peer's routes right away
        return card;
      } catch (e) {
        // A refusal from the right cell (used/expired/unknown invite) is final; a dead route is not.
        if (e instanceof PeerCallError && e.status === 401) throw badRequest(e.message);
        errors.push(`${route}: ${(e as Error).message}`);
      }
    }
    throw new PeerCallError(`could not reach the inviting cell on any of its routes (${errors.join("; ")})`);
  }
}
