/**
 * @module fleet/friendship — friendship as a request the other cell accepts (docs/protocol.md
 * "Friendship"): the user's side (request, accept, end), telling the other cell (POST
 * /peer/friend, again after each sync round until it answers), and the other cell's notices.
 *
 * Each side keeps its own state for the other (fleet/peer-store `Friendship`); the answer to a
 * notice carries the recipient's new state, and the sender takes its mirror
 * (protocol/friendship), so the two agree once a notice got through. `friend` — this cell
 * shares with that one, takes its grants, answers its AI questions, exempts it from the bounty
 * — is set only in "friends". A peer on a build from before friend requests answers 404: a
 * request then sets `friend` here alone, the old one-sided flag, and that cell must mark this
 * one friend on its own side.
 */
import { errorMessage, conflict } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { fromHex, type CellId } from "../core/types.ts";
import { callPeerRaw, PeerUnreachableError, refusalText, type PeerCaller } from "../net/peer-client.ts";
import type { Card } from "../protocol/card.ts";
import { FRIEND_INFO } from "../protocol/labels.ts";
import { mirror, parseReply, receivedState } from "../protocol/friendship.ts";
import { openJson, sealJson } from "../protocol/sealed-json.ts";
import type { PeerDirectory } from "./peer-directory.ts";
import type { FriendNotice, Friendship, PeerRow, PeerStore } from "./peer-store.ts";
import { shortId } from "../core/format.ts";

/** How long one notice may take on one route. */
const TELL_TIMEOUT_MS = 10_000;
/** Routes tried per notice, best first. */
const MAX_ROUTES = 3;

/** What became of telling the other cell about a friendship change. */
export interface FriendshipTold {
  /** It heard of it now (and answered with its own state, which this cell mirrored). */
  delivered: boolean;
  /** It answered 404: its build predates friend requests (a request set `friend` here only). */
  old_build: boolean;
  /** Why it did not hear of it (the notice is sent again after each sync round), else null. */
  error: string | null;
}

/** What friendships need: the peers table (written), the routes to each peer, and how to call one. */
export interface FriendshipDeps {
  store: PeerStore;
  peers: Pick<PeerDirectory, "routes">;
  caller: PeerCaller;
}

const short = (p: Pick<PeerRow, "id" | "name">) => `${p.name} (${shortId(p.id)})`;

export class Friendships {
  /** The notice being sent to each peer: a new one waits for it (never two at once to one cell). */
  private sending = new Map<CellId, Promise<FriendshipTold | null>>();

  constructor(private readonly deps: FriendshipDeps) {}

  private row(id: CellId): PeerRow {
    const p = this.deps.store.get(id);
    if (!p) throw conflict(`cell ${shortId(id)} is not a peer`);
    return p;
  }

  private set(p: PeerRow, state: Friendship, notice: FriendNotice | null, why: string): void {
    this.deps.store.setFriendship(p.id, state, notice);
    if (state !== p.friendship) log("info", `friendship: ${why}`, { peer: shortId(p.id), was: p.friendship, now: state });
  }

  /**
   * The user asks `id` to be friends: "requested" until it accepts. When it had asked this cell,
   * this accepts: "friends" at once. Asking again (requested or friends) sends the request again,
   * which also mends a friendship the other side no longer has.
   */
  request(id: CellId): PeerRow {
    const p = this.row(id);
    const next: Friendship = p.friendship === "asked" || p.friendship === "friends" ? "friends" : "requested";
    this.set(p, next, "request", next === "friends" ? "accepted" : "requested");
    return this.row(id);
  }

  /** The user accepts the request `id` sent: "friends". 409 when it has not asked (friends already: nothing changes). */
  accept(id: CellId): PeerRow {
    const p = this.row(id);
    if (p.friendship === "friends") return p;
    if (p.friendship !== "asked") {
      const mine =
        p.friendship === "requested"
          ? ": this cell asked it, and it accepts on its side"
          : `: \`grove peers friend ${shortId(p.id)}\` asks it`;
      throw conflict(`${short(p)} has not asked to be friends${mine}`);
    }
    return this.request(id);
  }

  /** The user ends the friendship with `id`, withdraws a request or declines one: "none", and `id` is told. */
  end(id: CellId): PeerRow {
    const p = this.row(id);
    this.set(p, "none", "end", p.friendship === "asked" ? "declined" : p.friendship === "requested" ? "request withdrawn" : "ended");
    return this.row(id);
  }

  /**
   * A notice from `from` (its request or its end), already opened and checked: the new state
   * (protocol/friendship `receivedState`), which the answer carries. A notice this cell still
   * owed `from` is dropped: the answer tells it where things stand.
   */
  receive(from: CellId, kind: FriendNotice): Friendship {
    const p = this.row(from);
    const next = receivedState(p.friendship, kind);
    const why =
      next === "asked"
        ? `${short(p)} asks to be friends (accept: grove peers accept ${shortId(p.id)})`
        : next === "friends"
          ? `${short(p)} accepted`
          : `${short(p)} ended it`;
    this.set(p, next, null, why);
    return next;
  }

  /** Tell `id` the change this cell owes it, now (after a notice already on its way to it). Null when nothing is owed. */
  tell(id: CellId): Promise<FriendshipTold | null> {
    const prev = this.sending.get(id) ?? Promise.resolve(null);
    const next = prev
      .then(() => this.send(id))
      .catch((e) => {
        log("warn", `friendship notice failed: ${errorMessage(e)}`, { peer: shortId(id) });
        return { delivered: false, old_build: false, error: errorMessage(e) };
      });
    this.sending.set(id, next);
    const done = () => {
      if (this.sending.get(id) === next) this.sending.delete(id);
    };
    void next.then(done, done);
    return next;
  }

  /** Tell every peer owed a notice (after each sync round; the grants wait for this). */
  async retry(): Promise<void> {
    await Promise.allSettled(this.deps.store.withNotice().map((p) => this.tell(p.id)));
  }

  /** One try: each route in turn until one answers. Never throws: what happened is the answer. */
  private async send(id: CellId): Promise<FriendshipTold | null> {
    const p = this.deps.store.get(id);
    if (!p?.friend_notice) return null;
    const kind = p.friend_notice;
    const { keys } = this.deps.caller;
    const notTold = (error: string): FriendshipTold => {
      log("warn", "friendship notice not delivered yet (sent again after each sync round)", { peer: shortId(id), kind, why: error });
      return { delivered: false, old_build: false, error };
    };
    let body: Uint8Array;
    try {
      body = await sealJson(fromHex((JSON.parse(p.card) as Card).x25519), { v: 1, kind }, FRIEND_INFO, keys.id);
    } catch (e) {
      return notTold(errorMessage(e));
    }
    const unreachable: string[] = [];
    for (const url of this.deps.peers.routes(id).slice(0, MAX_ROUTES)) {
      try {
        const ans = await callPeerRaw(this.deps.caller, url, id, "POST", "/peer/friend", body, TELL_TIMEOUT_MS);
        if (ans.status === 404) return this.oldBuild(p, kind);
        if (ans.status !== 200) return notTold(`it refused: ${refusalText(ans.body)}`);
        const theirs = parseReply(await openJson(keys, ans.body, `${FRIEND_INFO}/reply`, id)).friendship;
        this.adopt(p, kind, theirs);
        return { delivered: true, old_build: false, error: null };
      } catch (e) {
        if (e instanceof PeerUnreachableError) unreachable.push(errorMessage(e));
        else return notTold(`its answer was not usable: ${errorMessage(e)}`);
      }
    }
    return notTold(unreachable.length ? `could not be reached: ${unreachable.join("; ")}` : "no route to it");
  }

  /** True when the row still owes the notice that was sent (the user changed nothing while it travelled). */
  private unchanged(p: PeerRow, kind: FriendNotice): PeerRow | null {
    const now = this.deps.store.get(p.id);
    return now && now.friend_notice === kind && now.friendship_at === p.friendship_at && now.friendship === p.friendship ? now : null;
  }

  /** The answer carries the other side's state: take its mirror. A change made meanwhile is told next instead. */
  private adopt(p: PeerRow, kind: FriendNotice, theirs: Friendship): void {
    const now = this.unchanged(p, kind);
    if (!now) return;
    const mine = kind === "end" ? "none" : mirror(theirs);
    this.set(
      now,
      mine,
      null,
      mine === "friends"
        ? `${short(p)} is a friend`
        : mine === "requested"
          ? `${short(p)} has not accepted yet`
          : `${short(p)} is not a friend`,
    );
  }

  /** 404: a build from before friend requests. A request sets the old one-sided `friend` flag; an end needs nothing more. */
  private oldBuild(p: PeerRow, kind: FriendNotice): FriendshipTold {
    const now = this.unchanged(p, kind);
    if (now) this.set(now, kind === "request" ? "friends" : "none", null, `${short(p)} predates friend requests: marked here only`);
    const error =
      kind === "request"
        ? `${short(p)} runs a build from before friend requests: it is marked friend here only, and it must mark this cell friend on its side too (grove peers friend ${shortId(this.deps.caller.keys.id)}) before it takes your files`
        : `${short(p)} runs a build from before friend requests: it keeps its own flag`;
    log("info", "friendship notice: the peer's build predates friend requests", { peer: shortId(p.id), kind });
    return { delivered: false, old_build: true, error };
  }
}
