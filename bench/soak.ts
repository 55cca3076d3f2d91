/**
 * Bench: crash-kill soak. Two real cells (A, B: paired, friends, R=2) on loopback; each cycle
 * starts an operation (put large/small through the CLI and PUT /api/files, a sync round, a share
 * fetched through the friend's feed, a delete + purge + trash collection), SIGKILLs a cell at a
 * random moment within the operation's typical duration, restarts it on the same GROVE_DIR and
 * port, and checks: fsck on both cells (no chunk/manifest/held problem; placement records fixed
 * by --repair), every acknowledged put byte-identical, no temp files left after a round, and
 * that the cells still sync. See bench/lib/soak.ts for the details of each step.
 *
 *   bun bench/soak.ts [--cycles 50] [--seed N] [--large-mb 6-32] [--small-kb 0-256] [--work-dir DIR] [--keep]
 *
 * Output: the calibration, one line per cycle, a table (kills per operation, fsck problems by
 * kind, lost files, corrupt chunks, leftovers), then one JSON object as the last stdout line.
 * Exit code 1 when any cycle failed a check.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ROOT } from "../test/helpers/cell.ts";
import { cleanupOnSignal, makeWorkDir, round } from "./lib/measure.ts";
import { ALL_OPS, SoakRig, cycleLine, schedule, seededRandom, summarize, summaryTable, type CycleResult } from "./lib/soak.ts";

export const name = "soak";
export const summary = "crash-kill soak: SIGKILL during put/sync/share/delete, restart, fsck, ledger of acknowledged puts, leftovers";

export const options = {
  cycles: { type: "string" },
  seed: { type: "string" },
  "large-mb": { type: "string" },
  "small-kb": { type: "string" },
  "work-dir": { type: "string" },
  keep: { type: "boolean" },
} satisfies ParseArgsConfig["options"];

function say(msg: string): void {
  console.log(`[soak] ${msg}`);
}

function range(v: unknown, def: [number, number], unit: number): [number, number] | null {
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(String(v ?? `${def[0]}-${def[1]}`));
  if (!m || Number(m[1]) > Number(m[2])) return null;
  return [Math.round(Number(m[1]) * unit), Math.round(Number(m[2]) * unit)];
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options, allowPositionals: true, strict: false });
  const cycles = Number(values.cycles ?? 50);
  const seed = Number(values.seed ?? Date.now() % 1_000_000);
  const large = range(values["large-mb"], [6, 32], 1024 * 1024);
  const small = range(values["small-kb"], [0, 256], 1024);
  if (!Number.isInteger(cycles) || cycles < 1 || !Number.isInteger(seed) || !large || !small) {
    console.error("soak: --cycles N (>= 1), --seed N, --large-mb MIN-MAX, --small-kb MIN-MAX");
    return 2;
  }
  const dir = makeWorkDir("soak", values["work-dir"], ROOT, 4 * 1024 ** 3);
  if ("error" in dir) return (console.error(dir.error), 1);
  const { work } = dir;

  let rig: SoakRig | null = null;
  const cleanup = async () => {
    await rig?.stop(!values.keep);
    if (!rig && !values.keep) (await import("node:fs")).rmSync(work, { recursive: true, force: true });
  };
  const offSignals = cleanupOnSignal("soak", cleanup);
  const results: CycleResult[] = [];
  const t0 = performance.now();
  try {
    say(
      `${cycles} cycles, seed ${seed}, large files ${round(large[0] / 2 ** 20, 1)}-${round(large[1] / 2 ** 20, 1)} MiB, small ${round(small[0] / 1024, 1)}-${round(small[1] / 1024, 1)} KiB, work dir ${work}`,
    );
    rig = await SoakRig.start({ work, seed, large, small, say });
    say(
      `cells up: A ${rig.nodes.A.id.slice(0, 8)} on port ${rig.nodes.A.port}, B ${rig.nodes.B.id.slice(0, 8)} on port ${rig.nodes.B.port}; paired, friends, R=2`,
    );
    await rig.calibrate(ALL_OPS);
    for (const [i, op] of schedule(ALL_OPS, cycles, seededRandom(seed ^ 0x5eed)).entries()) {
      const r = await rig.cycle(i + 1, op);
      results.push(r);
      console.log(cycleLine(r));
      for (const x of [...r.lost, ...r.corrupt_files, ...r.orphans_after_round, ...r.sync_errors, ...r.notes]) console.log(`      ${x}`);
    }
  } catch (e) {
    console.error(`soak: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    if (rig) console.error(rig.outputs());
    offSignals();
    await cleanup();
    return 1;
  }
  const s = summarize(results);
  const seconds = round((performance.now() - t0) / 1000, 1);
  console.log("");
  console.log(
    `soak: ${s.cycles} cycles in ${seconds} s, seed ${seed}${rig!.hasPurge ? "" : " (no `grove purge` in this build: deletes not purged)"}`,
  );
  console.log(summaryTable(s));
  console.log(
    JSON.stringify({
      bench: "soak",
      seed,
      seconds,
      purge: rig!.hasPurge,
      typical_ms: Object.fromEntries([...rig!.typical].map(([k, v]) => [k, Math.round(v)])),
      ...s,
    }),
  );
  offSignals();
  await cleanup();
  if (values.keep) say(`kept ${work}`);
  return s.ok ? 0 : 1;
}

if (import.meta.main) process.exit(await run(process.argv.slice(2)));
