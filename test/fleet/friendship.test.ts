/**
 * Friendship as a request the other cell accepts (fleet/friendship, POST /peer/friend), with
 * real cells on loopback: A asks B, B sees it and accepts (and the other way round, with
 * `friend` on both sides); sharing is refused (exit 1, nothing stored anywhere) until then and
 * delivered at once after; unfriend and decline reach both sides; a request, an acceptance and
 * an end made while the other cell is offline reach it when it is back; a grant the friend
 * refuses (it ended the friendship while this cell was offline) exits 1 and is not kept; one for a
 * friend that is offline is kept (exit 0, says so) and delivered after a round once it is back;
 * forged and unsigned notices are refused and change nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliJson, destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { befriend, cellIdOf } from "../helpers/friends.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import { deriveIdentity, type CellKeys } from "../../src/crypto/keys.ts";
import { callPeerRaw } from "../../src/net/peer-client.ts";
import { signRequest } from "../../src/protocol/request-auth.ts";
import { sealJson } from "../../src/protocol/sealed-json.ts";
import { FRIEND_INFO, MSG_INFO } from "../../src/protocol/labels.ts";
import { toHex, type CellId } from "../../src/core/types.ts";
import type { PeerView } from "../../src/api/types.ts";
import type { FeedItem, ShareView } from "../../src/share/types.ts";

const config = { sync_interval_s: 3600 };
let a: TestCell, b: TestCell, c: TestCell;
let idA: string, idB: string, idC: string;

const keysOf = (cell: TestCell) => loadKeys(resolveLayout({ GROVE_DIR: cell.dir, GROVE_HOME: cell.home }));

/** How `cell` sees the peer `id` (GET /api/peers). */
async function peerOf(cell: TestCell, id: string): Promise<PeerView> {
  const list = (await (await cell.api("/api/peers")).json()) as PeerView[];
  const p = list.find((x) => x.id === id);
  if (!p) throw new Error(`${id.slice(0, 8)} is not a peer of ${cell.dir}`);
  return p;
}

/** Wait until `cell` sees `id` in `state` (a notice sent after a round arrives a moment later). */
async function until(cell: TestCell, id: string, state: PeerView["friendship"]): Promise<PeerView> {
  let p = await peerOf(cell, id);
  for (let i = 0; i < 100 && (p.friendship !== state || p.friendship_notice !== null); i++) {
    await Bun.sleep(100);
    p = await peerOf(cell, id);
  }
  return p;
}

/** Restart a stopped cell on the same ports (its peers know them). */
const restart = (cell: TestCell) => startCell({ root: cell.root, config, listen: { host: "127.0.0.1", port: cell.port } });

async function nothingShared(): Promise<void> {
  for (const x of [a, b]) {
    expect(await cliJson<ShareView[]>(x, ["shares"])).toEqual([]);
    expect(await cliJson<FeedItem[]>(x, ["feed"])).toEqual([]);
    const grants = join(x.dir, "grants");
    expect(existsSync(grants) ? readdirSync(grants).filter((f) => f.endsWith(".json")) : []).toEqual([]);
  }
}

beforeAll(async () => {
  [a, b, c] = await Promise.all([startCell({ config }), startCell({ config }), startCell({ config })]);
  [idA, idB, idC] = [a, b, c].map(cellIdOf) as [string, string, string];
  await pair(a, b);
  await pair(a, c);
  await pair(b, c);
  writeFileSync(join(a.root, "a.txt"), "from a\n");
  writeFileSync(join(b.root, "b.txt"), "from b\n");
  expect((await a.cli(["put", join(a.root, "a.txt"), "--as", "a.txt"])).code).toBe(0);
  expect((await b.cli(["put", join(b.root, "b.txt"), "--as", "b.txt"])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await Promise.all([a, b, c].map(destroyCell));
});

describe("friend requests", () => {
  test("A asks B: B sees the request; sharing is refused both ways, storing nothing, until B accepts; then a share is delivered at once", async () => {
    const ask = await a.cli(["peers", "friend", idB.slice(0, 8)]);
    expect(ask.code).toBe(0);
    expect(ask.stdout).toContain("asked");
    expect(await peerOf(a, idB)).toMatchObject({ friendship: "requested", friend: false, friendship_notice: null });
    expect(await peerOf(b, idA)).toMatchObject({ friendship: "asked", friend: false, friendship_notice: null });
    const listed = await b.cli(["peers"]);
    expect(listed.stdout).toContain("asks to be friends");
    expect(listed.stderr).toContain(`grove peers accept ${idA.slice(0, 8)}`);
    expect((await a.cli(["peers"])).stdout).toContain("requested");

    const fromA = await a.cli(["share", "a.txt", "--with", idB.slice(0, 8)]);
    expect(fromA.code).toBe(1);
    expect(fromA.stderr).toContain("requested and not yet accepted");
    const fromB = await b.cli(["share", "b.txt", "--with", idA.slice(0, 8)]);
    expect(fromB.code).toBe(1);
    expect(fromB.stderr).toContain("asked to be friends and this cell has not accepted");
    const api = await a.api("/api/shares", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "a.txt", with: idB }),
    });
    expect(api.status).toBe(400);
    expect(((await api.json()) as { error: string }).error).toContain("requested and not yet accepted");
    await nothingShared();

    const ok = await b.cli(["peers", "accept", idA.slice(0, 8)]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("friends with");
    expect(await peerOf(b, idA)).toMatchObject({ friendship: "friends", friend: true, friendship_notice: null });
    expect(await peerOf(a, idB)).toMatchObject({ friendship: "friends", friend: true, friendship_notice: null });

    const s = await cliJson<ShareView>(a, ["share", "a.txt", "--with", idB.slice(0, 8)]);
    expect(s.delivered).toBe(true);
    expect((await cliJson<FeedItem[]>(b, ["feed"])).map((f) => f.id)).toEqual([s.id]);
    const back = await b.cli(["share", "b.txt", "--with", idA.slice(0, 8)]);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain(", delivered");
    expect(back.stdout).not.toContain("not delivered");
  }, 60_000);

  test("B asks C and C accepts with `grove peers friend`; accepting a request nobody sent is refused", async () => {
    const none = await a.cli(["peers", "accept", idC.slice(0, 8)]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("has not asked to be friends");
    expect(await peerOf(a, idC)).toMatchObject({ friendship: "none", friend: false });
    expect((await b.cli(["peers", "friend", idC])).code).toBe(0);
    expect((await peerOf(c, idB)).friendship).toBe("asked");
    const r = await c.cli(["peers", "friend", idB]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("friends with");
    expect((await peerOf(b, idC)).friendship).toBe("friends");
    expect((await peerOf(c, idB)).friendship).toBe("friends");
  }, 60_000);

  test("unfriend ends it on both sides, and sharing stops; declining a request tells the asker", async () => {
    const r = await b.cli(["peers", "unfriend", idC]);
    expect(r.code).toBe(0);
    expect(await peerOf(b, idC)).toMatchObject({ friendship: "none", friend: false, friendship_notice: null });
    expect(await peerOf(c, idB)).toMatchObject({ friendship: "none", friend: false });
    const refused = await b.cli(["share", "b.txt", "--with", idC]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("is not a friend");
    // C asks A; A declines.
    expect((await c.cli(["peers", "friend", idA])).code).toBe(0);
    expect((await peerOf(a, idC)).friendship).toBe("asked");
    expect((await a.cli(["peers", "unfriend", idC])).code).toBe(0);
    expect((await peerOf(c, idA)).friendship).toBe("none");
    expect((await peerOf(a, idC)).friendship).toBe("none");
  }, 60_000);

  test("a request, an acceptance and an end made while the other cell is offline reach it when it is back", async () => {
    expect((await a.cli(["peers", "unfriend", idB])).code).toBe(0);
    expect((await peerOf(b, idA)).friendship).toBe("none");

    // A asks B while B is offline: kept, and sent after A's next round that reaches B.
    await b.stop();
    const ask = await a.cli(["peers", "friend", idB]);
    expect(ask.code).toBe(0);
    expect(ask.stdout).toContain("has not heard of it yet");
    expect(await peerOf(a, idB)).toMatchObject({ friendship: "requested", friendship_notice: "request" });
    expect((await a.cli(["peers"])).stdout).toContain("requested (unsent)");
    b = await restart(b);
    await cliJson(a, ["sync"]);
    expect((await until(b, idA, "asked")).friendship).toBe("asked");
    expect(await until(a, idB, "requested")).toMatchObject({ friendship: "requested", friendship_notice: null });

    // B accepts while A is offline: friends on B at once; A hears of it before B's first grant to it.
    await a.stop();
    const accept = await b.cli(["peers", "accept", idA]);
    expect(accept.code).toBe(0);
    expect(accept.stdout).toContain("has not heard of it yet");
    expect(await peerOf(b, idA)).toMatchObject({ friendship: "friends", friend: true, friendship_notice: "request" });
    a = await restart(a);
    const s = await cliJson<ShareView>(b, ["share", "b.txt", "--with", idA]);
    expect(s.delivered).toBe(true);
    expect(await peerOf(a, idB)).toMatchObject({ friendship: "friends", friend: true });
    expect(await peerOf(b, idA)).toMatchObject({ friendship: "friends", friendship_notice: null });

    // A ends it while B is offline: B hears of it after A's next round.
    await b.stop();
    expect((await a.cli(["peers", "unfriend", idB])).code).toBe(0);
    expect(await peerOf(a, idB)).toMatchObject({ friendship: "none", friendship_notice: "end" });
    b = await restart(b);
    await cliJson(a, ["sync"]);
    expect(await until(b, idA, "none")).toMatchObject({ friendship: "none", friend: false });
    expect((await until(a, idB, "none")).friendship_notice).toBeNull();
  }, 90_000);

  test("a forged, misdirected or unsigned friendship notice is refused and changes nothing", async () => {
    const states = async () =>
      (await Promise.all([peerOf(b, idA), peerOf(b, idC)])).map((p) => [p.friendship, p.friend, p.friendship_notice, p.friendship_at]);
    const before = await states();
    const bKeys = keysOf(b);
    const cKeys = keysOf(c);
    const request = (from: string, info = FRIEND_INFO, value: unknown = { v: 1, kind: "request" }) =>
      sealJson(bKeys.x25519Public, value, info, from);
    const status = async (r: Promise<{ status: number }>) => (await r).status;

    // Unsigned.
    const unsigned = await fetch(b.peerUrl + "/peer/friend", { method: "POST", body: (await request(idC)) as Uint8Array<ArrayBuffer> });
    expect(unsigned.status).toBe(401);
    // Signed by a cell that is not a peer.
    const root = crypto.getRandomValues(new Uint8Array(32));
    const ident = deriveIdentity(root);
    const stranger: CellKeys = { ...ident, root, id: toHex(ident.ed25519Public) as CellId, apiToken: "" };
    expect(await status(callPeerRaw(stranger, b.peerUrl, idB as CellId, "POST", "/peer/friend", await request(stranger.id)))).toBe(401);
    // C signs, but names A as the sender.
    const body = await request(idA);
    const forged = await fetch(b.peerUrl + "/peer/friend", {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer>,
      headers: { ...signRequest(cKeys.ed25519Secret, idA as CellId, "POST", "/peer/friend", body, { to: idB as CellId }) },
    });
    expect(forged.status).toBe(401);
    // C sends a notice sealed as coming from A, one sealed for another purpose, and a malformed one.
    expect(await status(callPeerRaw(cKeys, b.peerUrl, idB as CellId, "POST", "/peer/friend", await request(idA)))).toBe(400);
    expect(await status(callPeerRaw(cKeys, b.peerUrl, idB as CellId, "POST", "/peer/friend", await request(idC, MSG_INFO)))).toBe(400);
    expect(
      await status(
        callPeerRaw(cKeys, b.peerUrl, idB as CellId, "POST", "/peer/friend", await request(idC, FRIEND_INFO, { v: 1, kind: "hug" })),
      ),
    ).toBe(400);
    // A signed request with a body that is not sealed at all.
    expect(await status(callPeerRaw(cKeys, b.peerUrl, idB as CellId, "POST", "/peer/friend", { v: 1, kind: "request" }))).toBe(400);

    expect(await states()).toEqual(before);
  }, 60_000);

  test("a grant the friend refuses (it ended the friendship while this cell was offline) exits 1 and is not kept", async () => {
    await befriend(a, c);
    await a.stop();
    expect((await c.cli(["peers", "unfriend", idA])).code).toBe(0); // A is not told yet
    a = await restart(a);
    expect((await peerOf(a, idC)).friendship).toBe("friends");
    const r = await a.cli(["share", "a.txt", "--with", idC]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("refused the grant");
    expect(r.stderr).toContain("not a friend of this cell");
    expect(r.stderr).toContain("nothing was shared");
    expect((await cliJson<ShareView[]>(a, ["shares"])).filter((x) => x.to === idC)).toEqual([]);
    expect(await cliJson<FeedItem[]>(c, ["feed"])).toEqual([]);
    await cliJson(c, ["sync"]); // C's round: A hears of the end
    expect((await until(a, idC, "none")).friend).toBe(false);
  }, 60_000);

  test("a grant for a friend that is offline is kept (exit 0, it says so) and delivered after a round once the friend is back", async () => {
    await befriend(b, a);
    await b.stop();
    const r = await a.cli(["share", "a.txt", "--with", idB]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("not delivered yet");
    expect(r.stdout).toContain("sent after each sync round");
    const id = (await cliJson<ShareView[]>(a, ["shares"])).find((x) => x.to === idB && !x.delivered)!.id;
    b = await restart(b);
    await cliJson(a, ["sync"]);
    let delivered = false;
    for (let i = 0; i < 100 && !delivered; i++) {
      delivered = (await cliJson<ShareView[]>(a, ["shares"])).find((x) => x.id === id)!.delivered;
      if (!delivered) await Bun.sleep(100);
    }
    expect(delivered).toBe(true);
    expect((await cliJson<FeedItem[]>(b, ["feed"])).map((f) => f.id)).toContain(id);
  }, 60_000);
});
