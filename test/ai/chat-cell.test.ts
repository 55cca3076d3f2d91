// Local AI end to end on a real cell process: model upload and listing, POST /api/chat streamed
// (NDJSON and SSE), conversations, `grove ask` / `grove models`, and a model that aborts
// llama.cpp while the cell keeps serving. Real node-llama-cpp, threads 1, the fixture's model.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { encodeGguf, tinyModel } from "../fixtures/tiny-gguf.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { textLines } from "../../src/core/lines.ts";

let cell: TestCell;
beforeAll(async () => {
  cell = await startCell({ config: { llm_threads: 1, llm_max_tokens: 4000, max_upload_bytes: 2 * 1024 * 1024, ollama_url: "off" } });
}, 120_000);
afterAll(() => destroyCell(cell));

const tiny = () => {
  const { meta, tensors } = tinyModel();
  return encodeGguf(meta, tensors);
};
const aborting = () => {
  const { meta, tensors } = tinyModel({ omit: ["llama.feed_forward_length"] });
  return encodeGguf(meta, tensors);
};

/** POST /api/chat and read the streamed lines as they come. */
async function chat(body: Record<string, unknown>): Promise<{ status: number; lines: Record<string, unknown>[]; type: string | null }> {
  const res = await cell.api("/api/chat", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) return { status: res.status, lines: [(await res.json()) as Record<string, unknown>], type: res.headers.get("content-type") };
  const lines: Record<string, unknown>[] = [];
  for await (const line of textLines(res.body!)) lines.push(JSON.parse(line));
  return { status: res.status, lines, type: res.headers.get("content-type") };
}

test("models are uploaded, checked and listed", async () => {
  expect(await (await cell.api("/api/models")).json()).toEqual([]);
  const up = await cell.api("/api/models/tiny.gguf", { method: "PUT", body: tiny() });
  expect(up.status).toBe(201);
  const entry = await up.json();
  expect(entry).toMatchObject({
    name: "tiny.gguf",
    error: null,
    info: { architecture: "llama", embedding_length: 64, block_count: 2, quantization: "F32" },
  });
  expect(existsSync(join(cell.dir, "models", "tiny.gguf"))).toBe(true);

  const notModel = await cell.api("/api/models/x.gguf", { method: "PUT", body: "hello, not a model" });
  expect(notModel.status).toBe(400);
  expect((await notModel.json()).error).toContain("not a GGUF model");
  expect((await cell.api("/api/models/x.bin", { method: "PUT", body: tiny() })).status).toBe(400);
  expect((await cell.api("/api/models/big.gguf", { method: "PUT", body: new Uint8Array(3 * 1024 * 1024) })).status).toBe(413);
  expect(readdirSync(join(cell.dir, "models"))).toEqual(["tiny.gguf"]); // no temp files left

  const list = await (await cell.api("/api/models")).json();
  expect(list.map((m: { name: string }) => m.name)).toEqual(["tiny.gguf"]);
});

let conversation = "";

test("POST /api/chat streams the answer as NDJSON and keeps the conversation", async () => {
  const r = await chat({ question: "What is a cell?", max_tokens: 10, temperature: 0 });
  expect(r.status).toBe(200);
  expect(r.type).toContain("application/x-ndjson");
  const tokens = r.lines.filter((l) => "token" in l);
  const done = r.lines.at(-1)!;
  expect(tokens.length).toBeGreaterThan(3);
  expect(done).toMatchObject({ done: true, model: "tiny.gguf", tokens: 10, history: 0 });
  conversation = done.conversation as string;

  const next = await chat({ question: "Tell me more.", conversation, max_tokens: 5, temperature: 0 });
  expect(next.lines.at(-1)).toMatchObject({ done: true, conversation, history: 2, load_ms: 0 });

  const list = await (await cell.api("/api/chat")).json();
  expect(list).toEqual([expect.objectContaining({ id: conversation, title: "What is a cell?", model: "tiny.gguf", turns: 4 })]);
  const conv = await (await cell.api(`/api/chat/${conversation}`)).json();
  expect(conv.turns.map((t: { role: string }) => t.role)).toEqual(["user", "assistant", "user", "assistant"]);
  expect(conv.turns[1].text).toBe(tokens.map((t) => t.token).join(""));
  expect((await cell.api("/api/chat/0123456789abcdef")).status).toBe(404);
});

test("with Accept: text/event-stream the answer comes as SSE events", async () => {
  const res = await cell.api("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ question: "hi", max_tokens: 4, temperature: 0 }),
  });
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const text = await res.text();
  expect(text.match(/^event: token$/gm)!.length).toBeGreaterThan(1);
  expect(text).toMatch(/event: done\ndata: \{"done":true,.*"tokens":4/);
});

test("a client that goes away stops the answer, which is not kept", async () => {
  const before = (await (await cell.api("/api/chat")).json()).length;
  const stop = new AbortController();
  const res = await cell.api("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question: "Talk for a long time.", max_tokens: 4000, temperature: 0 }),
    signal: stop.signal,
  });
  const reader = res.body!.getReader();
  await reader.read(); // the first piece
  stop.abort();
  await reader.cancel().catch(() => {});
  // The host was told to stop: the next question is answered at once, not after 4000 tokens.
  const t0 = performance.now();
  const next = await chat({ question: "Quick?", max_tokens: 2, temperature: 0 });
  expect(next.lines.at(-1)).toMatchObject({ done: true, tokens: 2 });
  expect(performance.now() - t0).toBeLessThan(1500);
  expect((await (await cell.api("/api/chat")).json()).length).toBe(before + 1); // only "Quick?"
});

test("bad requests get a status and a one-line error", async () => {
  expect((await chat({ question: "" })).status).toBe(400);
  expect((await chat({ question: "x", conversation: "nope" })).status).toBe(400);
  expect((await chat({ question: "x", model: "absent.gguf" })).status).toBe(404);
  expect((await chat({ question: "x", bogus: 1 })).status).toBe(400);
  const noAuth = await fetch(cell.url + "/api/chat", { method: "POST", body: JSON.stringify({ question: "x" }) });
  expect(noAuth.status).toBe(401);
});

test("grove ask streams to stdout; grove models lists", async () => {
  const r = await cell.cli(["ask", "What", "is", "Grove?", "--max-tokens", "6"]);
  expect(r.code).toBe(0);
  expect(r.stdout.trim().length).toBeGreaterThan(0);
  expect(r.stderr).toMatch(/conversation [0-9a-f]{16}, tiny\.gguf: 6 tokens/);

  const j = await cell.cli(["ask", "Again?", "--conversation", conversation, "--max-tokens", "3", "--json"]);
  expect(j.code).toBe(0);
  const lines = j.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(lines.at(-1)).toMatchObject({ done: true, conversation, tokens: 3, history: 4 });

  const m = await cell.cli(["models"]);
  expect(m.code).toBe(0);
  expect(m.stdout.trim()).toMatch(
    /^NAME\s+SIZE\s+ARCH\s+PARAMS\s+QUANT\s+CONTEXT\s+SOURCE\s+TOK\/S\ntiny\.gguf\s+\d+(\.\d)? KiB\s+llama\s+121\.5K\s+F32\s+2048\s+local\s+\d+$/,
  );
  const mj = await cell.cli(["models", "--json"]);
  const listed = JSON.parse(mj.stdout);
  expect(listed.models[0]).toMatchObject({ name: "tiny.gguf", source: "local", parameters: 121536, info: { parameters: 121536 } });
  expect(listed.models[0].tokens_per_s).toBeGreaterThan(0); // measured on the answers above
  expect(listed.friends).toEqual([]);

  const peer = await cell.cli(["ask", "hi", "--peer", "abcd"]);
  expect(peer.code).toBe(1);
  expect(peer.stderr).toContain("no peer with id abcd");
  const none = await cell.cli(["ask", "hi", "--model", "absent"]);
  expect(none.code).toBe(1);
  expect(none.stderr).toContain("no model named absent.gguf");
});

test("a model that aborts llama.cpp gives an error; the cell keeps serving and answering", async () => {
  expect((await cell.api("/api/models/aborts.gguf", { method: "PUT", body: aborting() })).status).toBe(201);
  const r = await chat({ question: "hello", model: "aborts.gguf" });
  expect(r.status).toBe(502);
  expect(r.lines[0]!.error).toMatch(/^aborts\.gguf: the model host stopped \(SIGABRT\): GGML_ASSERT/);
  expect(cell.proc.exitCode).toBeNull();
  expect((await cell.api("/api/status")).status).toBe(200);
  const ok = await chat({ question: "Still there?", model: "tiny", max_tokens: 3, temperature: 0 });
  expect(ok.lines.at(-1)).toMatchObject({ done: true, tokens: 3 });
  const listed = (await (await cell.api("/api/models")).json()).find((m: { name: string }) => m.name === "aborts.gguf");
  expect(listed.error).toMatch(/failed to load/);

  expect((await cell.api("/api/models/aborts.gguf", { method: "DELETE" })).status).toBe(200);
  expect((await cell.api("/api/models/aborts.gguf", { method: "DELETE" })).status).toBe(404);
});
