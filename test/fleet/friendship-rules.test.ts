/**
 * fleet/friendship without real cells: the state rules of protocol/friendship, the peers table's
 * friendship columns (and a build without them that flips `friend`), and a peer on a build from
 * before friend requests (it answers 404: the old one-sided flag is set here, and said so).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mirror, parseNotice, receivedState, type FriendshipState } from "../../src/protocol/friendship.ts";
import { PeerStore } from "../../src/fleet/peer-store.ts";
import { Friendships } from "../../src/fleet/friendship.ts";
import { deriveIdentity } from "../../src/crypto/keys.ts";
import { signResponse, HEADER } from "../../src/protocol/request-auth.ts";
import { toHex, type CellId } from "../../src/core/types.ts";
import { openTempCell } from "../helpers/vault.ts";

const cell = openTempCell();
const store = new PeerStore(cell.db.db);
afterAll(() => cell.destroy());

describe("rules", () => {
  test("a request makes a stranger 'asked' and completes what the recipient asked for itself; an end makes 'none'", () => {
    const all: FriendshipState[] = ["none", "requested", "asked", "friends"];
    expect(all.map((s) => receivedState(s, "request"))).toEqual(["asked", "friends", "asked", "friends"]);
    expect(all.map((s) => receivedState(s, "end"))).toEqual(["none", "none", "none", "none"]);
    expect(all.map(mirror)).toEqual(["none", "asked", "requested", "friends"]);
  });

  test("a notice keeps to its shape; fields a newer build adds are ignored", () => {
    expect(parseNotice({ v: 1, kind: "end", note: "later" })).toEqual({ v: 1, kind: "end" });
    expect(() => parseNotice({ v: 2, kind: "request" })).toThrow(/bad friendship notice/);
    expect(() => parseNotice({ v: 1, kind: "hug" })).toThrow(/bad friendship notice/);
    expect(() => parseNotice(null)).toThrow(/bad friendship notice/);
  });
});

describe("peers table", () => {
  const P = ("ab01" + "0".repeat(60)) as CellId;

  test("the state follows `friend` first: a build without the new columns that sets or clears it leaves a meaningful state", () => {
    store.upsert(P, "pi", "{}");
    expect(store.get(P)).toMatchObject({ friendship: "none", friend: false, friend_notice: null, friendship_at: null });
    store.setFriendship(P, "requested", "request", 1000);
    expect(store.get(P)).toMatchObject({ friendship: "requested", friend: false, friend_notice: "request", friendship_at: 1000 });
    store.setFriendship(P, "requested", null, 2000); // same state: its time is kept
    expect(store.get(P)).toMatchObject({ friendship: "requested", friend_notice: null, friendship_at: 1000 });
    store.setFlag(P, "friend", true); // an older build marks it friend
    expect(store.get(P)!.friendship).toBe("friends");
    store.setFlag(P, "friend", false);
    expect(store.get(P)!.friendship).toBe("requested");
    store.setFriendship(P, "friends", null, 3000);
    expect(store.get(P)).toMatchObject({ friendship: "friends", friend: true, friendship_at: 3000 });
    expect(store.withNotice()).toEqual([]);
    store.remove(P);
  });
});

describe("a peer on a build from before friend requests", () => {
  test("it answers 404: a request sets `friend` here only and says the other cell must friend this one; an end just stops being owed", async () => {
    const old = deriveIdentity(crypto.getRandomValues(new Uint8Array(32)));
    const oldId = toHex(old.ed25519Public) as CellId;
    // What a build without /peer/friend answers: a signed 404 (web/peer-api's catch-all).
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        const body = new TextEncoder().encode(JSON.stringify({ error: `no peer route POST ${new URL(req.url).pathname}` }));
        return new Response(body, {
          status: 404,
          headers: { [HEADER.response]: signResponse(old.ed25519Secret, req.headers.get(HEADER.nonce)!, 404, body) },
        });
      },
    });
    try {
      store.upsert(oldId, "old", JSON.stringify({ x25519: toHex(old.x25519Public) }));
      const friends = new Friendships({
        store,
        peers: { routes: () => [`http://127.0.0.1:${server.port}`] },
        caller: { keys: cell.keys, relay: null },
      });
      friends.request(oldId);
      const told = await friends.tell(oldId);
      expect(told).toMatchObject({ delivered: false, old_build: true });
      expect(told!.error).toContain("build from before friend requests");
      expect(told!.error).toContain(`grove peers friend ${cell.keys.id.slice(0, 8)}`);
      expect(store.get(oldId)).toMatchObject({ friendship: "friends", friend: true, friend_notice: null });

      friends.end(oldId);
      expect(await friends.tell(oldId)).toMatchObject({ delivered: false, old_build: true });
      expect(store.get(oldId)).toMatchObject({ friendship: "none", friend: false, friend_notice: null });
      expect(await friends.tell(oldId)).toBeNull(); // nothing owed any more
    } finally {
      server.stop(true);
      store.remove(oldId);
    }
  });

  test("a peer that cannot be reached keeps the notice owed, with the reason", async () => {
    const gone = deriveIdentity(crypto.getRandomValues(new Uint8Array(32)));
    const goneId = toHex(gone.ed25519Public) as CellId;
    store.upsert(goneId, "gone", JSON.stringify({ x25519: toHex(gone.x25519Public) }));
    const friends = new Friendships({ store, peers: { routes: () => ["http://127.0.0.1:9"] }, caller: { keys: cell.keys, relay: null } });
    friends.request(goneId);
    const told = await friends.tell(goneId);
    expect(told).toMatchObject({ delivered: false, old_build: false });
    expect(told!.error).toContain("could not be reached");
    expect(store.get(goneId)).toMatchObject({ friendship: "requested", friend_notice: "request" });
    expect(store.withNotice().map((p) => p.id)).toEqual([goneId]);
    store.remove(goneId);
  });
});
