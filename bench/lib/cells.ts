/**
 * Bench helpers for fleets of real cells on loopback: free ports, the CLI with its output parsed,
 * pairing by invite, waiting until no sync round runs, and a cell's peak RSS.
 */
import { BUN, CLI, ROOT, type TestCell } from "../../test/helpers/cell.ts";
import type { SyncReport } from "../../src/sync/round.ts";
import type { PlacementReport } from "../../src/sync/placement-report.ts";
import { timed, type TimedRun } from "./measure.ts";
import { join } from "node:path";

export { freePort } from "../../test/helpers/cell.ts";

/**
 * The command that starts a cell under the CPU profiler, when BENCH_CPU_PROF=DIR is set (else
 * undefined: the usual one). The cell writes its profile into DIR/`name` when it stops: Markdown,
 * or with BENCH_CPU_PROF_JSON=1 a .cpuprofile (JSON: every sample with its stack and time).
 */
export function profiledCommand(name: string): string[] | undefined {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return undefined;
  return [BUN, process.env.BENCH_CPU_PROF_JSON === "1" ? "--cpu-prof" : "--cpu-prof-md", `--cpu-prof-dir=${join(dir, name)}`, CLI];
}

/** Environment for CLI calls against `cell` (no progress bars). */
export function cliEnv(cell: TestCell): Record<string, string | undefined> {
  return { ...process.env, ...cell.env, GROVE_NO_PROGRESS: "1" };
}

/** Run `grove ARGS` against `cell`, timed; throws with the CLI's output on a non-zero exit. */
export async function grove(cell: TestCell, args: string[], opts: { gnuTime?: string | null; timeFile?: string } = {}): Promise<TimedRun> {
  const r = await timed([BUN, CLI, ...args], { env: cliEnv(cell), cwd: ROOT, ...opts });
  if (r.code !== 0) throw new Error(`grove ${args.join(" ")} failed (exit ${r.code}):\n${r.stderr || r.stdout}`);
  return r;
}

/** `grove sync --json` on `cell`: the round's report and the CLI's wall time. */
export async function syncRound(cell: TestCell): Promise<{ report: SyncReport; seconds: number }> {
  const r = await grove(cell, ["sync", "--json"]);
  return { report: JSON.parse(r.stdout) as SyncReport, seconds: r.seconds };
}

export async function placement(cell: TestCell): Promise<PlacementReport> {
  const res = await cell.api("/api/placement");
  if (!res.ok) throw new Error(`GET /api/placement: ${res.status} ${await res.text()}`);
  return (await res.json()) as PlacementReport;
}

export async function cellId(cell: TestCell): Promise<string> {
  return (await grove(cell, ["id"])).stdout.trim();
}

/** Pair `joiner` with `inviter`: `grove invite` on the inviter, `grove join TOKEN` on the joiner. */
export async function pair(inviter: TestCell, joiner: TestCell): Promise<void> {
  const token = (await grove(inviter, ["invite"])).stdout.trim();
  await grove(joiner, ["join", token]);
}

/** Wait until `cell` runs no sync round (its start-up round included) and has finished one. */
export async function waitSyncIdle(cell: TestCell, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await cell.api("/api/sync");
    if (res.ok) {
      const s = (await res.json()) as { running: boolean; last: SyncReport | null; last_error: string | null };
      if (!s.running && (s.last || s.last_error)) return;
    }
    if (Date.now() > deadline) throw new Error(`cell ${cell.url}: a sync round still runs after ${timeoutMs / 1000} s`);
    await Bun.sleep(100);
  }
}

/** POST /api/scan on `c` for `path`: its watcher stores what is there now (Syncthing's REST scan); resolves once stored. */
export async function scanOn(c: TestCell, path: string): Promise<void> {
  const res = await c.api("/api/scan", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ path }) });
  const r = (await res.json()) as { stored?: number; failed?: number; error?: string };
  if (!res.ok || r.error || r.failed) throw new Error(`POST /api/scan ${path} on ${c.url}: ${res.status} ${JSON.stringify(r)}`);
}
