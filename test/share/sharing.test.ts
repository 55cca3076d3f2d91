/**
 * Sharing with real cells on loopback. A shares with its friend B (A asked, B accepted); C keeps
 * A's chunks (R=2, C is A's favorite). With A offline, B still gets byte-identical content from
 * C; a cell the grant does not name is refused; revoking and expiry stop every cell from serving it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliJson, pair, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { befriend, cellIdOf } from "../helpers/friends.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import { callPeerRaw } from "../../src/net/peer-client.ts";
import type { FeedItem, ShareView } from "../../src/share/types.ts";
import type { CellId } from "../../src/core/types.ts";

const config = { replication_factor: 2, sync_interval_s: 3600 };
let a: TestCell, b: TestCell, c: TestCell, d: TestCell;
const ids = new Map<TestCell, string>();
const data = pseudoRandom(9 * 1024 * 1024 + 777, 5);

const keysOf = (cell: TestCell) => loadKeys(resolveLayout({ GROVE_DIR: cell.dir, GROVE_HOME: cell.home }));

beforeAll(async () => {
  [a, b, c, d] = await Promise.all([startCell({ config }), startCell({ config }), startCell({ config }), startCell({ config })]);
  for (const x of [a, b, c, d]) ids.set(x, cellIdOf(x));
  await pair(a, b);
  await pair(a, c);
  await pair(c, b); // B can ask C
  await pair(c, d); // D can ask C too, but holds no grant
  // A and B are friends (A asked, B accepted); C is A's favorite, so it keeps A's chunks.
  await befriend(a, b);
  expect((await a.cli(["peers", "favorite", ids.get(c)!])).code).toBe(0);
  const src = join(a.root, "report.bin");
  writeFileSync(src, data);
  expect((await a.cli(["put", src, "--as", "docs/report.bin"])).code).toBe(0);
  const s = await cliJson<{ chunks_pushed: number }>(a, ["sync"]);
  expect(s.chunks_pushed).toBe(3);
}, 120_000);

afterAll(async () => {
  await Promise.all([a, b, c, d].map(destroyCell));
});

describe("sharing", () => {
  let grant = "";

  test("a share with a non-friend (or one not yet accepted) is refused; with a friend it is delivered and listed on both sides", async () => {
    const notFriend = await a.cli(["share", "docs/report.bin", "--with", ids.get(c)!.slice(0, 8)]);
    expect(notFriend.code).toBe(1);
    expect(notFriend.stderr).toContain("not a friend");
    const s = await cliJson<ShareView>(a, ["share", "docs/report.bin", "--with", ids.get(b)!.slice(0, 8)]);
    expect(s.delivered).toBe(true);
    expect(s.state).toBe("active");
    grant = s.id;
    const mine = await cliJson<ShareView[]>(a, ["shares"]);
    expect(mine.map((x) => x.id)).toEqual([grant]);
    const feed = await cliJson<FeedItem[]>(b, ["feed"]);
    expect(feed).toEqual([
      expect.objectContaining({ id: grant, from: ids.get(a), filename: "report.bin", size: data.byteLength, state: "available" }),
    ]);
    // A asked C to be friends and C has not accepted: still refused, and nothing is kept.
    expect((await a.cli(["peers", "friend", ids.get(c)!])).code).toBe(0);
    const toC = await a.cli(["share", "docs/report.bin", "--with", ids.get(c)!.slice(0, 8)]);
    expect(toC.code).toBe(1);
    expect(toC.stderr).toContain("requested and not yet accepted");
    expect((await cliJson<ShareView[]>(a, ["shares"])).map((x) => x.id)).toEqual([grant]);
    expect((await a.cli(["peers", "unfriend", ids.get(c)!])).code).toBe(0);
    // B keeps the grant in grants/.
    expect(JSON.parse(readFileSync(join(b.dir, "grants", `${grant}.json`), "utf8")).grant.recipient).toBe(ids.get(b));
  });

  test("with A offline, B downloads byte-identical content from C", async () => {
    await a.stop();
    const out = join(b.root, "got.bin");
    const r = await b.cli(["feed", "get", grant.slice(0, 10), "-o", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(Buffer.compare(readFileSync(out), Buffer.from(data))).toBe(0);
  });

  test("C serves A's chunks only to the cell the grant names", async () => {
    const stored = JSON.parse(readFileSync(join(b.dir, "grants", `${grant}.json`), "utf8")) as {
      pass: unknown;
      manifest: { chunks: { hash: string }[] };
    };
    const chunks = stored.manifest.chunks.map((x) => x.hash);
    const ask = (who: TestCell) =>
      callPeerRaw(keysOf(who), c.url, ids.get(c) as CellId, "POST", "/peer/share/chunk", { pass: stored.pass, chunks, hash: chunks[0] });
    expect((await ask(b)).status).toBe(200);
    const dAsks = await ask(d);
    expect(dAsks.status).toBe(403);
    expect(new TextDecoder().decode(dAsks.body)).toContain("names another cell");
    // A chunk list that is not the granted one is refused even for B.
    const wrong = await callPeerRaw(keysOf(b), c.url, ids.get(c) as CellId, "POST", "/peer/share/chunk", {
      pass: stored.pass,
      chunks: [chunks[0]],
      hash: chunks[0],
    });
    expect(wrong.status).toBe(403);
  });

  test("revoked: B's feed says so and no cell serves it any more", async () => {
    a = await startCell({ root: a.root, config });
    await cliJson(b, ["sync"]); // B tells A where it is now... and A learns B's route again
    await cliJson(a, ["sync"]);
    const r = await cliJson<ShareView>(a, ["share", "revoke", grant.slice(0, 12)]);
    expect(r.state).toBe("revoked");
    const feed = await cliJson<FeedItem[]>(b, ["feed"]);
    expect(feed[0]!.state).toBe("revoked");
    const get = await b.cli(["feed", "get", grant.slice(0, 12), "-o", join(b.root, "again.bin")]);
    expect(get.code).toBe(1);
    expect(get.stderr).toContain("revoked");
    // C learned of it too: the pass no longer opens anything there.
    const stored = JSON.parse(readFileSync(join(b.dir, "grants", `${grant}.json`), "utf8")) as {
      pass: unknown;
      manifest: { chunks: { hash: string }[] };
    };
    const chunks = stored.manifest.chunks.map((x) => x.hash);
    const ans = await callPeerRaw(keysOf(b), c.url, ids.get(c) as CellId, "POST", "/peer/share/chunk", {
      pass: stored.pass,
      chunks,
      hash: chunks[0],
    });
    expect(ans.status).toBe(403);
    expect(new TextDecoder().decode(ans.body)).toContain("revoked");
  });

  test("an expired grant is refused everywhere", async () => {
    const s = await cliJson<ShareView>(a, ["share", "docs/report.bin", "--with", ids.get(b)!, "--expires", "1s"]);
    expect(s.delivered).toBe(true);
    await Bun.sleep(1300);
    expect((await cliJson<FeedItem[]>(b, ["feed"])).find((f) => f.id === s.id)!.state).toBe("expired");
    const get = await b.cli(["feed", "get", s.id.slice(0, 12), "-o", join(b.root, "late.bin")]);
    expect(get.code).toBe(1);
    expect(get.stderr).toContain("expired");
    expect((await cliJson<ShareView[]>(a, ["shares"])).find((x) => x.id === s.id)!.state).toBe("expired");
  });

  test("a holder offline when the share is revoked learns of it after it returns", async () => {
    const s = await cliJson<ShareView>(a, ["share", "docs/report.bin", "--with", ids.get(b)!]);
    const cId = ids.get(c) as CellId;
    await c.stop();
    await cliJson<ShareView>(a, ["share", "revoke", s.id]);
    c = await startCell({ root: c.root, config });
    await cliJson(c, ["sync"]); // C tells A (and B) where it is now
    await cliJson(a, ["sync"]); // after the round, A tells the peers that missed the revocation
    const stored = JSON.parse(readFileSync(join(b.dir, "grants", `${s.id}.json`), "utf8")) as {
      pass: unknown;
      manifest: { chunks: { hash: string }[] };
    };
    const chunks = stored.manifest.chunks.map((x) => x.hash);
    let status = 0;
    for (let i = 0; i < 50 && status !== 403; i++) {
      status = (await callPeerRaw(keysOf(b), c.url, cId, "POST", "/peer/share/chunk", { pass: stored.pass, chunks, hash: chunks[0] }))
        .status;
      if (status !== 403) await Bun.sleep(100);
    }
    expect(status).toBe(403);
  });
});
