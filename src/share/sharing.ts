/**
 * @module share/sharing — sharing files with friends (docs/design.md: Sharing): make a grant and its
 * fetch pass, deliver them sealed to the recipient, list what we shared and received, revoke
 * (and tell the recipient and our peers), and open a received file by fetching its chunks from
 * the sharer or any peer holding them (share/fetch-file).
 *
 * Only a friend (a friendship both sides accepted, fleet/friendship) gets a grant: anything else
 * is refused before a grant is made. A grant is delivered at once; one the friend cannot take
 * now (offline, unreachable, busy) is kept and sent again after each sync round, and one the
 * friend refuses is dropped: nothing is shared, and the refusal is the answer.
 */
import { join } from "node:path";
import { badRequest, forbidden, GroveError, errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { replaceUnsafe } from "../core/unsafe-text.ts";
import { fromHex, type CellId, type ManifestHash } from "../core/types.ts";
import type { Cell } from "../cell/cell.ts";
import type { PeerDirectory } from "../fleet/peer-directory.ts";
import type { Friendships } from "../fleet/friendship.ts";
import type { PeerRow } from "../fleet/peer-store.ts";
import { callPeer, callPeerRaw, PeerUnreachableError, refusalText, type PeerCaller } from "../net/peer-client.ts";
import type { Card } from "../protocol/card.ts";
import {
  MIME_RE,
  isExpired,
  makeGrant,
  makeRevocation,
  openFileKey,
  type FetchPass,
  type Grant,
  type Revocation,
} from "../protocol/grant.ts";
import { sealJson } from "../protocol/sealed-json.ts";
import { SHARE_INFO } from "../protocol/labels.ts";
import { readManifest, type Manifest } from "../store/manifest.ts";
import { GrantStore, type GrantRow } from "./grant-store.ts";
import { fetchFile } from "./fetch-file.ts";
import type { FeedItem, ShareView, SharingService } from "./types.ts";
import { shortId } from "../core/format.ts";

/** How long `revoke` waits for peers to confirm before answering (the rest continue). */
const REVOKE_WAIT_MS = 2000;

/** Longest expiry a grant may have (a year); none = no expiry. */
export const MAX_EXPIRY_S = 366 * 86400;

/** What sharing needs: the cell's store, manifests and keys, the peers, and how to call them. */
export interface SharingDeps {
  cell: Pick<Cell, "db" | "layout" | "suite" | "vault">;
  peers: PeerDirectory;
  caller: PeerCaller;
  /** Friendship notices still owed to a friend go before a grant (it takes grants from friends only). */
  friends?: Pick<Friendships, "tell">;
}

/** A recipient's answer that sending again will not change (a 4xx but 401, 404, 408 and 429). */
class GrantRefused extends GroveError {}

/**
 * Why `to` cannot be given a grant (a 400 naming where the friendship stands), or null when it
 * is a friend. `self` is this cell's id, for the command the other side would run.
 */
export function notFriendReason(to: Pick<PeerRow, "id" | "name" | "friendship">, self: string): string | null {
  const who = `${to.name} (${shortId(to.id)})`;
  switch (to.friendship) {
    case "friends":
      return null;
    case "requested":
      return `${who} is not a friend yet: friendship requested and not yet accepted (it accepts with \`grove peers accept ${shortId(self)}\` on that cell; share again then). Nothing was shared`;
    case "asked":
      return `${who} is not a friend yet: it asked to be friends and this cell has not accepted (accept with \`grove peers accept ${shortId(to.id)}\`, then share again). Nothing was shared`;
    default:
      return `${who} is not a friend: send a friend request with \`grove peers friend ${shortId(to.id)}\`; files can be shared once it accepts. Nothing was shared`;
  }
}

export class Sharing implements SharingService {
  readonly store: GrantStore;

  private readonly cell: SharingDeps["cell"];
  private readonly peers: PeerDirectory;

  constructor(private deps: SharingDeps) {
    this.cell = deps.cell;
    this.peers = deps.peers;
    this.store = new GrantStore(deps.cell.db.db, deps.cell.layout.grants);
  }

  private get keys() {
    return this.deps.caller.keys;
  }

  private nameOf(id: string): string {
    return this.peers.get(id)?.name ?? shortId(id);
  }

  private shareView(r: GrantRow): ShareView {
    return {
      id: r.id,
      path: r.path ?? r.filename,
      filename: r.filename,
      file_type: r.file_type,
      size: r.size,
      to: r.peer,
      to_name: this.nameOf(r.peer),
      granted_at: r.granted_at,
      expires_at: r.expires_at,
      state: r.revoked_at !== null ? "revoked" : isExpired(r) ? "expired" : "active",
      delivered: r.delivered === 1,
    };
  }

  private feedView(r: GrantRow): FeedItem {
    return {
      id: r.id,
      from: r.peer,
      from_name: this.nameOf(r.peer),
      filename: r.filename,
      file_type: r.file_type,
      size: r.size,
      granted_at: r.granted_at,
      expires_at: r.expires_at,
      received_at: r.received_at ?? r.granted_at,
      state: r.revoked_at !== null ? "revoked" : isExpired(r) ? "expired" : "available",
    };
  }

  async share(path: string, peer: string, expiresInS?: number): Promise<ShareView> {
    const { cell } = this;
    const to = this.peers.resolve(peer);
    const notFriend = notFriendReason(to, this.keys.id);
    if (notFriend) throw badRequest(notFriend);
    if (expiresInS !== undefined && (!Number.isInteger(expiresInS) || expiresInS < 1 || expiresInS > MAX_EXPIRY_S))
      throw badRequest(`expiry must be 1 s to ${MAX_EXPIRY_S / 86400} days`);
    const cur = cell.db.current(path);
    if (!cur) throw new GroveError(`no file at '${path}'`, 404, "not_found");
    const row = cell.db.manifest(cur.manifest_hash)!;
    const manifest = readManifest(cell.layout.manifests, row.manifest_file);
    const guessed = Bun.file(join(cell.layout.home, path)).type;
    const type = guessed && MIME_RE.test(guessed) ? guessed : "application/octet-stream";
    const { grant, pass, id } = await makeGrant({
      creatorSecret: this.keys.ed25519Secret,
      creator: this.keys.id,
      recipient: to.id,
      recipientX25519: fromHex((JSON.parse(to.card) as Card).x25519),
      manifestHash: cur.manifest_hash as ManifestHash,
      fileKey: cell.vault.keys.fileKeyOrThrow(manifest),
      chunks: manifest.chunks.map((c) => c.hash),
      // A friend's cell refuses a name with control or invisible characters (a file here may have one): "_" instead.
      filename: replaceUnsafe(manifest.filename),
      fileType: type.slice(0, 127),
      totalSize: manifest.total_size,
      expiresAt: expiresInS === undefined ? null : Date.now() + expiresInS * 1000,
    });
    // Stored before it travels: a grant the friend took is always one this cell can revoke.
    this.store.addOut(grant, pass, id, path);
    // An acceptance the friend has not heard of yet goes first (it takes grants from friends only);
    // when that does not get through, neither would the grant: both wait for the next rounds.
    const told = await this.deps.friends?.tell(to.id);
    const now = this.peers.get(to.id);
    const stillNot = now ? notFriendReason(now, this.keys.id) : `${to.name} (${shortId(to.id)}) is no longer a peer`;
    if (stillNot) {
      this.store.removeOut(id); // its answer said it is not a friend there after all
      throw badRequest(stillNot);
    }
    let deliveryError =
      told && !told.delivered && !told.old_build ? `${to.name} has not heard of the friendship yet: ${told.error}` : undefined;
    try {
      if (!deliveryError) await this.deliver(this.store.get(id)!);
    } catch (e) {
      if (e instanceof GrantRefused) {
        this.store.removeOut(id);
        log("warn", "share refused by the recipient: nothing shared", { path, with: shortId(to.id), why: e.message });
        throw new GroveError(`${e.message}; nothing was shared`, 409, "refused");
      }
      deliveryError = errorMessage(e);
      log("warn", "grant not delivered yet (retried after each sync round)", { grant: id.slice(0, 12), why: deliveryError });
    }
    log("info", "shared", { path, with: shortId(to.id), grant: id.slice(0, 12), delivered: !deliveryError });
    return { ...this.shareView(this.store.get(id)!), ...(deliveryError ? { delivery_error: deliveryError } : {}) };
  }

  /**
   * Send a grant (with its pass and our manifest) sealed to the recipient. Throws GrantRefused
   * when the recipient refuses it for good, another error when it may take it later.
   */
  private async deliver(r: GrantRow): Promise<void> {
    const url = this.peers.routeOf(r.peer);
    if (!url) throw new PeerUnreachableError(`no route to ${this.nameOf(r.peer)}`);
    const card = JSON.parse(this.peers.get(r.peer)!.card) as Card;
    const manifest = readManifest(this.cell.layout.manifests, this.cell.db.manifest(r.manifest_hash as ManifestHash)!.manifest_file);
    const body = await sealJson(
      fromHex(card.x25519),
      { grant: JSON.parse(r.grant_json), pass: JSON.parse(r.pass_json), manifest },
      SHARE_INFO,
      this.keys.id,
    );
    const ans = await callPeerRaw(this.deps.caller, url, r.peer, "POST", "/peer/share/grant", body, 10_000);
    if (ans.status === 200) return this.store.setDelivered(r.id);
    const why = `${this.nameOf(r.peer)} (${shortId(r.peer)}) refused the grant: ${refusalText(ans.body)}`;
    // 401: it does not know this cell (yet), or the clocks differ; 404, 408, 429, 5xx: not now.
    const final = ans.status >= 400 && ans.status < 500 && ![401, 404, 408, 429].includes(ans.status);
    throw final ? new GrantRefused(why, ans.status, "refused") : new GroveError(why, 502, "peer");
  }

  /** Deliver grants and revocations that did not get through yet (after each sync round). */
  async retry(): Promise<void> {
    // Per recipient, in order, stopping when it cannot be reached (the rest would wait the same
    // timeout for nothing); recipients at once, so one gone silent costs one timeout, not one per grant.
    const byPeer = new Map<CellId, GrantRow[]>();
    for (const r of this.store.list("out")) {
      if (r.delivered || r.revoked_at !== null || isExpired(r)) continue;
      if (!this.peers.get(r.peer)?.friend) continue; // no longer a friend: it would refuse the grant (again a friend: sent then)
      byPeer.set(r.peer, [...(byPeer.get(r.peer) ?? []), r]);
    }
    await Promise.allSettled(
      [...byPeer.values()].map(async (rows) => {
        for (const r of rows) {
          try {
            await this.deliver(r);
          } catch (e) {
            if (e instanceof PeerUnreachableError || !this.peers.routeOf(r.peer)) break;
          }
        }
      }),
    );
    const revs = this.store.revocationsBy(this.keys.id);
    if (revs.length) {
      await Promise.allSettled(
        this.peers.list().map((p) =>
          this.tell(
            p.id,
            revs.filter((r) => !this.store.acked(r.grant_id, p.id)),
          ),
        ),
      );
    }
  }

  /** Send revocations to one peer; each one it confirms is not sent to it again. */
  private async tell(peer: CellId, revs: readonly Revocation[]): Promise<void> {
    const url = this.peers.routeOf(peer);
    if (!url) return;
    for (const rev of revs) {
      await callPeer(this.deps.caller, url, peer, "POST", "/peer/share/revoke", rev, 5000);
      this.store.ack(rev.grant_id, peer);
    }
  }

  shares(): ShareView[] {
    return this.store.list("out").map((r) => this.shareView(r));
  }

  async revoke(id: string): Promise<ShareView> {
    const r = this.store.resolve(id, "out");
    if (r.revoked_at === null) {
      const rev = makeRevocation(this.keys.ed25519Secret, this.keys.id, r.id);
      this.store.addRevocation(rev);
      log("info", "share revoked", { grant: r.id.slice(0, 12) });
      // Tell the recipient and every peer (they may hold our chunks) now, waiting at most
      // REVOKE_WAIT_MS; those not reached are told after each sync round until they confirm.
      const told = Promise.allSettled(this.peers.list().map((p) => this.tell(p.id, [rev])));
      await Promise.race([told, Bun.sleep(REVOKE_WAIT_MS)]);
    }
    return this.shareView(this.store.get(r.id)!);
  }

  feed(): FeedItem[] {
    return this.store.list("in").map((r) => this.feedView(r));
  }

  feedItem(id: string): FeedItem {
    return this.feedView(this.store.resolve(id, "in"));
  }

  async open(id: string): Promise<{ item: FeedItem; body: ReadableStream<Uint8Array> }> {
    const r = this.store.resolve(id, "in");
    const item = this.feedView(r);
    if (item.state === "revoked") throw forbidden(`'${r.filename}' was revoked by ${item.from_name}`);
    if (item.state === "expired") throw forbidden(`the grant for '${r.filename}' has expired`);
    const grant = JSON.parse(r.grant_json) as Grant;
    const key = await openFileKey(this.keys, grant);
    const manifest = JSON.parse(r.manifest_json!) as Manifest;
    // The sharer first, then the other peers; peers whose last probe answered before the rest.
    const reachable = (p: CellId) => this.peers.best(p)?.reachable === true;
    const sources = [
      r.peer,
      ...this.peers
        .list()
        .map((p) => p.id)
        .filter((p) => p !== r.peer),
    ]
      .map((p, i) => ({ peer: p, url: this.peers.routeOf(p), rank: (reachable(p) ? 0 : 2) + (i === 0 ? 0 : 1) }))
      .filter((s): s is { peer: CellId; url: string; rank: number } => s.url !== null)
      .sort((x, y) => x.rank - y.rank);
    const body = await fetchFile({
      caller: this.deps.caller,
      suite: this.cell.suite,
      key,
      manifest,
      pass: JSON.parse(r.pass_json) as FetchPass,
      sources,
    });
    return { item, body };
  }
}
