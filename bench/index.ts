/**
 * Bench runner: runs every bench in bench/ (each `bench/NAME.ts` is a standalone script), or only
 * those whose name contains one of the given filters. Each bench runs as its own `bun` process
 * (so one bench's memory or crash does not affect the next) and gets every option unchanged.
 *
 *   bun bench/index.ts                      all benches
 *   bun bench/index.ts ingest --size-mb 10240
 *   npm run bench -- ingest                 (package.json: "bench": "bun bench/index.ts")
 *   bun bench/index.ts --list
 *
 * Arguments: a bare word that names a bench (or part of one) is a filter; everything else is an
 * option for the benches (`--flag`, `--flag=value`, `--flag value`). Each bench prints a table
 * and, as its last stdout line, one JSON object with its figures; the runner's own banners go to
 * stderr. Exit code: 0 when every bench succeeded, else the first non-zero code.
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
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === "--list" || a === "--help" || a === "-h") {
    console.log("Usage: bun bench/index.ts [NAME...] [options for the benches]\n\nBenches (bench/NAME.ts; see each file's header for its options):");
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

let exit = 0;
for (const name of chosen) {
  if (interrupted) break;
  console.error(`=== bench ${name} ===`);
  const t0 = performance.now();
  const p = Bun.spawn([process.execPath, join(dir, `${name}.ts`), ...pass], { stdio: ["inherit", "inherit", "inherit"] });
  const code = await p.exited;
  console.error(`=== bench ${name}: ${code === 0 ? "ok" : `FAILED (exit ${code})`} in ${((performance.now() - t0) / 1000).toFixed(1)} s ===`);
  if (code !== 0 && exit === 0) exit = code;
}
if (interrupted && exit === 0) exit = 130;
process.exit(exit);
