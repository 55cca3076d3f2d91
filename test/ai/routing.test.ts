// Questions routed to a friend's cell, on real cell processes and real node-llama-cpp (threads
// 1, the fixture's tiny model): B has the model, A and C have none, D has one but shares none.
// A and B are friends (A asked, B accepted); C is paired with B and asked it to be friends, but B
// has not accepted.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { encodeGguf, tinyModel } from "../fixtures/tiny-gguf.ts";
import { cliJson, destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { befriend, cellIdOf } from "../helpers/friends.ts";
import type { Offer } from "../../src/ai/remote.ts";
import { textLines } from "../../src/core/lines.ts";

const base = { llm_threads: 1, llm_max_tokens: 64, ollama_url: "off", sync_interval_s: 3600, mdns: false };
let a: TestCell, b: TestCell, c: TestCell, d: TestCell;
const ids: Record<string, string> = {};

const tiny = () => {
  const { meta, tensors } = tinyModel();
  return encodeGguf(meta, tensors);
};

type Line = Record<string, unknown>;
/** POST /api/chat on `cell` and read the NDJSON lines, with the time each arrived. */
async function chat(cell: TestCell, body: Record<string, unknown>): Promise<{ status: number; lines: Line[] }> {
  const res = await cell.api("/api/chat", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) return { status: res.status, lines: [(await res.json()) as Line] };
  const lines: Line[] = [];
  for await (const line of textLines(res.body!)) lines.push(JSON.parse(line));
  return { status: res.status, lines };
}

const ask = async (on: TestCell, other: TestCell) => expect((await on.cli(["peers", "friend", ids[other.dir]!])).code).toBe(0);
const probe = async (on: TestCell) => expect((await on.cli(["peers", "--probe"])).code).toBe(0);

beforeAll(async () => {
  [a, b, c, d] = await Promise.all([
    startCell({ config: base }),
    startCell({ config: base }),
    startCell({ config: base }),
    startCell({ config: { ...base, llm_share: "none" } }),
  ]);
  for (const x of [a, b, c, d]) ids[x.dir] = cellIdOf(x);
  await Promise.all([pair(b, a), pair(b, c), pair(d, a)]);
  await Promise.all([befriend(a, b), ask(c, b)]);
  await befriend(a, d);
  for (const x of [b, d]) expect((await x.api("/api/models/tiny.gguf", { method: "PUT", body: tiny() })).status).toBe(201);
  // B answers once on its own: its card then says how fast the model is.
  const own = await chat(b, { question: "warm up", max_tokens: 16, temperature: 0 });
  expect(own.lines.at(-1)).toMatchObject({ done: true, source: "local", cell: ids[b.dir] });
  await Promise.all([probe(a), probe(c)]); // A and C fetch the peers' new cards
}, 120_000);

afterAll(() => Promise.all([a, b, c, d].map((x) => destroyCell(x))));

test("B's card offers its model with the measured speed; D's (llm_share none) offers none", async () => {
  const offered = (await (await a.api("/api/models/friends")).json()) as Offer[];
  expect(offered.map((o) => [o.peer, o.model.name, o.model.source])).toEqual([[ids[b.dir], "tiny.gguf", "local"]]);
  expect(offered[0]!.model.tokens_per_s).toBeGreaterThan(0);
  expect(offered[0]!.model.parameters).toBe(121536);
  // The card says what B runs on: its RAM (whole GiB) and its GPU as probed (null on this machine's kind).
  const { totalmem } = await import("node:os");
  const { detectGpu } = await import("../../src/ai/gpu-probe.ts");
  expect(offered[0]!.hardware).toEqual({ ram_bytes: Math.floor(totalmem() / 1024 ** 3) * 1024 ** 3, gpu: detectGpu() });
  // D is A's friend too and has a model, but shares none: its card offers nothing.
  const peers = await cliJson<{ id: string; friend: boolean }[]>(a, ["peers"]);
  expect(
    peers
      .filter((p) => p.friend)
      .map((p) => p.id)
      .sort(),
  ).toEqual([ids[b.dir], ids[d.dir]].sort());
  // A's own listing has no model; `grove models` shows B's.
  expect(await (await a.api("/api/models")).json()).toEqual([]);
  const m = await a.cli(["models"]);
  expect(m.code).toBe(0);
  expect(m.stdout).toMatch(
    /FRIEND'S MODEL\s+CELL\s+SIZE\s+PARAMS\s+SOURCE\s+TOK\/S\s+HARDWARE\ntiny\.gguf\s+\S+ \([0-9a-f]{8}\)\s+\S+ KiB\s+121\.5K\s+local\s+\d+\s+\d+(\.\d)? GiB RAM/,
  );
});

let conversation = "";

test("a question asked on A, which has no model, is answered by B, token by token", async () => {
  const r = await chat(a, { question: "What is a grove?", max_tokens: 12, temperature: 0 });
  expect(r.status).toBe(200);
  const tokens = r.lines.filter((l) => "token" in l);
  expect(tokens.length).toBeGreaterThan(1); // more than one event before done
  const done = r.lines.at(-1)!;
  expect(done).toMatchObject({ done: true, source: "peer", cell: ids[b.dir], model: "tiny.gguf", tokens: 12, history: 0 });
  conversation = done.conversation as string;
  // The same question asked on B itself gives the same greedy answer: it is B's model talking.
  const onB = await chat(b, { question: "What is a grove?", max_tokens: 12, temperature: 0 });
  expect(
    onB.lines
      .filter((l) => "token" in l)
      .map((l) => l.token)
      .join(""),
  ).toBe(tokens.map((l) => l.token).join(""));
  // A keeps the conversation, with the cell that answered; B keeps nothing of A's.
  const conv = await (await a.api(`/api/chat/${conversation}`)).json();
  expect(conv).toMatchObject({ model: "tiny.gguf", cell: ids[b.dir] });
  expect(conv.turns.map((t: { role: string; cell: string | null }) => [t.role, t.cell])).toEqual([
    ["user", null],
    ["assistant", ids[b.dir]],
  ]);
  expect(((await (await b.api("/api/chat")).json()) as { id: string }[]).some((x) => x.id === conversation)).toBe(false);
});

test("continuing the conversation asks B again, with the history", async () => {
  const r = await chat(a, { question: "And then?", conversation, max_tokens: 4, temperature: 0 });
  expect(r.lines.at(-1)).toMatchObject({ done: true, conversation, cell: ids[b.dir], history: 2, tokens: 4 });
});

test("grove ask --peer streams B's answer to stdout and says which cell answered", async () => {
  const r = await a.cli(["ask", "Who", "are", "you?", "--peer", ids[b.dir]!.slice(0, 8), "--max-tokens", "6"]);
  expect(r.code).toBe(0);
  expect(r.stdout.trim().length).toBeGreaterThan(0);
  expect(r.stderr).toContain(`tiny.gguf on `);
  expect(r.stderr).toContain(`(${ids[b.dir]!.slice(0, 8)}): 6 tokens`);
  const j = await a.cli(["ask", "Again", "--peer", ids[b.dir]!, "--max-tokens", "3", "--json"]);
  const lines = j.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(lines.filter((l) => "token" in l).length).toBeGreaterThan(1);
  expect(lines.at(-1)).toMatchObject({ done: true, source: "peer", tokens: 3 });
});

test("a non-friend is refused: C is paired with B and asked it to be friends, but B has not accepted", async () => {
  const r = await c.cli(["ask", "hello", "--peer", ids[b.dir]!]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/refused: cell [0-9a-f]{8} is not a friend of this cell: its models answer friends only/);
  // Without --peer C has no friend to route to: a request not yet accepted is not a friendship.
  const auto = await chat(c, { question: "hello" });
  expect(auto.status).toBe(404);
  expect(String(auto.lines[0]!.error)).toContain("no friend's cell offers one");
  expect(((await (await c.api("/api/chat")).json()) as unknown[]).length).toBe(0);
});

test("llm_share none refuses even a friend", async () => {
  const r = await chat(a, { question: "hello", peer: ids[d.dir] });
  expect(r.status).toBe(403);
  expect(String(r.lines[0]!.error)).toContain('does not share its models (its llm_share is "none")');
});

test("A's own model answers once it has one; --peer still asks B", async () => {
  expect((await a.api("/api/models/tiny.gguf", { method: "PUT", body: tiny() })).status).toBe(201);
  const own = await chat(a, { question: "Mine now?", max_tokens: 3, temperature: 0 });
  expect(own.lines.at(-1)).toMatchObject({ done: true, source: "local", cell: ids[a.dir] });
  const routed = await chat(a, { question: "Yours?", max_tokens: 3, temperature: 0, peer: ids[b.dir]!.slice(0, 6) });
  expect(routed.lines.at(-1)).toMatchObject({ done: true, source: "peer", cell: ids[b.dir] });
  expect((await chat(a, { question: "x", peer: "abcdef" })).status).toBe(404);
});
