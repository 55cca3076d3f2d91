/**
 * @module ai/llm-host — the model host: a child process that loads node-llama-cpp and a model
 * and streams answers back to the cell (protocol: ai/llm-protocol). It runs outside the cell
 * because llama.cpp can abort the whole process on a broken model (a native GGML_ASSERT, exit
 * 134): then only this process dies, and the cell starts a new one for the next question.
 *
 * How it is started (ai/llm-process): the cell runs its own program again with a hidden
 * argument — `grove __llm-host` for the compiled executable (process.execPath is grove itself),
 * `bun src/cli.ts __llm-host` from source — so no separate file has to ship beside the
 * executable, and src/cli.ts dispatches that argument here before any command (through
 * ai/llm-entry: inside the executable this module is a separate entry point). node-llama-cpp
 * comes from ai/llama-lib, which inside the executable unpacks llama.cpp's libraries first.
 *
 * One model stays loaded (with one context and sequence) between questions; a request for a
 * different model, or for the same file changed on disk, loads that one instead. Requests run
 * one at a time; stdout carries only protocol lines (console output is sent to stderr), and
 * when stdin closes (the cell went away) the host exits.
 */
import type { ChatHistoryItem, Llama, LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import { llamaGpu, loadNodeLlamaCpp, type NodeLlamaCpp } from "./llama-lib.ts";
import { HostRequest, type ChatRequest, type ChatTurn, type HostEvent } from "./llm-protocol.ts";
import { textLines } from "../core/lines.ts";

/** The executable's other hidden role, reached through this entry too (ai/llm-entry, src/cli.ts). */
export { runBindingTestChild } from "./llama-lib.ts";

interface Loaded {
  key: string;
  model: LlamaModel;
  context: LlamaContext;
  sequence: LlamaContextSequence;
}

const MAX_CONTEXT = 4096;

function send(ev: HostEvent): void {
  process.stdout.write(JSON.stringify(ev) + "\n");
}

/** The last llama.cpp error lines, to explain a failed load better than "failed to load model". */
const recentErrors: string[] = [];

let lib: NodeLlamaCpp | null = null;
let llama: Llama | null = null;
let loaded: Loaded | null = null;
const aborts = new Map<number, AbortController>();

async function getLib(): Promise<NodeLlamaCpp> {
  if (lib) return lib;
  // Inside the executable this unpacks llama.cpp's libraries first (once; see ai/llama-lib).
  lib = await loadNodeLlamaCpp((r) => {
    const mb = (r.bytes / 1e6).toFixed(0);
    if (r.unpacked) process.stderr.write(`llama.cpp libraries unpacked into ${r.dir} (${mb} MB, ${Math.round(r.ms)} ms)\n`);
    else process.stderr.write(`llama.cpp libraries reused from ${r.dir}\n`);
  });
  return lib;
}

async function getLlamaOnce(threads: number): Promise<Llama> {
  if (llama) return llama;
  const { getLlama, LlamaLogLevel } = await getLib();
  llama = await getLlama({
    gpu: llamaGpu(),
    build: "never", // never download or compile llama.cpp: use the prebuilt binaries
    maxThreads: threads,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      const line = message.trim();
      if (!line) return;
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) {
        recentErrors.push(line);
        if (recentErrors.length > 8) recentErrors.shift();
      }
      process.stderr.write(`llama ${level}: ${line}\n`);
    },
  });
  return llama;
}

/** The most telling recent llama.cpp error ("error loading model: …"), if any. */
function llamaReason(): string | null {
  const pick = [...recentErrors].reverse().find((l) => /error loading model:/.test(l)) ?? recentErrors.at(-1);
  return pick ? pick.replace(/^.*error loading model:\s*/, "") : null;
}

async function unload(): Promise<void> {
  const l = loaded;
  loaded = null;
  if (!l) return;
  await l.context.dispose().catch(() => {});
  await l.model.dispose().catch(() => {});
}

async function ensureModel(req: ChatRequest): Promise<{ l: Loaded; ms: number; warm: boolean }> {
  if (loaded?.key === req.model.key) return { l: loaded, ms: 0, warm: true };
  await unload();
  const t0 = performance.now();
  const ll = await getLlamaOnce(req.threads);
  recentErrors.length = 0;
  let model: LlamaModel;
  try {
    model = await ll.loadModel({ modelPath: req.model.path });
  } catch (e) {
    throw new Error(`the model could not be loaded: ${llamaReason() ?? (e as Error).message.split("\n")[0]}`);
  }
  try {
    const context = await model.createContext({
      contextSize: Math.min(model.trainContextSize || MAX_CONTEXT, MAX_CONTEXT),
      threads: req.threads || undefined,
    });
    loaded = { key: req.model.key, model, context, sequence: context.getSequence() };
  } catch (e) {
    await model.dispose().catch(() => {});
    throw new Error(`the model loaded but no context could be made for it: ${(e as Error).message.split("\n")[0]}`);
  }
  return { l: loaded, ms: performance.now() - t0, warm: false };
}

function historyItems(system: string, turns: ChatTurn[]): ChatHistoryItem[] {
  const items: ChatHistoryItem[] = system ? [{ type: "system", text: system }] : [];
  for (const t of turns) items.push(t.role === "user" ? { type: "user", text: t.text } : { type: "model", response: [t.text] });
  return items;
}

async function chat(req: ChatRequest): Promise<void> {
  const abort = new AbortController();
  aborts.set(req.id, abort);
  try {
    const { l, ms: loadMs, warm } = await ensureModel(req);
    send({ ev: "loaded", id: req.id, ms: loadMs, warm });
    const { LlamaChatSession } = await getLib();
    const session = new LlamaChatSession({ contextSequence: l.sequence, autoDisposeSequence: false, systemPrompt: req.system });
    session.setChatHistory(historyItems(req.system, req.history));
    const t0 = performance.now();
    let tokens = 0;
    let promptTokens = 0;
    let firstTokenMs: number | null = null;
    try {
      await session.prompt(req.question, {
        maxTokens: req.max_tokens,
        temperature: req.temperature,
        signal: abort.signal,
        stopOnAbortSignal: true,
        onToken: (t) => {
          if (tokens === 0) promptTokens = l.sequence.contextTokens.length;
          tokens += t.length;
        },
        onTextChunk: (text) => {
          if (!text) return;
          firstTokenMs ??= performance.now() - t0;
          send({ ev: "token", id: req.id, text });
        },
      });
    } finally {
      session.dispose({ disposeSequence: false });
    }
    send({
      ev: "done",
      id: req.id,
      tokens,
      prompt_tokens: promptTokens,
      ms: performance.now() - t0,
      first_token_ms: firstTokenMs,
      load_ms: loadMs,
    });
  } catch (e) {
    // After a failure half-way the sequence's state is unknown: start clean next time.
    if (loaded?.key === req.model.key) await unload();
    send({ ev: "error", id: req.id, message: (e as Error).message });
  } finally {
    aborts.delete(req.id);
  }
}

/** Run the host until stdin closes. */
export async function runLlmHost(): Promise<number> {
  // stdout is the protocol channel: anything printed by libraries goes to stderr.
  console.log = console.info = console.debug = (...a: unknown[]) => console.error(...a);
  send({ ev: "ready" });
  let queue: Promise<void> = Promise.resolve();
  for await (const line of textLines(Bun.stdin.stream())) {
    let req: HostRequest;
    try {
      req = HostRequest.parse(JSON.parse(line));
    } catch (e) {
      process.stderr.write(`llm-host: bad request line ignored: ${(e as Error).message.split("\n")[0]}\n`);
      continue;
    }
    if (req.op === "cancel") aborts.get(req.id)?.abort();
    else {
      const r = req;
      queue = queue.then(() => chat(r));
    }
  }
  await queue;
  await unload();
  await llama?.dispose().catch(() => {});
  return 0;
}
