/**
 * Bounty with real cells on loopback: A, B and C, R=2, B is A's favorite (tried first), and B
 * gives any peer 5 MiB of allowance with no exemptions. Storing A's chunks on B shows on both
 * sides (B gives, A receives) with signed statements that agree; a chunk that would take A past
 * its allowance on B is refused (402) and lands on C; a forged statement is flagged on B as a
 * disagreement (CLI and Bounty tab), and statements not from their signer or to another cell
 * are refused.
 */
import { chunkBytes, hasChunk } from "../helpers/chunks.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliJson, dashboardSession, destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { befriend, cellIdOf } from "../helpers/friends.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import { callPeerRaw } from "../../src/net/peer-client.ts";
import { openJson, sealJson } from "../../src/protocol/sealed-json.ts";
import { BOUNTY_INFO, BOUNTY_REPLY_INFO, makeStatement, verifyStatement, type Statement } from "../../src/protocol/bounty-statement.ts";
import type { BountyPeer, BountyReport } from "../../src/bounty/types.ts";
import type { SyncReport } from "../../src/sync/round.ts";
import type { PlacementReport } from "../../src/sync/placement-report.ts";
import type { CellId } from "../../src/core/types.ts";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const config = { replication_factor: 2, sync_interval_s: 3600 };
const allowance = 5 * MiB;

let a: TestCell, b: TestCell, c: TestCell;
const ids = new Map<TestCell, CellId>();
const keysOf = (cell: TestCell) => loadKeys(resolveLayout({ GROVE_DIR: cell.dir, GROVE_HOME: cell.home }));
const holds = (cell: TestCell, h: string) => hasChunk(cell.dir, h);
const sizeOn = (cell: TestCell, h: string) => chunkBytes(cell.dir, h)!.byteLength;
const bountyOf = async (cell: TestCell, peer: TestCell): Promise<BountyPeer> => {
  const r = await cliJson<BountyReport>(cell, ["bounty"]);
  return r.peers.find((p) => p.peer === ids.get(peer))!;
};

async function put(name: string, size: number, seed: number): Promise<string[]> {
  const src = join(a.root, name);
  writeFileSync(src, pseudoRandom(size, seed));
  expect((await a.cli(["put", src, "--as", name])).code).toBe(0);
  const meta = (await (await a.api(`/api/files/${name}?meta`)).json()) as { manifest: { chunks: { hash: string }[] } };
  return meta.manifest.chunks.map((x) => x.hash);
}

beforeAll(async () => {
  [a, b, c] = await Promise.all([
    startCell({ config: { ...config, name: "cell-a" } }),
    startCell({
      config: {
        ...config,
        name: "cell-b",
        bounty_allowance_bytes: allowance,
        bounty_exempt_favorites: false,
        bounty_exempt_friends: false,
      },
    }),
    startCell({ config: { ...config, name: "cell-c" } }),
  ]);
  for (const x of [a, b, c]) ids.set(x, cellIdOf(x) as CellId);
  await pair(a, b);
  await pair(a, c);
  expect((await a.cli(["peers", "favorite", ids.get(b)!])).code).toBe(0);
  // B and A are friends too (B asked, A accepted): with exemptions off in B's config that changes nothing.
  await befriend(b, a);
}, 120_000);

afterAll(async () => {
  await Promise.all([destroyCell(a), destroyCell(b), destroyCell(c)]);
});

describe("bounty across three cells", () => {
  let small: string[] = [];

  test("storing A's chunks on B: B gives, A receives, the signed statements agree", async () => {
    small = await put("small.bin", MiB, 1);
    expect(small.length).toBe(1);
    const r = await cliJson<SyncReport>(a, ["sync"]);
    expect(r.chunks_pushed).toBe(1);
    expect(holds(b, small[0]!)).toBe(true);
    expect(r.bounty_statements).toBe(2);
    expect(r.bounty_disagreements).toBe(0);
    const bytes = sizeOn(b, small[0]!);
    expect(bytes).toBe(MiB + 16);

    const onB = await bountyOf(b, a);
    expect(onB).toMatchObject({
      name: "cell-a",
      given_bytes: bytes,
      received_bytes: 0,
      balance_bytes: -bytes,
      allowance_bytes: allowance,
      exempt: false,
      over_allowance: false,
    });
    const onA = await bountyOf(a, b);
    // On A, B is a favorite: exempt by default (A's config).
    expect(onA).toMatchObject({
      name: "cell-b",
      given_bytes: 0,
      received_bytes: bytes,
      balance_bytes: bytes,
      exempt: true,
      exempt_as: "favorite",
      over_allowance: false,
    });
    // Both keep the exchange: each side's statement, signed, and that they agree.
    for (const [side, other] of [
      [onA, b],
      [onB, a],
    ] as const) {
      expect(side.statement).not.toBeNull();
      expect(side.statement!.agree).toBe(true);
      expect(side.statement!.reason).toBeNull();
      expect(side.statement!.theirs.from).toBe(ids.get(other)!);
    }
    expect(onB.statement!.theirs.received_bytes).toBe(bytes); // A says: B keeps this much for me
    expect(onA.statement!.theirs.given_bytes).toBe(bytes); // B says: I keep this much for A
    // A's statement exchange with C agrees too (nothing either way).
    expect((await bountyOf(a, c)).statement?.agree).toBe(true);
    // History for the chart.
    const rep = await cliJson<BountyReport>(b, ["bounty"]);
    const hist = rep.history.find((h) => h.peer === ids.get(a))!;
    expect(hist.points.at(-1)!.balance_bytes).toBe(-bytes);
    // The text form: sizes in words.
    const text = await b.cli(["bounty"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("cell-a");
    expect(text.stdout).toContain("−1.0 MiB");
    expect(text.stdout).toContain("agree");
  }, 60_000);

  test("a chunk that would take A past its allowance on B is refused (402) and lands on C", async () => {
    const big = await put("big.bin", 6 * MiB, 2);
    expect(big.length).toBe(2);
    const r = await cliJson<SyncReport>(a, ["sync"]);
    // B (the favorite) takes the 2 MiB chunk (−3 MiB) and refuses the 4 MiB one (−7 MiB < −5 MiB).
    expect(r.refused_over_allowance).toBe(1);
    expect(r.chunks_pushed).toBe(2);
    expect(r.under_replicated).toBe(0);
    const [four, two] = big as [string, string];
    expect(holds(b, two)).toBe(true);
    expect(holds(b, four)).toBe(false);
    expect(holds(c, four)).toBe(true);
    expect(holds(c, two)).toBe(false);
    expect(b.output()).toContain("is over its bounty allowance here");
    expect(a.output()).toContain("peer refused a chunk (bounty)");

    const placement = await cliJson<PlacementReport>(a, ["placement"]);
    expect(placement.at_risk).toEqual([]);
    for (const f of placement.files) expect(f.copies).toBe(2);
    expect(placement.files.map((f) => f.path).sort()).toEqual(["big.bin", "small.bin"]);

    const onB = await bountyOf(b, a);
    const kept = sizeOn(b, small[0]!) + sizeOn(b, two);
    expect(onB.given_bytes).toBe(kept);
    expect(onB.balance_bytes).toBe(-kept);
    expect(onB.statement?.agree).toBe(true);

    // The refusal itself: a 402 with the reason, and nothing stored.
    const chunk = pseudoRandom(2 * MiB + 16, 9);
    const hash = createHash("sha256").update(chunk).digest("hex");
    const ans = await callPeerRaw(keysOf(a), b.url, ids.get(b)!, "PUT", `/peer/sync/chunks/${hash}`, chunk);
    expect(ans.status).toBe(402);
    const error = (JSON.parse(new TextDecoder().decode(ans.body)) as { error: string }).error;
    expect(error).toBe(
      `cell cell-a (${ids.get(a)!.slice(0, 8)}) is over its bounty allowance here: it keeps 0 B for this cell, this cell keeps 3.0 MiB for it, allowance 5.0 MiB (this chunk: 2.0 MiB)`,
    );
    expect(holds(b, hash)).toBe(false);
  }, 60_000);

  test("a forged statement is flagged on B as a disagreement; B's answer is signed", async () => {
    const ka = keysOf(a);
    const kb = keysOf(b);
    const A = ids.get(a)!;
    const B = ids.get(b)!;
    const send = async (statement: Statement) => {
      const body = await sealJson(kb.x25519Public, { statement }, BOUNTY_INFO, A);
      return callPeerRaw(ka, b.url, B, "POST", "/peer/bounty/statement", body);
    };
    // A claims B keeps 100 GiB for it and that it keeps 40 GiB for B.
    const forged = makeStatement(ka.ed25519Secret, A, B, Date.now(), {
      given_bytes: 40 * GiB,
      received_bytes: 100 * GiB,
      given_byte_hours: 0,
      received_byte_hours: 0,
    });
    const ans = await send(forged);
    expect(ans.status).toBe(200);
    const reply = (await openJson(ka, ans.body, BOUNTY_REPLY_INFO, B)) as { statement: unknown };
    const theirs = verifyStatement(reply.statement, { signer: B, self: A });
    expect(theirs.given_bytes).toBeGreaterThan(3 * MiB); // B's own view: what it keeps for A
    expect(theirs.received_bytes).toBe(0);

    const onB = await bountyOf(b, a);
    expect(onB.statement!.agree).toBe(false);
    expect(onB.statement!.theirs).toEqual(forged);
    expect(onB.statement!.reason).toContain("cell-a");
    expect(onB.statement!.reason).toContain("says this cell keeps 100 GiB for it, this cell counts 3.0 MiB");
    expect(onB.statement!.reason).toContain("says it keeps 40 GiB for this cell, this cell counts 0 B");
    // The ledger itself is not touched by A's claims.
    expect(onB.given_bytes).toBeLessThan(4 * MiB);
    expect(b.output()).toContain("bounty: statements disagree with cell-a");
    const text = await b.cli(["bounty"]);
    expect(text.stdout).toContain("DISAGREE");
    expect(text.stdout).toContain("says this cell keeps 100 GiB for it");

    // Not from the signer, or to another cell: refused, nothing stored.
    const C = ids.get(c)!;
    const notFromSigner = makeStatement(ka.ed25519Secret, C, B, Date.now(), {
      given_bytes: 0,
      received_bytes: 0,
      given_byte_hours: 0,
      received_byte_hours: 0,
    });
    const r1 = await send(notFromSigner);
    expect(r1.status).toBe(403);
    expect(new TextDecoder().decode(r1.body)).toContain("not from the cell that sent it");
    const toOther = makeStatement(ka.ed25519Secret, A, C, Date.now(), {
      given_bytes: 0,
      received_bytes: 0,
      given_byte_hours: 0,
      received_byte_hours: 0,
    });
    const r2 = await send(toOther);
    expect(r2.status).toBe(403);
    expect(new TextDecoder().decode(r2.body)).toContain("not to this cell");
    const altered = {
      ...makeStatement(ka.ed25519Secret, A, B, Date.now(), {
        given_bytes: 0,
        received_bytes: 0,
        given_byte_hours: 0,
        received_byte_hours: 0,
      }),
      given_bytes: 1,
    };
    expect((await send(altered)).status).toBe(400);
    expect((await bountyOf(b, a)).statement!.theirs).toEqual(forged);

    // The Bounty tab shows it, highlighted with the reason (session from first-run setup).
    const { cookie: session } = await dashboardSession(b);
    const page = await fetch(b.url + "/bounty", { headers: { cookie: session } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(">Bounty</a>");
    expect(html).toMatch(new RegExp(`<tr data-peer="${A}" class="disagree`));
    expect(html).toContain("Statements disagree: ");
    expect(html).toContain("says this cell keeps 100 GiB for it");
    expect(html).toContain('id="bounty-chart"');
    expect(html).toMatch(/<polyline points="[\d., ]+"/);

    // The next round of A puts the true figures back side by side: they agree again.
    await cliJson<SyncReport>(a, ["sync"]);
    expect((await bountyOf(b, a)).statement!.agree).toBe(true);
  }, 60_000);
});
