/**
 * Messaging with real cells on loopback. A and B are paired; C is paired with A only. A message
 * goes through the CLI and is listed on both sides; /peer/msg refuses (4xx, nothing stored) what
 * is not sealed to the cell by its sender, malformed or oversized payloads and cells that are
 * not peers; the same message twice is stored once. A message to a stopped B stays queued and is
 * delivered once B is back (after A's sync round, or when B writes to A); messages to a removed
 * peer fail with the reason.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cliJson, pair, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import { callPeerRaw } from "../../src/net/peer-client.ts";
import { sealJson } from "../../src/protocol/sealed-json.ts";
import { sealTo } from "../../src/protocol/seal.ts";
import { MSG_INFO } from "../../src/protocol/labels.ts";
import { MAX_MESSAGE_CHARS, newMessageId } from "../../src/protocol/message.ts";
import type { CellId } from "../../src/core/types.ts";
import type { Conversation, MessageView } from "../../src/message/types.ts";

const config = { sync_interval_s: 3600, mdns: false };
let a: TestCell, b: TestCell, c: TestCell;
let aId = "",
  bId = "",
  cId = "";

const keysOf = (cell: TestCell) => loadKeys(resolveLayout({ GROVE_DIR: cell.dir, GROVE_HOME: cell.home }));
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
/** What `cell` holds in its conversation with `peer` (read straight from its API). */
const held = async (cell: TestCell, peer: string) => (await cliJson<MessageView[]>(cell, ["msgs", peer])).length;

async function until<T>(what: string, f: () => Promise<T>, ok: (t: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T;
  do {
    last = await f();
    if (ok(last)) return last;
    await Bun.sleep(150);
  } while (Date.now() < deadline);
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
}

/** POST /peer/msg to B signed by `from`, with `body` as it is (bytes) or JSON. */
const postToB = (from: TestCell, body: Uint8Array | unknown) => callPeerRaw(keysOf(from), b.url, bId as CellId, "POST", "/peer/msg", body);
/** A payload sealed to B as coming from A. */
const sealedFromA = (payload: unknown, to = keysOf(b).x25519Public, sender = aId) => sealJson(to, payload, MSG_INFO, sender);

beforeAll(async () => {
  [a, b, c] = await Promise.all([startCell({ config }), startCell({ config }), startCell({ config })]);
  [aId, bId, cId] = await Promise.all([a, b, c].map(async (x) => (await x.cli(["id"])).stdout.trim()));
  await pair(a, b);
  await pair(a, c);
}, 120_000);

afterAll(async () => {
  await Promise.all([a, b, c].map(destroyCell));
});

describe("messages", () => {
  test("A sends through the CLI; B lists the conversation, then it is read; B's answer reaches A", async () => {
    const sent = await a.cli(["msg", bId.slice(0, 8), "hello", "B,", "this is A"]);
    expect(sent.stderr).toBe("");
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^delivered to .+ \([0-9a-f]{8}\)\n$/);

    const convs = await cliJson<Conversation[]>(b, ["msgs"]);
    const withA = convs.find((x) => x.peer === aId)!;
    expect(withA).toMatchObject({ paired: true, unread: 1, queued: 0, last: { direction: "in", text: "hello B, this is A" } });
    const got = await cliJson<MessageView[]>(b, ["msgs", aId.slice(0, 10)]);
    expect(got).toEqual([
      expect.objectContaining({ peer: aId, direction: "in", text: "hello B, this is A", state: "delivered", read_at: null }),
    ]);
    expect(got[0]!.id).toMatch(/^[0-9a-f]{32}$/);
    // Listing the conversation read it.
    expect((await cliJson<Conversation[]>(b, ["msgs"])).find((x) => x.peer === aId)!.unread).toBe(0);

    const mine = await cliJson<MessageView[]>(a, ["msgs", bId]);
    expect(mine).toEqual([expect.objectContaining({ id: got[0]!.id, direction: "out", state: "delivered", error: null })]);
    expect(mine[0]!.delivered_at).toBeGreaterThanOrEqual(mine[0]!.sent_at);

    // Multi-line text from standard input, and --json.
    const reply = await b.cli(["msg", aId.slice(0, 8), "-", "--json"], { stdin: "  line one\r\nline two  \n" });
    expect(reply.code).toBe(0);
    const r = JSON.parse(reply.stdout) as MessageView;
    expect(r).toMatchObject({ direction: "out", state: "delivered", text: "line one\nline two" });
    const onA = await cliJson<MessageView[]>(a, ["msgs", bId]);
    expect(onA.map((m) => [m.direction, m.text])).toEqual([
      ["out", "hello B, this is A"],
      ["in", "line one\nline two"],
    ]);

    const plain = await a.cli(["msgs", bId.slice(0, 8)]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain("→  delivered  hello B, this is A");
    expect(plain.stdout).toContain("line one ⏎ line two");
    const list = await a.cli(["msgs"]);
    expect(list.stdout).toMatch(/ID\s+NAME\s+UNREAD\s+QUEUED\s+LAST/);
  }, 30_000);

  test("the CLI and API refuse unknown peers and bad text with one line", async () => {
    const unknown = await a.cli(["msg", "ffff0000", "hi"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("grove msg: no peer with id ffff0000\n");
    const list = await a.cli(["msgs", "ffff0000"]);
    expect(list.code).toBe(1);
    expect(list.stderr).toContain("no peer with id ffff0000");
    const empty = await a.cli(["msg", bId, "   "]);
    expect(empty.code).toBe(2);
    const long = await a.api(`/api/messages/${bId}`, { method: "POST", body: JSON.stringify({ text: "x".repeat(MAX_MESSAGE_CHARS + 1) }) });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: string }).error).toContain(`at most ${MAX_MESSAGE_CHARS} characters`);
    const ctl = await a.api(`/api/messages/${bId}`, { method: "POST", body: JSON.stringify({ text: "bell\u0007" }) });
    expect(ctl.status).toBe(400);
    expect((await cliJson<MessageView[]>(a, ["msgs", bId])).length).toBe(2); // nothing stored
  }, 30_000);

  test("/peer/msg refuses what is not sealed to B by its sender, malformed and oversized bodies; nothing is stored", async () => {
    const before = await held(b, aId);
    const ok = { v: 1, id: newMessageId(), text: "secret words", sent_at: Date.now() };
    const sealed = await sealedFromA(ok);
    expect(Buffer.from(sealed).includes(Buffer.from("secret words"))).toBe(false); // not readable on the wire

    const refusals: [string, Uint8Array | unknown, number, string][] = [
      ["sealed to another cell's key", await sealedFromA(ok, keysOf(c).x25519Public), 400, "not a message sealed to this cell"],
      [
        "sealed as coming from another cell (aad)",
        await sealedFromA(ok, keysOf(b).x25519Public, cId),
        400,
        "not a message sealed to this cell",
      ],
      ["plain JSON", ok, 400, "not a message sealed to this cell"],
      ["sealed, not JSON", await sealTo(keysOf(b).x25519Public, new TextEncoder().encode("{not json"), MSG_INFO, aId), 400, "not JSON"],
      ["missing id", await sealedFromA({ v: 1, text: "x", sent_at: 1 }), 400, "bad message: id"],
      ["id not hex", await sealedFromA({ ...ok, id: "z".repeat(32) }), 400, "bad message: id"],
      ["empty text", await sealedFromA({ ...ok, text: " \n " }), 400, "needs some text"],
      ["control characters", await sealedFromA({ ...ok, text: "a\u0000b" }), 400, "control characters"],
      ["text too long", await sealedFromA({ ...ok, text: "é".repeat(MAX_MESSAGE_CHARS + 1) }), 400, "bad message: text"],
      ["sent_at not an integer", await sealedFromA({ ...ok, sent_at: 1.5 }), 400, "bad message: sent_at"],
      ["over 64 KiB", crypto.getRandomValues(new Uint8Array(64 * 1024 + 1)), 413, "at most 65536 bytes"],
    ];
    for (const [what, body, status, says] of refusals) {
      const ans = await postToB(a, body);
      expect({ what, status: ans.status }).toEqual({ what, status });
      expect({ what, error: dec(ans.body) }).toEqual({ what, error: expect.stringContaining(says) });
    }
    expect(await held(b, aId)).toBe(before);
    // Refusals are logged by B.
    expect(b.output()).toContain("refused POST /peer/msg: body is not a message sealed to this cell");
  }, 30_000);

  test("a message from a newer build, with a field this build does not know: taken, the field ignored", async () => {
    const before = await held(b, aId);
    const ans = await postToB(
      a,
      await sealedFromA({ v: 1, id: newMessageId(), text: "from the future", sent_at: Date.now(), priority: "high" }),
    );
    expect(ans.status).toBe(200);
    expect(await held(b, aId)).toBe(before + 1);
    const list = await cliJson<MessageView[]>(b, ["msgs", aId]);
    expect(list.some((m) => m.text === "from the future")).toBe(true);
  });

  test("a cell that is not B's peer, or an unsigned request, is refused", async () => {
    const payload = { v: 1, id: newMessageId(), text: "from a stranger", sent_at: Date.now() };
    const fromC = await postToB(c, await sealJson(keysOf(b).x25519Public, payload, MSG_INFO, cId));
    expect(fromC.status).toBe(401);
    const unsigned = await fetch(`${b.url}/peer/msg`, { method: "POST", body: (await sealedFromA(payload)) as Uint8Array<ArrayBuffer> });
    expect(unsigned.status).toBe(401);
    expect((await cliJson<Conversation[]>(b, ["msgs"])).some((x) => x.peer === cId)).toBe(false);
  }, 30_000);

  test("the same message twice is stored once (200 both times); an id B already uses is refused", async () => {
    const before = await held(b, aId);
    const payload = { v: 1, id: newMessageId(), text: "only once", sent_at: Date.now() };
    const first = await postToB(a, await sealedFromA(payload));
    const again = await postToB(a, await sealedFromA(payload));
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(JSON.parse(dec(first.body))).toEqual({ received: true, id: payload.id, duplicate: false });
    expect(JSON.parse(dec(again.body))).toEqual({ received: true, id: payload.id, duplicate: true });
    expect(await held(b, aId)).toBe(before + 1);
    // An id B used for its own message cannot be taken by A's.
    const bOwn = (await cliJson<MessageView[]>(b, ["msgs", aId])).find((m) => m.direction === "out")!;
    const taken = await postToB(a, await sealedFromA({ ...payload, id: bOwn.id }));
    expect(taken.status).toBe(409);
    expect(await held(b, aId)).toBe(before + 1);
  }, 30_000);

  test("to a stopped B the message is queued; after B is back, A's sync round delivers it exactly once", async () => {
    await b.stop();
    const q = await a.cli(["msg", bId.slice(0, 8), "while you were away"]);
    expect(q.code).toBe(0);
    expect(q.stdout).toContain("queued for");
    const queued = (await cliJson<MessageView[]>(a, ["msgs", bId])).at(-1)!;
    expect(queued).toMatchObject({ text: "while you were away", state: "queued" });
    expect(queued.error).toBeTruthy(); // why it did not get through
    expect((await cliJson<Conversation[]>(a, ["msgs"])).find((x) => x.peer === bId)!.queued).toBe(1);

    b = await startCell({ root: b.root, config, listen: { host: "127.0.0.1", port: b.port } });
    expect((await a.cli(["sync"])).code).toBe(0); // probes B again, then retries what is queued
    const done = await until(
      "delivery after the sync round",
      () => cliJson<MessageView[]>(a, ["msgs", bId]),
      (l) => l.find((m) => m.id === queued.id)?.state === "delivered",
    );
    expect(done.find((m) => m.id === queued.id)!.error).toBeNull();
    const onB = (await cliJson<MessageView[]>(b, ["msgs", aId])).filter((m) => m.text === "while you were away");
    expect(onB.map((m) => m.id)).toEqual([queued.id]);
    // A second round sends nothing again.
    expect((await a.cli(["sync"])).code).toBe(0);
    await Bun.sleep(300);
    expect((await cliJson<MessageView[]>(b, ["msgs", aId])).filter((m) => m.text === "while you were away").length).toBe(1);
  }, 60_000);

  test("a message from B makes A deliver what it queued for B at once", async () => {
    await b.stop();
    const q = await cliJson<MessageView>(a, ["msg", bId, "second try"]);
    expect(q.state).toBe("queued");
    b = await startCell({ root: b.root, config, listen: { host: "127.0.0.1", port: b.port } });
    expect((await b.cli(["msg", aId, "I am back"])).code).toBe(0);
    await until(
      "delivery after B wrote",
      () => cliJson<MessageView[]>(a, ["msgs", bId]),
      (l) => l.find((m) => m.id === q.id)?.state === "delivered",
      10_000,
    );
    expect((await cliJson<MessageView[]>(b, ["msgs", aId])).filter((m) => m.id === q.id).length).toBe(1);
  }, 60_000);

  test("messages queued for a peer that is then removed fail with the reason", async () => {
    await b.stop();
    const q = await cliJson<MessageView>(a, ["msg", bId, "never to arrive"]);
    expect(q.state).toBe("queued");
    expect((await a.cli(["peers", "remove", bId])).code).toBe(0);
    const conv = (await cliJson<Conversation[]>(a, ["msgs"])).find((x) => x.peer === bId)!;
    expect(conv).toMatchObject({ paired: false, queued: 0, failed: 1 });
    const m = (await cliJson<MessageView[]>(a, ["msgs", bId.slice(0, 8)])).find((x) => x.id === q.id)!;
    expect(m).toMatchObject({ state: "failed", error: "the peer was removed from the fleet" });
    const again = await a.cli(["msg", bId.slice(0, 8), "hello?"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("no peer with id");
  }, 30_000);
});
