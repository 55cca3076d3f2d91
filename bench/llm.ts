/**
 * Bench: local inference through the assistant (src/ai), on the tiny model the test fixture
 * writes (64-dim, 2 blocks, F32; no download), and the same model asked through a friend's
 * cell (two real cells on loopback), so the routing overhead is visible.
 *
 *   bun bench/llm.ts [--threads 1] [--tokens 64] [--runs 5] [--no-peer]
 *
 * The assistant runs in this process as in a cell; the model host is its real child process
 * (node-llama-cpp). Figures:
 *  - cold: the first question with no host running: host start + node-llama-cpp init + model load
 *    (`load ms`), and the caller's wall time to the first token.
 *  - load: a second model file (another seed) asked in the same host: model load alone.
 *  - warm: --runs questions to the loaded model, each a new conversation: first-token latency
 *    (host side and as the caller sees it, IPC included) and tokens/s of generation.
 *  - peak RSS (VmHWM) of the host child after all runs.
 *  - routed: two real cells A and B (`grove start`, loopback, friends both ways), the model on B
 *    only. --runs questions to B's own POST /api/chat ("B local") and the same to A's, which
 *    routes them to B over the signed, sealed peer channel ("A → B"): first token and tokens/s
 *    as the HTTP client sees them (tokens/s = pieces after the first over the time after the
 *    first), so the difference is the routing's cost (sealing, signing, polling for parts).
 * Output: tables, then one JSON object as the last line.
 */
import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Assistant, type AskEvent } from "../src/ai/assistant.ts";
import { setQuiet } from "../src/core/log.ts";
import { migrate } from "../src/store/migrations.ts";
import { writeTinyModel } from "../test/fixtures/tiny-gguf.ts";
import { destroyCell, pair, ROOT, startCell, type TestCell } from "../test/helpers/cell.ts";
import { encodeGguf, tinyModel } from "../test/fixtures/tiny-gguf.ts";
import { cleanupOnSignal, makeWorkDir, peakRssMiB, round, table } from "./lib/measure.ts";
import { textLines } from "../src/core/lines.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    threads: { type: "string" },
    tokens: { type: "string" },
    runs: { type: "string" },
    "work-dir": { type: "string" },
    "no-peer": { type: "boolean" },
  },
  strict: false,
});
const THREADS = Number(values.threads ?? 1);
const TOKENS = Number(values.tokens ?? 64);
const RUNS = Number(values.runs ?? 5);
for (const [k, v] of [
  ["threads", THREADS],
  ["tokens", TOKENS],
  ["runs", RUNS],
] as const) {
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

// Routed through a peer: two real cells, the model on B only.
interface HttpRun {
  phase: string;
  first_token_ms: number;
  tokens_per_s: number;
  tokens: number;
  pieces: number;
  ms: number;
}

/** POST /api/chat on `cell`, timing the pieces as the client receives them. */
async function httpRun(phase: string, cell: TestCell, question: string): Promise<HttpRun> {
  const t0 = performance.now();
  const res = await cell.api("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question, max_tokens: TOKENS, temperature: 0 }),
  });
  if (!res.ok) throw new Error(`${phase}: ${res.status} ${await res.text()}`);
  let first: number | null = null;
  let last = 0;
  let pieces = 0;
  let tokens = 0;
  for await (const line of textLines(res.body!)) {
    const ev = JSON.parse(line) as AskEvent | { error: string };
    if ("error" in ev) throw new Error(`${phase}: ${ev.error}`);
    if ("token" in ev) {
      const now = performance.now() - t0;
      first ??= now;
      last = now;
      pieces++;
    } else tokens = ev.tokens;
  }
  const wall = performance.now() - t0;
  const gen = last - (first ?? 0);
  return {
    phase,
    first_token_ms: round(first ?? wall, 1),
    tokens_per_s: gen > 0 ? round(((tokens - 1) * 1000) / gen, 0) : 0,
    tokens,
    pieces,
    ms: round(wall, 1),
  };
}

const routed: HttpRun[] = [];
if (!values["no-peer"]) {
  const config = { llm_threads: THREADS, llm_max_tokens: TOKENS, ollama_url: "off", sync_interval_s: 3600, mdns: false };
  let a: TestCell | undefined;
  let b: TestCell | undefined;
  try {
    [a, b] = await Promise.all([
      startCell({ config: { ...config, name: "bench-a" } }),
      startCell({ config: { ...config, name: "bench-b" } }),
    ]);
    const [idA, idB] = await Promise.all([a, b].map(async (x) => (await x.cli(["id"])).stdout.trim()));
    await pair(b, a);
    // A asks, then B's `friend` accepts (on builds before friend requests: a flag on each side).
    await a.cli(["peers", "friend", idB!]);
    await b.cli(["peers", "friend", idA!]);
    const { meta, tensors } = tinyModel();
    await b.api("/api/models/tiny.gguf", { method: "PUT", body: encodeGguf(meta, tensors) });
    await httpRun("warm-up", b, "warm up"); // host started, model loaded, speed measured
    await a.cli(["peers", "--probe"]); // A reads B's card (its model) and measures the route
    await httpRun("warm-up", a, "warm up");
    for (let i = 0; i < RUNS; i++) {
      routed.push(await httpRun(`B local #${i + 1}`, b, `Question number ${i + 1}: what does a cell keep?`));
      routed.push(await httpRun(`A → B #${i + 1}`, a, `Question number ${i + 1}: what does a cell keep?`));
    }
  } finally {
    await Promise.all([destroyCell(a), destroyCell(b)]);
  }
}

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
  ...(routed.length
    ? {
        peer_local_first_token_ms: median(routed.filter((r) => r.phase.startsWith("B")).map((r) => r.first_token_ms)),
        peer_local_tokens_per_s: median(routed.filter((r) => r.phase.startsWith("B")).map((r) => r.tokens_per_s)),
        routed_first_token_ms: median(routed.filter((r) => r.phase.startsWith("A")).map((r) => r.first_token_ms)),
        routed_tokens_per_s: median(routed.filter((r) => r.phase.startsWith("A")).map((r) => r.tokens_per_s)),
      }
    : {}),
};

console.log(`local inference, tiny model (64-dim, 2 blocks, F32), threads ${THREADS || "all cores"}, ${TOKENS} tokens per answer`);
console.log(
  table([
    ["phase", "first token (caller) ms", "load ms", "first token (host) ms", "tokens", "tokens/s", "answer ms"],
    ...rows.map((r) => [r.phase, r.wall_first_token_ms, r.load_ms, r.first_token_ms, r.tokens, r.tokens_per_s, r.wall_ms]),
  ]),
);
console.log(`model host peak RSS: ${peak ?? "-"} MiB`);
if (routed.length) {
  console.log(`\nrouted through a peer: two cells on loopback, the model on B; POST /api/chat as the client sees it`);
  console.log(
    table([
      ["phase", "first token ms", "tokens/s", "tokens", "pieces", "answer ms"],
      ...routed.map((r) => [r.phase, r.first_token_ms, r.tokens_per_s, r.tokens, r.pieces, r.ms]),
    ]),
  );
  const s = summary as Record<string, number>;
  console.log(
    `median: B local first token ${s.peer_local_first_token_ms} ms, ${s.peer_local_tokens_per_s} tokens/s; A → B first token ${s.routed_first_token_ms} ms, ${s.routed_tokens_per_s} tokens/s`,
  );
}
console.log(JSON.stringify({ bench: "llm", threads: THREADS, tokens: TOKENS, runs: RUNS, ...summary, rows, routed }));
