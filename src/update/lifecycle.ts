/**
 * @module update/lifecycle — the self-update inside a running cell (`grove start`):
 *
 *  - at start: settle a pending swap (this is the new build → mark update.json "done" once it has
 *    run `updateStableMs()`; this is still the old build → the swap never took effect, roll it
 *    back), forget an offer that is no longer newer, and offer our own executable to peers when a
 *    valid `<exe>.sig.json` sits beside it (copied into releases/<target>);
 *  - after each sync round: check peers for a newer trusted build (and install it with
 *    `auto_update`);
 *  - after a swap: stop the cell, then `handoff` — under a supervisor, exit UPDATE_RESTART_CODE
 *    so it starts the new executable at once (and rolls back if it dies while pending); alone,
 *    start the new executable detached with the same arguments and watch it for the stable time,
 *    rolling back and starting the old build again if it dies.
 *
 * `cellUpdater(deps)` makes the one Updater of a cell, shared by the local API and the dashboard.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { buildHash, buildTarget, buildTime, isCompiled } from "../core/build-info.ts";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { Card } from "../protocol/card.ts";
import type { Config } from "../config/config.ts";
import type { PeerDirectory } from "../fleet/peer-directory.ts";
import { callPeerRaw, type PeerCaller } from "../net/peer-client.ts";
import { isNewerTime, parseOfferedSig, signedBy } from "./release-sig.ts";
import { ReleaseStore, releasesDir } from "./release-store.ts";
import { markDone, rollBack, sigOf } from "./swap.ts";
import {
  readAvailable,
  readUpdateRecord,
  updateStableMs,
  UPDATE_RESTART_CODE,
  writeAvailable,
  type UpdateAvailable,
} from "./update-state.ts";
import { watchTrial } from "./trial-watch.ts";
import { newerThan, Updater, type SelfBuild, type UpdaterHost } from "./updater.ts";

/**
 * Test builds only (build.ts with GROVE_BUILD_FAULT): "crash-on-start" makes `grove start` exit 1;
 * "hang-on-start" makes it stop answering for good once listening (its thread blocks).
 */
declare const GROVE_BUILD_FAULT: string | undefined;

export function buildFault(): string | null {
  return typeof GROVE_BUILD_FAULT === "string" && GROVE_BUILD_FAULT ? GROVE_BUILD_FAULT : null;
}

/** The build this process runs. */
export function selfBuild(): SelfBuild {
  const compiled = isCompiled();
  return {
    build: buildHash(),
    build_time: buildTime(),
    target: compiled ? buildTarget() : `${process.platform}-${process.arch}`,
    exe: compiled ? realpathSync(process.execPath) : null,
  };
}

/** The update a peer offers this cell (noticed by the last check), or null. */
export function offeredUpdate(groveDir: string): UpdateAvailable | null {
  return newerThan(readAvailable(groveDir), selfBuild());
}

/** What the updater needs of a running cell. */
export interface UpdaterDeps {
  dir: string;
  config: Pick<Config, "trusted_release_keys" | "auto_update">;
  peers: PeerDirectory;
  caller: PeerCaller;
}

/**
 * The cell's one Updater, shared by the local API and the dashboard. Once a new build is swapped
 * in, the cell is stopped the usual way (the SIGTERM handler of `grove start`) after the caller has
 * its answer; `handoff` then restarts.
 */
export function cellUpdater(deps: UpdaterDeps): Updater {
  return new Updater({
    dir: deps.dir,
    store: new ReleaseStore(releasesDir(deps.dir)),
    self: selfBuild(),
    trustedKeys: () => deps.config.trusted_release_keys,
    autoUpdate: () => deps.config.auto_update,
    peers: () => deps.peers.list().map((p) => ({ id: p.id, name: p.name, targets: (JSON.parse(p.card) as Card).targets })),
    routeOf: (id) => deps.peers.routeOf(id),
    get: async (url, peer, path, ms) => {
      const r = await callPeerRaw(deps.caller, url, peer, "GET", path, undefined, ms);
      return { status: r.status, body: r.body };
    },
    swapped: () => void setTimeout(() => process.kill(process.pid, "SIGTERM"), 300),
  });
}

export interface CellUpdates {
  updater: Updater;
  /** After the cell stopped: the exit code of `grove start` (restarts into a swapped-in build). */
  handoff(code: number): Promise<number>;
}

/** Settle the self-update when the cell starts (a pending swap, offers); after each round the runtime calls `updater.afterRound`. */
export function startUpdates(updater: Updater): CellUpdates {
  if (buildFault() === "crash-on-start") {
    log("error", "this build fails at start on purpose (a test build made with GROVE_BUILD_FAULT=crash-on-start)");
    process.exit(1);
  }
  if (buildFault() === "hang-on-start") {
    log("error", "this build hangs at start on purpose (a test build made with GROVE_BUILD_FAULT=hang-on-start)");
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // blocks this thread for good, without using the CPU
  }
  const { dir, self, store } = updater.host;
  settlePending(dir, self, store);
  writeAvailable(dir, updater.available());
  store.clearTmp();
  void offerSelf(store, self).catch((e) => log("warn", `could not offer this build to peers: ${errorMessage(e)}`));

  return {
    updater,
    async handoff(code) {
      if (!updater.swapped || !self.exe) return code;
      if (process.env.GROVE_SUPERVISED) {
        log("info", `update: handing over to the supervisor to start build ${updater.swapped.to.slice(0, 12)}`);
        return UPDATE_RESTART_CODE;
      }
      return restartAlone(dir, self.exe);
    },
  };
}

/** A pending swap, seen at start; a rolled-back build is no longer offered to peers. */
function settlePending(dir: string, self: SelfBuild, store: ReleaseStore): void {
  let rec = readUpdateRecord(dir);
  if (rec?.state === "pending" && rec.to !== self.build && rec.from === self.build) {
    rec = rollBack(dir, "the cell started with the previous build again (the swap did not take effect)");
  }
  if (rec?.state === "rolled-back" && store.get(self.target)?.sig.build === rec.to) {
    store.remove(self.target);
    log("info", `update: build ${rec.to.slice(0, 12)} was rolled back here; no longer offered to peers`);
  }
  if (!rec || rec.state !== "pending") return;
  if (rec.to === self.build) {
    const ms = updateStableMs();
    log("info", `update: running the new build ${self.build.slice(0, 12)}; it counts as up after ${ms / 1000} s`);
    setTimeout(() => markDone(dir, self.build), ms).unref();
  }
}

/** Copy our own executable into releases/<target> when a valid sig.json for this build sits beside it. */
async function offerSelf(store: ReleaseStore, self: SelfBuild): Promise<void> {
  if (!self.exe) return;
  const path = sigOf(self.exe);
  if (!existsSync(path)) return;
  const sig = parseOfferedSig(readFileSync(path, "utf8"));
  if (sig.build !== self.build || sig.target !== self.target) {
    log("warn", `${path} describes build ${sig.build.slice(0, 12)} for ${sig.target}, not this one; not offered to peers`);
    return;
  }
  const signed = signedBy(sig);
  if (!signed) {
    log("warn", `${path}: the signature does not verify; this build is not offered to peers`);
    return;
  }
  const held = store.get(self.target);
  if (held && (held.sig.sha256 === sig.sha256 || isNewerTime(held.sig.build_time, sig.build_time))) return;
  await store.add(self.exe, signed);
}

/**
 * No supervisor: start the new build ourselves and watch it until it marks itself up (it has run
 * its stable time); one that ends first, or is still not up `updateTrialGraceMs()` later (hung,
 * then killed), is rolled back and the previous build started again.
 */
async function restartAlone(dir: string, exe: string): Promise<number> {
  const args = process.argv.slice(2);
  const env = { ...process.env };
  const ms = updateStableMs();
  const run = () => spawn(exe, args, { detached: true, stdio: "inherit", env });
  const child = run();
  log("info", `update: started the new build (pid ${child.pid}); watching it until it is up (${ms / 1000} s)`);
  const ended = await new Promise<string | null>((resolve) => {
    const stopWatch = watchTrial(dir, Date.now(), {
      onSettled: (state) => finish(state === "done" ? null : `the new build's trial ended ${state}`),
      onHung: (why) => {
        child.kill("SIGKILL");
        finish(why);
      },
    });
    const finish = (why: string | null) => {
      stopWatch();
      child.removeAllListeners("exit");
      resolve(why);
    };
    child.once("error", (e) => finish(`the new build cannot start: ${e.message}`));
    child.once("exit", (code, sig) =>
      finish(`the new build ended (${sig ? `killed by ${sig}` : `exit code ${code}`}) within ${ms / 1000} s of starting`),
    );
  });
  if (ended === null) {
    child.unref();
    log("info", "update: the new build is up; this process hands over to it");
    return 0;
  }
  if (!rollBack(dir, ended)) {
    log("error", `update: ${ended}; nothing to roll back`);
    return 1;
  }
  const old = run();
  old.unref();
  log("info", `update: the previous build is running again (pid ${old.pid})`);
  return 0;
}
