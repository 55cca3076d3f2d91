/**
 * @module web/peer-friend-api — POST /peer/friend: a paired cell's friendship notice (its
 * request, its acceptance of ours, or its end). The request is already signed by a known peer
 * (web/peer-api); here the body must be at most 4 KiB and open as a notice sealed to this cell
 * by that peer (`grove/v1/friend`, aad = its id, protocol/friendship), else 413/400 and nothing
 * changes. The answer, sealed to the sender (`grove/v1/friend/reply`), is this cell's new state
 * for it, which the sender mirrors. The same notice twice changes nothing the second time.
 */
import { Hono } from "hono";
import { tooLarge } from "../core/errors.ts";
import { fromHex, type CellId } from "../core/types.ts";
import type { CellKeys } from "../crypto/keys.ts";
import type { Friendships } from "../fleet/friendship.ts";
import type { PeerDirectory } from "../fleet/peer-directory.ts";
import { FRIEND_INFO } from "../protocol/labels.ts";
import { MAX_FRIEND_BODY, parseNotice } from "../protocol/friendship.ts";
import { openJson, sealJson } from "../protocol/sealed-json.ts";
import type { PeerEnv } from "./peer-sync-api.ts";

/** What the route needs: this cell's keys, the peers' cards, and the friendships it updates. */
export interface FriendHost {
  keys: CellKeys;
  peers: Pick<PeerDirectory, "card">;
  friends: Pick<Friendships, "receive">;
}

export function peerFriendApi(host: FriendHost): Hono<PeerEnv> {
  const app = new Hono<PeerEnv>();
  const { keys } = host;

  app.post("/", async (c) => {
    const from: CellId = c.var.peer;
    const body = c.var.peerBody;
    if (body.byteLength > MAX_FRIEND_BODY)
      throw tooLarge(`a friendship notice is at most ${MAX_FRIEND_BODY} bytes (this one has ${body.byteLength})`);
    const notice = parseNotice(await openJson(keys, body, FRIEND_INFO, from));
    const friendship = host.friends.receive(from, notice.kind);
    const sealed = await sealJson(fromHex(host.peers.card(from)!.x25519), { v: 1, friendship }, `${FRIEND_INFO}/reply`, keys.id);
    return c.body(sealed as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
  });

  return app;
}
