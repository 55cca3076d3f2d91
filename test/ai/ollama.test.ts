// Ollama through the real `ollama` npm client against a small fake Ollama on loopback that
// speaks the routes the client uses (GET /api/tags, POST /api/chat streamed as NDJSON): its
// models are listed and answer, in the assistant and on a real cell; a missing Ollama offers
// nothing; a question left early stops the stream.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "bun";
import { Assistant, type AskEvent } from "../../src/ai/assistant.ts";
import { OllamaSource, parseParameterSize } from "../../src/ai/ollama.ts";
import { setQuiet } from "../../src/core/log.ts";
import { migrate } from "../../src/store/migrations.ts";
import { destroyCell, freePort, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";

interface ChatBody {
  model: string;
  stream: boolean;
  messages: { role: string; content: string }[];
  options?: { num_predict?: number; temperature?: number };
}

const WORDS = ["Cells ", "keep ", "your ", "files ", "sealed ", "and ", "near."];
let server: Server<undefined>;
let url = "";
const requests: ChatBody[] = [];
let cancelled = 0;

function fakeOllama(): Server<undefined> {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method === "GET" && path === "/api/tags") {
        return Response.json({
          models: [
            {
              name: "fake:1b",
              model: "fake:1b",
              modified_at: "2025-01-02T03:04:05Z",
              size: 1_300_000_000,
              digest: "ab".repeat(32),
              details: {
                parent_model: "",
                format: "gguf",
                family: "llama",
                families: ["llama"],
                parameter_size: "1.2B",
                quantization_level: "Q4_K_M",
              },
            },
          ],
        });
      }
      if (req.method === "POST" && path === "/api/chat") {
        const body = (await req.json()) as ChatBody;
        requests.push(body);
        if (body.model !== "fake:1b") return Response.json({ error: `model '${body.model}' not found` }, { status: 404 });
        const n = Math.min(body.options?.num_predict ?? WORDS.length, WORDS.length);
        const enc = new TextEncoder();
        const line = (o: unknown) => enc.encode(JSON.stringify(o) + "\n");
        let i = 0;
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(ctl) {
              await Bun.sleep(5);
              if (i < n) {
                ctl.enqueue(
                  line({
                    model: body.model,
                    created_at: new Date().toISOString(),
                    message: { role: "assistant", content: WORDS[i++] },
                    done: false,
                  }),
                );
                return;
              }
              ctl.enqueue(
                line({
                  model: body.model,
                  created_at: new Date().toISOString(),
                  message: { role: "assistant", content: "" },
                  done: true,
                  done_reason: "stop",
                  total_duration: 40e6,
                  load_duration: 2e6,
                  prompt_eval_count: 9,
                  prompt_eval_duration: 1e6,
                  eval_count: n,
                  eval_duration: 35e6,
                }),
              );
              ctl.close();
            },
            cancel() {
              cancelled++;
            },
          }),
          { headers: { "content-type": "application/x-ndjson" } },
        );
      }
      return Response.json({ error: "not found" }, { status: 404 });
    },
  });
}

let root: string;
let db: Database;
let a: Assistant;
let cell: TestCell | undefined;

beforeAll(() => {
  setQuiet(true);
  server = fakeOllama();
  url = `http://127.0.0.1:${server.port}`;
  root = tempRoot("grove-ollama-");
  mkdirSync(join(root, "models"));
  db = new Database(":memory:", { strict: true });
  migrate(db);
  a = new Assistant({
    db,
    modelsDir: join(root, "models"),
    threads: 1,
    idleMs: 60_000,
    maxTokens: 64,
    ollama: new OllamaSource(url, true),
    self: { id: "ab".repeat(32), name: "here" },
  });
});
afterAll(async () => {
  a.close();
  db.close();
  await destroyCell(cell);
  server.stop(true);
  rmSync(root, { recursive: true, force: true });
});

async function collect(events: AsyncGenerator<AskEvent>) {
  const tokens: string[] = [];
  let done: Extract<AskEvent, { done: true }> | null = null;
  for await (const ev of events) {
    if ("token" in ev) tokens.push(ev.token);
    else done = ev;
  }
  return { tokens, done: done! };
}

test("parameter sizes as Ollama writes them", () => {
  expect(parseParameterSize("1.2B")).toBe(1_200_000_000);
  expect(parseParameterSize("494.03M")).toBe(494_030_000);
  expect(parseParameterSize("137K")).toBe(137_000);
  expect(parseParameterSize("")).toBeNull();
  expect(parseParameterSize("big")).toBeNull();
});

test("Ollama's models are listed beside the files, with source ollama", async () => {
  const list = await a.models();
  expect(list).toEqual([
    expect.objectContaining({
      name: "fake:1b",
      source: "ollama",
      size: 1_300_000_000,
      architecture: "llama",
      parameters: 1_200_000_000,
      quantization: "Q4_K_M",
      error: null,
      tokens_per_s: null,
    }),
  ]);
  expect(a.ollamaStatus()).toMatchObject({ url, available: true, error: null });
  expect(a.cardModels()).toEqual([
    { name: "fake:1b", source: "ollama", parameters: 1_200_000_000, size: 1_300_000_000, tokens_per_s: null },
  ]);
});

test("an Ollama model answers, streamed, and the conversation is kept", async () => {
  const r = await collect(a.ask({ question: "What do cells do?", model: "fake:1b", max_tokens: 5, temperature: 0 }));
  expect(r.tokens).toEqual(WORDS.slice(0, 5));
  expect(r.done).toMatchObject({
    done: true,
    model: "fake:1b",
    source: "ollama",
    cell: "ab".repeat(32),
    tokens: 5,
    prompt_tokens: 9,
    load_ms: 2,
  });
  const sent = requests.at(-1)!;
  expect(sent).toMatchObject({ model: "fake:1b", stream: true, options: { num_predict: 5, temperature: 0 } });
  expect(sent.messages.map((m) => m.role)).toEqual(["system", "user"]);
  expect(sent.messages[1]!.content).toBe("What do cells do?");
  // Continued: the history goes to Ollama; with no model file here, Ollama's is the default.
  const next = await collect(a.ask({ question: "And?", conversation: r.done.conversation, max_tokens: 2 }));
  expect(next.done).toMatchObject({ model: "fake:1b", history: 2, tokens: 2 });
  expect(requests.at(-1)!.messages.map((m) => [m.role, m.content])).toEqual([
    ["system", expect.any(String)],
    ["user", "What do cells do?"],
    ["assistant", WORDS.slice(0, 5).join("")],
    ["user", "And?"],
  ]);
  // The speed was measured on these answers.
  expect((await a.models())[0]!.tokens_per_s).toBeGreaterThan(0);
});

test("leaving early stops Ollama's stream", async () => {
  const before = cancelled;
  for await (const ev of a.ask({ question: "Long one", model: "fake:1b", max_tokens: 7 })) if ("token" in ev) break;
  const deadline = Date.now() + 2000;
  while (cancelled === before && Date.now() < deadline) await Bun.sleep(10);
  expect(cancelled).toBe(before + 1);
});

test("an Ollama that does not answer offers nothing, and says why", async () => {
  const gone = new OllamaSource(`http://127.0.0.1:${freePort()}`, true, 500);
  expect(await gone.refresh()).toEqual([]);
  expect(gone.status()).toMatchObject({ available: false });
  expect(gone.status().error).toBeTruthy();
});

test("a cell with ollama_url lists and answers with Ollama's models", async () => {
  cell = await startCell({ config: { ollama_url: url, llm_threads: 1 } });
  const models = await (await cell.api("/api/models")).json();
  expect(models).toEqual([expect.objectContaining({ name: "fake:1b", source: "ollama" })]);
  const res = await cell.api("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question: "hello", max_tokens: 3 }),
  });
  const lines = (await res.text())
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(lines.filter((l) => "token" in l).map((l) => l.token)).toEqual(WORDS.slice(0, 3));
  expect(lines.at(-1)).toMatchObject({ done: true, model: "fake:1b", source: "ollama" });
  const r = await cell.cli(["models"]);
  expect(r.stdout).toMatch(/fake:1b\s+1\.2 GiB\s+llama\s+1\.2B\s+Q4_K_M\s+\?\s+ollama/);
}, 60_000);
