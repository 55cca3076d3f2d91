/**
 * Bench runner: runs every bench in bench/ (each `bench/NAME.ts` is a standalone script), or only
 * those whose name contains one of the given filters. Each bench runs as its own `bun` process
 * (so one bench's memory or crash does not affect the next) and gets every option unchanged.
 *
 *   bun bench/index.ts                      all benches
 *   bun bench/index.ts ingest --size-mb 10240
 *   npm run bench -- ingest                 (package.json: "bench": "bun bench/index.ts")
 *   bun bench/index.ts --list
 *   bun bench/index.ts ingest --repeat 3    each bench 3 times, then median / min / max per figure
 *
 * Arguments: a bare word that names a bench (or part of one) is a filter; everything else is an
 * option for the benches (`--flag`, `--flag=value`, `--flag value`). Each bench prints a table
 * and, as its last stdout line, one JSON object with its figures; the runner's own banners go to
 * stderr. Exit code: 0 when every bench succeeded, else the first non-zero code.
 *
 * `--repeat N` (the runner's own option): single runs on a shared VM disk vary by +-30 %, so each
 * bench runs N times and the runner prints, for every ratio and every time / rate figure of the
 * runs' JSON lines, the median, min and max, then one JSON object {bench, runs, figures}.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

const dir = import.meta.dir;
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "index.ts" && !f.startsWith("_") && !f.endsWith(".d.ts"))
  .map((f) => f.replace(/\.ts$/, ""))
  .sort();

const isBench = (w: string) => names.some((n) => n.includes(w));
const argv = process.argv.slice(2);
const filters: string[] = [];
const pass: string[] = [];
let repeat = 1;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === "--repeat" || a.startsWith("--repeat=")) {
    const v = a.includes("=") ? a.slice("--repeat=".length) : argv[++i];
    repeat = Number(v);
    if (!Number.isInteger(repeat) || repeat < 1 || repeat > 50) {
      console.error(`bench: --repeat takes a whole number of runs, 1 to 50 (got '${v ?? ""}')`);
      process.exit(2);
    }
    continue;
  }
  if (a === "--list" || a === "--help" || a === "-h") {
    console.log(
      "Usage: bun bench/index.ts [NAME...] [options for the benches]\n\nBenches (bench/NAME.ts; see each file's header for its options):",
    );
    for (const n of names) console.log(`  ${n}`);
    process.exit(0);
  }
  if (a.startsWith("-")) {
    pass.push(a);
    const next = argv[i + 1];
    // `--flag value`: the next word is the flag's value unless it names a bench or is a flag.
    if (!a.includes("=") && next !== undefined && !next.startsWith("-") && !isBench(next)) pass.push(argv[++i]!);
    continue;
  }
  if (!isBench(a)) {
    console.error(`bench: no bench matches '${a}' (have: ${names.join(", ")})`);
    process.exit(2);
  }
  filters.push(a);
}

const chosen = filters.length ? names.filter((n) => filters.some((f) => n.includes(f))) : names;
// Ctrl-C reaches the bench too (same process group); let it clean up and report, then stop.
let interrupted = false;
process.on("SIGINT", () => void (interrupted = true));
process.on("SIGTERM", () => void (interrupted = true));

/** Run one bench, its output passed through; resolves with its exit code and last JSON line. */
async function runOnce(name: string): Promise<{ code: number; json: Record<string, unknown> | null }> {
  const p = Bun.spawn([process.execPath, join(dir, `${name}.ts`), ...pass], {
    stdio: ["inherit", repeat > 1 ? "pipe" : "inherit", "inherit"],
  });
  let last: string | null = null;
  if (repeat > 1) {
    let tail = "";
    const dec = new TextDecoder();
    for await (const part of p.stdout as unknown as AsyncIterable<Uint8Array>) {
      process.stdout.write(part);
      tail += dec.decode(part, { stream: true });
      const lines = tail.split("\n");
      tail = lines.pop()!;
      for (const l of lines) if (l.startsWith("{")) last = l;
    }
    if (tail.startsWith("{")) last = tail;
  }
  const code = await p.exited;
  let json: Record<string, unknown> | null = null;
  try {
    json = last ? (JSON.parse(last) as Record<string, unknown>) : null;
  } catch {
    json = null;
  }
  return { code, json };
}

/** The figures worth summarising: ratios, seconds, rates and memory, as numbers in every run that has them. */
const FIGURE = /^ratio_|_s$|_mb_s$|_mb$|_pct$/;

function summarise(name: string, runs: Record<string, unknown>[]): void {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r)))].filter(
    (k) => FIGURE.test(k) && runs.every((r) => typeof r[k] === "number"),
  );
  const figures: Record<string, { median: number; min: number; max: number; runs: number[] }> = {};
  for (const k of keys) {
    const v = runs.map((r) => r[k] as number);
    const sorted = [...v].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    figures[k] = { median: r3(median), min: r3(sorted[0]!), max: r3(sorted.at(-1)!), runs: v };
  }
  const w = Math.max(6, ...keys.map((k) => k.length));
  console.log(`\n${name}: ${runs.length} runs; median (min - max) of each figure`);
  for (const k of keys) {
    const f = figures[k]!;
    console.log(`  ${k.padEnd(w)}  ${String(f.median).padStart(9)}  (${f.min} - ${f.max})`);
  }
  console.log(JSON.stringify({ bench: name, runs: runs.length, figures }));
}

let exit = 0;
for (const name of chosen) {
  const results: Record<string, unknown>[] = [];
  for (let run = 1; run <= repeat; run++) {
    if (interrupted) break;
    console.error(`=== bench ${name}${repeat > 1 ? ` (run ${run} of ${repeat})` : ""} ===`);
    const t0 = performance.now();
    const { code, json } = await runOnce(name);
    console.error(
      `=== bench ${name}: ${code === 0 ? "ok" : `FAILED (exit ${code})`} in ${((performance.now() - t0) / 1000).toFixed(1)} s ===`,
    );
    if (code !== 0 && exit === 0) exit = code;
    if (code === 0 && json) results.push(json);
  }
  if (repeat > 1 && results.length) summarise(name, results);
}
if (interrupted && exit === 0) exit = 130;
process.exit(exit);
