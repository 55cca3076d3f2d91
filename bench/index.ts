/**
 * Bench runner: runs every bench in bench/ (each `bench/NAME.ts` exporting `run(argv)`), or
 * only those whose name contains one of the given filters.
 *
 *   bun bench/index.ts                      all benches
 *   bun bench/index.ts ingest --size-mb 10240
 *   npm run bench -- ingest                 (package.json: "bench": "bun bench/index.ts")
 *
 * Options are the union of the benches' own options and are passed to each bench unchanged.
 * Each bench prints a table and a final `BENCH_JSON {...}` line. Exit code: 0 when every bench
 * succeeded, else the first non-zero code.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";

interface BenchModule {
  name?: string;
  summary?: string;
  options?: ParseArgsConfig["options"];
  run(argv: string[]): Promise<number>;
}

const dir = import.meta.dir;
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "index.ts" && !f.startsWith("_") && !f.endsWith(".d.ts"))
  .sort();

const benches: { name: string; mod: BenchModule }[] = [];
for (const f of files) {
  const mod = (await import(join(dir, f))) as BenchModule;
  if (typeof mod.run === "function") benches.push({ name: mod.name ?? f.replace(/\.ts$/, ""), mod });
}

const merged: NonNullable<ParseArgsConfig["options"]> = { help: { type: "boolean", short: "h" } };
for (const b of benches) Object.assign(merged, b.mod.options ?? {});

const argv = process.argv.slice(2);
let parsed;
try {
  parsed = parseArgs({ args: argv, options: merged, allowPositionals: true, strict: true, tokens: true });
} catch (e) {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(2);
}

if (parsed.values.help) {
  console.log("Usage: bun bench/index.ts [NAME...] [options]\n\nBenches:");
  for (const b of benches) console.log(`  ${b.name.padEnd(10)} ${b.mod.summary ?? ""}`);
  console.log(`\nOptions: ${Object.keys(merged).filter((k) => k !== "help").map((k) => `--${k}${merged[k]!.type === "string" ? " VALUE" : ""}`).join(" ")}`);
  process.exit(0);
}

// Pass everything but the positional filters through to the benches.
const filters = parsed.positionals;
const positionalIdx = new Set(parsed.tokens!.filter((t) => t.kind === "positional").map((t) => t.index));
const passArgs = argv.filter((_, i) => !positionalIdx.has(i));

const chosen = filters.length ? benches.filter((b) => filters.some((f) => b.name.includes(f))) : benches;
if (chosen.length === 0) {
  console.error(`bench: no bench matches ${filters.join(", ")} (have: ${benches.map((b) => b.name).join(", ")})`);
  process.exit(2);
}

let exit = 0;
for (const b of chosen) {
  console.log(`=== bench ${b.name} ===`);
  const t0 = performance.now();
  const code = await b.mod.run(passArgs);
  console.log(`=== bench ${b.name}: ${code === 0 ? "ok" : `FAILED (exit ${code})`} in ${((performance.now() - t0) / 1000).toFixed(1)} s ===`);
  if (code !== 0 && exit === 0) exit = code;
}
process.exit(exit);
