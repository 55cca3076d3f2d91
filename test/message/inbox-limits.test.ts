/**
 * How much one peer may send (message/inbox-limits): the rule with a fake clock (rate, bursts,
 * refill, storage cap, retries of a message already here), then with real cells on loopback:
 * B takes 60 messages per minute from A (bursts of 15) and keeps at most 2,000 characters of
 * A's messages. The 16th message in a burst gets 429 saying when to retry and gets through a second
 * later; a retry of a delivered one is still 200; a message over the cap gets 507, and sent
 * through the CLI it stays queued on A with the reason (not failed). Nothing over a limit is stored.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { cliJson, destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import { callPeerRaw } from "../../src/net/peer-client.ts";
import { sealJson } from "../../src/protocol/sealed-json.ts";
import { MSG_INFO } from "../../src/protocol/labels.ts";
import { newMessageId } from "../../src/protocol/message.ts";
import { migrate } from "../../src/store/migrations.ts";
import { InboxFull, InboxLimits } from "../../src/message/inbox-limits.ts";
import type { CellId } from "../../src/core/types.ts";
import type { MessageView } from "../../src/message/types.ts";

describe("InboxLimits (the rule)", () => {
  const peer = "ab".repeat(32) as CellId;
  const other = "cd".repeat(32) as CellId;
  const db = new Database(":memory:");
  migrate(db);
  let now = 0;
  const limits = new InboxLimits(db, { message_rate_per_minute: 60, message_store_chars_per_peer: 100 }, () => now);
  const refusal = (f: () => void): InboxFull | null => {
    try {
      f();
      return null;
    } catch (e) {
      if (e instanceof InboxFull) return e;
      throw e;
    }
  };

  test("a burst of a quarter of the rate, then one per second; each peer has its own bucket", () => {
    for (let i = 0; i < 15; i++) expect(refusal(() => limits.admit(peer, 1))).toBeNull();
    const r = refusal(() => limits.admit(peer, 1))!;
    expect(r.status).toBe(429);
    expect(r.retryAfterS).toBe(1);
    expect(r.message).toContain("over 60 messages per minute");
    expect(refusal(() => limits.admit(other, 1))).toBeNull();
    now += 1000;
    expect(refusal(() => limits.admit(peer, 1))).toBeNull();
    expect(refusal(() => limits.admit(peer, 1))!.status).toBe(429);
  });

  test("characters kept from a peer are capped; other peers and outgoing messages do not count", () => {
    now += 60_000;
    db.query("INSERT INTO messages (id, peer, direction, text, sent_at, at, state) VALUES ('m1', ?, 'in', ?, 1, 1, 'delivered')").run(
      peer,
      "x".repeat(90),
    );
    db.query("INSERT INTO messages (id, peer, direction, text, sent_at, at, state) VALUES ('m2', ?, 'out', ?, 1, 1, 'delivered')").run(
      peer,
      "y".repeat(90),
    );
    expect(refusal(() => limits.admit(peer, 10))).toBeNull();
    const r = refusal(() => limits.admit(peer, 11))!;
    expect(r.status).toBe(507);
    expect(r.message).toContain("keeps 90 characters");
    expect(refusal(() => limits.admit(other, 100))).toBeNull();
  });
});

describe("limits on real cells", () => {
  let a: TestCell, b: TestCell;
  let aId = "",
    bId = "";
  const keysOf = (cell: TestCell) => loadKeys(resolveLayout({ GROVE_DIR: cell.dir, GROVE_HOME: cell.home }));
  const send = async (text: string, id = newMessageId()) => {
    const body = await sealJson(keysOf(b).x25519Public, { v: 1, id, text, sent_at: Date.now() }, MSG_INFO, aId);
    return { id, ans: await callPeerRaw(keysOf(a), b.url, bId as CellId, "POST", "/peer/msg", body) };
  };
  const heldOnB = async () => (await cliJson<MessageView[]>(b, ["msgs", aId, "--limit", "1000"])).length;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startCell({ config: { sync_interval_s: 3600, mdns: false } }),
      startCell({ config: { sync_interval_s: 3600, mdns: false, message_rate_per_minute: 60, message_store_chars_per_peer: 2000 } }),
    ]);
    [aId, bId] = await Promise.all([a, b].map(async (x) => (await x.cli(["id"])).stdout.trim()));
    await pair(a, b);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a, b].map(destroyCell));
  });

  test("a burst over the rate: 429 saying when to retry, nothing stored; a retry of a delivered message is 200; later it gets through", async () => {
    const first = await send("message 1");
    expect(first.ans.status).toBe(200);
    for (let i = 2; i <= 15; i++) expect((await send(`message ${i}`)).ans.status).toBe(200);
    const over = await send("message 16");
    expect(over.ans.status).toBe(429);
    expect(JSON.parse(new TextDecoder().decode(over.ans.body)).error).toContain("over 60 messages per minute");
    expect(await heldOnB()).toBe(15);
    const again = await send("message 1", first.id);
    expect(again.ans.status).toBe(200);
    expect(JSON.parse(new TextDecoder().decode(again.ans.body))).toMatchObject({ received: true, duplicate: true });
    await Bun.sleep(1100);
    const later = await send("message 16", over.id);
    expect([later.ans.status, new TextDecoder().decode(later.ans.body)]).toEqual([200, expect.stringContaining('"duplicate":false')]);
    expect(await heldOnB()).toBe(16);
  }, 30_000);

  test("over the storage cap: 507, nothing stored; through the CLI the message stays queued on A with the reason", async () => {
    await Bun.sleep(1100);
    const big = "z".repeat(1990);
    const r = await send(big);
    expect(r.ans.status).toBe(507);
    expect(JSON.parse(new TextDecoder().decode(r.ans.body)).error).toContain("at most 2000");
    expect(await heldOnB()).toBe(16);
    const cli = await a.cli(["msg", bId.slice(0, 8), big, "--json"]);
    expect(cli.code).toBe(0);
    const m = JSON.parse(cli.stdout) as MessageView;
    expect(m.state).toBe("queued");
    expect(m.error).toContain("at most 2000");
    expect(await heldOnB()).toBe(16);
  }, 30_000);
});
