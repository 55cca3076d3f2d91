/**
 * @module runtime/supervisor — `grove start --auto-restart`: runs the cell as a child process of the
 * same build and starts it again when it dies (crash, kill -9, out of memory), with backoff.
 *
 * Rules: a clean exit (0) or a usage error (2) ends supervision with that code; SIGINT/SIGTERM to
 * the supervisor are passed to the cell, which stops, and then the supervisor exits. Any other
 * end restarts the cell: after RESTART_FIRST_MS, doubling per crash up to RESTART_MAX_MS, back to
 * the first delay once a run has lasted `stableMs`. A cell that dies within `stableMs` of starting
 * `maxFastCrashes` times in a row is not started again: the supervisor logs why and exits 1
 * (a bad config, a port in use, a broken build — nothing a restart fixes).
 * GROVE_RESTART_BACKOFF_MS overrides the first delay (tests).
 *
 * Self-update (update/lifecycle, update/swap): a cell that swapped in a new build exits
 * UPDATE_RESTART_CODE (75); the supervisor starts the executable again at once (the new file now),
 * without backoff and without counting a crash. While GROVE_DIR/update.json is "pending" (the new
 * build has not run its stable time yet), a cell that ends — or cannot even be started — is
 * rolled back: `<exe>.previous` goes back in place, update.json says "rolled-back" and why, and
 * the previous build is started at once. So is one still pending `updateStableMs()` +
 * `updateTrialGraceMs()` after it started (alive but never up: hung): it is killed first.
 */
import type { Subprocess } from "bun";
import { selfCommand } from "../core/build-info.ts";
import { errorMessage } from "../core/errors.ts";
import { resolveLayout } from "../core/layout.ts";
import { log } from "../core/log.ts";
import { rollBack } from "../update/swap.ts";
import { readUpdateRecord, UPDATE_RESTART_CODE } from "../update/update-state.ts";
import { watchTrial } from "../update/trial-watch.ts";

const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;

export interface SuperviseOptions {
  /** Arguments for `grove start` (without --auto-restart). */
  args: string[];
  /** A run shorter than this is a fast crash (default 10 s). */
  stableMs?: number;
  /** Fast crashes in a row before giving up (default 5). */
  maxFastCrashes?: number;
  /** The command that runs grove (default: this build). */
  command?: string[];
  /** GROVE_DIR, where update.json says whether a new build is on trial (default: from the environment). */
  dir?: string;
}

function describeEnd(code: number | null, signal: string | number | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}

export async function supervise(opts: SuperviseOptions): Promise<number> {
  const stableMs = opts.stableMs ?? 10_000;
  const maxFast = opts.maxFastCrashes ?? 5;
  const first = Number(process.env.GROVE_RESTART_BACKOFF_MS) > 0 ? Number(process.env.GROVE_RESTART_BACKOFF_MS) : RESTART_FIRST_MS;
  const command = opts.command ?? selfCommand();
  const dir = opts.dir ?? resolveLayout().dir;
  const onTrial = () => readUpdateRecord(dir)?.state === "pending";
  let child: Subprocess | null = null;
  let stopping: NodeJS.Signals | null = null;
  let delay = first;
  let fast = 0;
  let restarts = 0;
  const forward = (sig: NodeJS.Signals) => {
    stopping = sig;
    child?.kill(sig);
  };
  process.on("SIGINT", () => forward("SIGINT"));
  process.on("SIGTERM", () => forward("SIGTERM"));

  for (;;) {
    const startedAt = Date.now();
    try {
      child = Bun.spawn([...command, "start", ...opts.args], {
        stdio: ["inherit", "inherit", "inherit"],
        env: { ...process.env, GROVE_SUPERVISED: String(process.pid) },
      });
    } catch (e) {
      child = null;
      if (onTrial() && rollBack(dir, `the new build cannot be started: ${errorMessage(e)}`)) continue;
      log("error", `supervisor: cannot start the cell: ${errorMessage(e)}; giving up`);
      return 1;
    }
    log("info", "supervisor: cell started", { pid: child.pid, restarts });
    // A new build on trial must mark itself up in time; one that does not is hung: kill it.
    let hung: string | null = null;
    const running = child;
    const stopWatch = onTrial()
      ? watchTrial(dir, startedAt, {
          onHung: (why) => {
            hung = why;
            log("warn", `supervisor: ${why}`);
            running.kill("SIGKILL");
          },
        })
      : null;
    const code = await child.exited;
    stopWatch?.();
    const signal = child.signalCode;
    if (stopping) return 0;
    if (code === UPDATE_RESTART_CODE) {
      log("info", "supervisor: the cell swapped in a new build; starting it now");
      fast = 0;
      delay = first;
      continue;
    }
    const ran = Date.now() - startedAt;
    if (
      onTrial() &&
      rollBack(dir, hung ?? `the new build ended (${describeEnd(code, signal)}) ${(ran / 1000).toFixed(1)} s after starting`)
    ) {
      log("warn", "supervisor: starting the previous build again");
      continue;
    }
    if (code === 0 || code === 2) {
      log("info", `supervisor: the cell ended (${describeEnd(code, signal)}); not restarting`);
      return code;
    }
    if (ran < stableMs) fast++;
    else {
      fast = 0;
      delay = first;
    }
    if (fast >= maxFast) {
      log(
        "error",
        `supervisor: the cell died ${fast} times in a row within ${Math.round(stableMs / 1000)} s of starting (last: ${describeEnd(code, signal)}); giving up — see the cell's messages above`,
      );
      return 1;
    }
    restarts++;
    log("warn", `supervisor: the cell ended (${describeEnd(code, signal)}) after ${(ran / 1000).toFixed(1)} s; restarting in ${delay} ms`, {
      restart: restarts,
    });
    await Bun.sleep(delay);
    if (stopping) return 0;
    delay = Math.min(RESTART_MAX_MS, delay * 2);
  }
}
