// The assistant in-process, on real node-llama-cpp in its model host child (threads 1) with
// the tiny model the fixture writes: streaming, continued conversations, broken models.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Assistant, type AskEvent, type AskRequest } from "../../src/ai/assistant.ts";
import { GroveError } from "../../src/core/errors.ts";
import { setQuiet } from "../../src/core/log.ts";
import { migrate } from "../../src/store/migrations.ts";
import { writeBrokenModel, writeTinyModel } from "../fixtures/tiny-gguf.ts";
import { tempRoot } from "../helpers/cell.ts";

type Done = Extract<AskEvent, { done: true }>;

let root: string;
let models: string;
let db: Database;
let a: Assistant;

beforeAll(() => {
  setQuiet(true);
  root = tempRoot("grove-assistant-");
  models = join(root, "models");
  mkdirSync(models);
  writeTinyModel(join(models, "tiny.gguf"));
  db = new Database(":memory:", { strict: true });
  migrate(db);
  a = new Assistant({ db, modelsDir: models, threads: 1, idleMs: 60_000, maxTokens: 64 });
});
afterAll(() => {
  a.close();
  db.close();
  rmSync(root, { recursive: true, force: true });
});

async function ask(req: AskRequest, on: Assistant = a): Promise<{ tokens: string[]; done: Done }> {
  const tokens: string[] = [];
  let done: Done | null = null;
  for await (const ev of on.ask(req)) {
    if ("token" in ev) {
      expect(done).toBeNull(); // nothing after done
      tokens.push(ev.token);
    } else done = ev;
  }
  expect(done).not.toBeNull();
  return { tokens, done: done! };
}

async function failure(req: AskRequest, on: Assistant = a): Promise<GroveError> {
  try {
    for await (const _ of on.ask(req));
  } catch (e) {
    expect(e).toBeInstanceOf(GroveError);
    return e as GroveError;
  }
  throw new Error("the question was answered");
}

let first: { tokens: string[]; done: Done };

test("a local question streams its answer token by token and is stored", async () => {
  first = await ask({ question: "What does a grove cell keep?", max_tokens: 12, temperature: 0 });
  expect(first.tokens.length).toBeGreaterThan(3);
  expect(first.done).toMatchObject({ done: true, model: "tiny.gguf", tokens: 12, history: 0 });
  expect(first.done.conversation).toMatch(/^[0-9a-f]{16}$/);
  expect(first.done.prompt_tokens).toBeGreaterThan(10);
  expect(first.done.first_token_ms).not.toBeNull();
  const conv = a.conversation(first.done.conversation);
  expect(conv.title).toBe("What does a grove cell keep?");
  expect(conv.turns.map((t) => [t.role, t.text])).toEqual([
    ["user", "What does a grove cell keep?"],
    ["assistant", first.tokens.join("")],
  ]);
  expect(conv.turns[1]).toMatchObject({ model: "tiny.gguf", tokens: 12 });
});

test("continuing a conversation sends its history to the model", async () => {
  const id = first.done.conversation;
  const next = await ask({ question: "And what else?", conversation: id, max_tokens: 6, temperature: 0 });
  expect(next.done.conversation).toBe(id);
  expect(next.done.history).toBe(2);
  expect(next.done.model).toBe("tiny.gguf"); // the conversation's model, not asked for
  expect(next.done.load_ms).toBe(0); // the model stayed loaded
  // The same question in a new conversation: the model reads far fewer tokens.
  const fresh = await ask({ question: "And what else?", max_tokens: 6, temperature: 0 });
  expect(fresh.done.conversation).not.toBe(id);
  expect(fresh.done.history).toBe(0);
  expect(next.done.prompt_tokens).toBeGreaterThan(fresh.done.prompt_tokens + first.tokens.join("").length / 2);
  expect(a.conversation(id).turns.length).toBe(4);
  expect(a.conversations().map((c) => c.id)).toEqual([fresh.done.conversation, id]);
  expect(a.conversations()[1]!.turns).toBe(4);
});

test("greedy answers are the same for the same question", async () => {
  const again = await ask({ question: "What does a grove cell keep?", max_tokens: 12, temperature: 0 });
  expect(again.tokens.join("")).toBe(first.tokens.join(""));
});

test("a model that aborts llama.cpp gives a clear error, and the next question is answered", async () => {
  writeBrokenModel(join(models, "aborts.gguf"), "missing-key");
  const pid = a.host.pid;
  const starts = a.host.starts;
  const e = await failure({ question: "hello", model: "aborts" });
  expect(e.status).toBe(502);
  expect(e.message).toMatch(
    /^aborts\.gguf: the model host stopped \(SIGABRT\): GGML_ASSERT\(.*\) failed; the model file is probably broken/,
  );
  expect(a.host.pid).toBeNull();
  const ok = await ask({ question: "Still there?", model: "tiny.gguf", max_tokens: 4, temperature: 0 });
  expect(ok.done.tokens).toBe(4);
  expect(a.host.pid).not.toBe(pid);
  expect(a.host.starts).toBe(starts + 1);
  // Not tried again (no new crash) until the file changes; the listing says why.
  const again = await failure({ question: "hello", model: "aborts.gguf" });
  expect(again.status).toBe(502);
  expect(again.message).toMatch(/failed to load: .*SIGABRT/);
  expect(a.host.starts).toBe(starts + 1);
  const listed = (await a.models()).find((m) => m.name === "aborts.gguf")!;
  expect(listed.error).toMatch(/failed to load/);
  rmSync(join(models, "aborts.gguf"));
});

test("a model llama.cpp refuses gives its reason, and the host keeps running", async () => {
  writeBrokenModel(join(models, "strange.gguf"), "unknown-arch");
  await ask({ question: "warm up", model: "tiny", max_tokens: 1, temperature: 0 });
  const pid = a.host.pid;
  const e = await failure({ question: "hello", model: "strange" });
  expect(e.status).toBe(502);
  expect(e.message).toMatch(/^strange\.gguf: the model could not be loaded: .*unknown model architecture: 'grove-unknown'/);
  expect(a.host.pid).toBe(pid); // no crash, no restart
  expect((await ask({ question: "and now?", model: "tiny", max_tokens: 2, temperature: 0 })).done.tokens).toBe(2);
  rmSync(join(models, "strange.gguf"));
});

test("a file the header reader rejects is refused before any load", async () => {
  writeBrokenModel(join(models, "short.gguf"), "truncated");
  const listed = (await a.models()).find((m) => m.name === "short.gguf")!;
  expect(listed.error).toMatch(/^truncated/);
  const starts = a.host.starts;
  const e = await failure({ question: "hello", model: "short" });
  expect(e.status).toBe(400);
  expect(e.message).toMatch(/^model short\.gguf cannot be used: truncated/);
  expect(a.host.starts).toBe(starts);
  // Without a model asked for, unusable files are passed over.
  expect((await ask({ question: "which?", max_tokens: 1, temperature: 0 })).done.model).toBe("tiny.gguf");
  rmSync(join(models, "short.gguf"));
});

test("bad requests are refused before the model is asked", async () => {
  expect((await failure({ question: "  " })).status).toBe(400);
  expect((await failure({ question: "hi", conversation: "0123456789abcdef" })).status).toBe(404);
  expect((await failure({ question: "hi", model: "nope" })).status).toBe(404);
  expect((await failure({ question: "hi", model: "../tiny.gguf" })).status).toBe(400);
  expect((await failure({ question: "hi", max_tokens: 0 })).status).toBe(400);
  const empty = join(root, "empty-models");
  mkdirSync(empty);
  const none = new Assistant({ db, modelsDir: empty, threads: 1, idleMs: 1000, maxTokens: 8 });
  const e = await failure({ question: "hi" }, none);
  expect([e.status, e.code]).toEqual([404, "no_model"]);
  expect(none.host.starts).toBe(0);
});

test("stopping early cancels the answer, which is not stored", async () => {
  const before = a.conversations().length;
  let n = 0;
  for await (const ev of a.ask({ question: "Tell me everything.", max_tokens: 64, temperature: 0 })) {
    if ("token" in ev && ++n === 2) break;
  }
  expect(a.conversations().length).toBe(before);
  const ok = await ask({ question: "Short one.", max_tokens: 3, temperature: 0 });
  expect(ok.done.tokens).toBe(3);
});

test("the model host stops when idle and starts again on the next question", async () => {
  const b = new Assistant({ db, modelsDir: models, threads: 1, idleMs: 150, maxTokens: 8 });
  try {
    await ask({ question: "one", max_tokens: 2, temperature: 0 }, b);
    expect(b.host.pid).not.toBeNull();
    const deadline = Date.now() + 5000;
    while (b.host.pid !== null && Date.now() < deadline) await Bun.sleep(25);
    expect(b.host.pid).toBeNull();
    const again = await ask({ question: "two", max_tokens: 2, temperature: 0 }, b);
    expect(again.done.load_ms).toBeGreaterThan(0);
    expect(b.host.starts).toBe(2);
  } finally {
    b.close();
  }
});
