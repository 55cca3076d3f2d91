/**
 * Bench: local inference through the assistant (src/ai), on the tiny model the test fixture
 * writes (64-dim, 2 blocks, F32; no download). Routed through a peer comes with issue 7's routing.
 *
 *   bun bench/llm.ts [--threads 1] [--tokens 64] [--runs 5]
 *
 * The assistant runs in this process as in a cell; the model host is its real child process
 * (node-llama-cpp). Figures:
 *  - cold: the first question with no host running: host start + node-llama-cpp init + model load
 *    (`load ms`), and the caller's wall time to the first token.
 *  - load: a second model file (another seed) asked in the same host: model load alone.
 *  - warm: --runs questions to the loaded model, each a new conversation: first-token latency
 *    (host side and as the caller sees it, IPC included) and tokens/s of generation.
 *  - peak RSS (VmHWM) of the host child after all runs.
 * Output: a table, then one JSON object as the last line.
 */
import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Assistant, type AskEvent } from "../src/ai/assistant.ts";
import { setQuiet } from "../src/core/log.ts";
import { migrate } from "../src/store/migrations.ts";
import { writeTinyModel } from "../test/fixtures/tiny-gguf.ts";
import { ROOT } from "../test/helpers/cell.ts";
import { cleanupOnSignal, makeWorkDir, peakRssMiB, round, table } from "./lib/measure.ts";

const { values } = parseArgs({ args: process.argv.slice(2), options: { threads: { type: "string" }, tokens: { type: "string" }, runs: { type: "string" }, "work-dir": { type: "string" } }, strict: false });
const THREADS = Number(values.threads ?? 1);
const TOKENS = Number(values.tokens ?? 64);
const RUNS = Number(values.runs ?? 5);
for (const [k, v] of [["threads", THREADS], ["tokens", TOKENS], ["runs", RUNS]] as const) {
  if (!Number.isInteger(v) || v < (k === "threads" ? 0 : 1)) throw new Error(`--${k}: expected a whole number, got ${values[k]}`);
}

setQuiet(true);
const made = makeWorkDir("llm", values["work-dir"], ROOT);
if ("error" in made) throw new Error(made.error);
const models = made.work;
writeTinyModel(join(models, "tiny.gguf"));
writeTinyModel(join(models, "tiny-b.gguf"), { seed: 8 });
const db = new Database(":memory:", { strict: true });
migrate(db);
const assistant = new Assistant({ db, modelsDir: models, threads: THREADS, idleMs: 600_000, maxTokens: TOKENS });
const cleanup = async () => {
  assistant.close();
  rmSync(models, { recursive: true, force: true });
};
const removeHandlers = cleanupOnSignal("llm", cleanup);

interface Run {
  phase: string;
  wall_first_token_ms: number;
  wall_ms: number;
  load_ms: number;
  first_token_ms: number | null;
  tokens: number;
  tokens_per_s: number;
}

async function run(phase: string, model: string, question: string): Promise<Run> {
  const t0 = performance.now();
  let first: number | null = null;
  let done: Extract<AskEvent, { done: true }> | null = null;
  for await (const ev of assistant.ask({ question, model, max_tokens: TOKENS, temperature: 0 })) {
    if ("token" in ev) first ??= performance.now() - t0;
    else done = ev;
  }
  if (!done) throw new Error("no answer");
  const wall = performance.now() - t0;
  // Generation rate: tokens after the first over the time after the first (prompt eval excluded).
  const genMs = done.ms - (done.first_token_ms ?? 0);
  return {
    phase,
    wall_first_token_ms: round(first ?? wall, 1),
    wall_ms: round(wall, 1),
    load_ms: done.load_ms,
    first_token_ms: done.first_token_ms,
    tokens: done.tokens,
    tokens_per_s: genMs > 0 ? round(((done.tokens - 1) * 1000) / genMs, 0) : 0,
  };
}

const rows: Run[] = [];
rows.push(await run("cold (host start + init + load)", "tiny.gguf", "What is a grove?"));
rows.push(await run("load (another model, same host)", "tiny-b.gguf", "What is a grove?"));
for (let i = 0; i < RUNS; i++) rows.push(await run(`warm #${i + 1}`, "tiny-b.gguf", `Question number ${i + 1}: what does a cell keep?`));
const pid = assistant.host.pid;
const peak = pid === null ? null : peakRssMiB(pid);
removeHandlers();
await cleanup();

const warm = rows.filter((r) => r.phase.startsWith("warm"));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};
const summary = {
  cold_start_ms: rows[0]!.load_ms,
  cold_first_token_ms: rows[0]!.wall_first_token_ms,
  model_load_ms: rows[1]!.load_ms,
  warm_first_token_ms: median(warm.map((r) => r.wall_first_token_ms)),
  warm_host_first_token_ms: median(warm.map((r) => r.first_token_ms ?? 0)),
  tokens_per_s: median(warm.map((r) => r.tokens_per_s)),
  host_peak_rss_mib: peak,
};

console.log(`local inference, tiny model (64-dim, 2 blocks, F32), threads ${THREADS || "all cores"}, ${TOKENS} tokens per answer`);
console.log(
  table([
    ["phase", "first token (caller) ms", "load ms", "first token (host) ms", "tokens", "tokens/s", "answer ms"],
    ...rows.map((r) => [r.phase, r.wall_first_token_ms, r.load_ms, r.first_token_ms, r.tokens, r.tokens_per_s, r.wall_ms]),
  ]),
);
console.log(`model host peak RSS: ${peak ?? "-"} MiB`);
console.log(JSON.stringify({ bench: "llm", threads: THREADS, tokens: TOKENS, runs: RUNS, ...summary, rows }));
