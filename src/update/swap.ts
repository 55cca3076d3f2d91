/**
 * @module update/swap — replacing the running executable, and putting it back.
 *
 * Install (`installBuild`): the verified download is copied next to the executable (same file
 * system, so the final rename is atomic), test-started there (`NEW --version` must report the
 * expected build, within 10 s), the current executable is kept as `<exe>.previous` (a hard link,
 * else a copy), update.json is written "pending", and the new file is renamed over `<exe>`.
 * The sig.json beside the executable (`<exe>.sig.json`) follows: the old one is kept as
 * `<exe>.previous.sig.json`. A running process keeps its old inode; the next start runs the new
 * build.
 *
 * Rollback (`rollBack`): `<exe>.previous` renamed back over `<exe>` (and its sig.json),
 * update.json marked "rolled-back" with the reason. Used by the supervisor (runtime/supervisor),
 * by an unsupervised cell watching the build it handed over to (update/lifecycle), and at start
 * when a pending swap never took effect.
 */
import { chmodSync, copyFileSync, existsSync, linkSync, renameSync, rmSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { randomBytes } from "node:crypto";
import { fsyncDir, writeFileAtomicSync } from "../core/atomic.ts";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { checkDigest, fileDigest, ReleaseRefused, type ReleaseSig } from "./release-sig.ts";
import { readUpdateRecord, writeUpdateRecord, type UpdateRecord } from "./update-state.ts";

export const TEST_START_TIMEOUT_MS = 10_000;

export const previousOf = (exe: string) => `${exe}.previous`;
export const sigOf = (exe: string) => `${exe}.sig.json`;

/** Run `file --version`; it must exit 0 within the timeout and name `build`. Throws ReleaseRefused. */
export async function testStart(file: string, build: string, timeoutMs = TEST_START_TIMEOUT_MS): Promise<void> {
  let out = "";
  let code: number | null;
  try {
    const env = { ...process.env };
    delete env.GROVE_SUPERVISED;
    const p = Bun.spawn([file, "--version"], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env, timeout: timeoutMs });
    const [o, e, c] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    out = (o + e).trim();
    code = p.signalCode ? null : c;
  } catch (e) {
    throw new ReleaseRefused(`the new build cannot be started here: ${errorMessage(e)}`);
  }
  if (code === null) throw new ReleaseRefused(`the new build did not answer --version within ${timeoutMs / 1000} s`);
  if (code !== 0)
    throw new ReleaseRefused(`the new build's --version failed (exit code ${code}): ${out.split("\n")[0]?.slice(0, 200) ?? ""}`);
  if (!out.includes(`build ${build}`))
    throw new ReleaseRefused(`the new build reports "${out.split("\n")[0]?.slice(0, 200)}", expected build ${build.slice(0, 12)}`);
}

export interface InstallInput {
  /** The verified download. */
  file: string;
  sig: ReleaseSig;
  /** The executable to replace (the running one). */
  exe: string;
  /** GROVE_DIR (update.json). */
  dir: string;
  /** The running build. */
  from: string;
  peer?: string;
}

/** Stage, test-start and swap in a verified build. Nothing is changed when it throws. */
export async function installBuild(input: InstallInput): Promise<UpdateRecord> {
  const { exe, sig } = input;
  const staged = join(dirname(exe), `.${basename(exe)}.update-${randomBytes(6).toString("hex")}`);
  try {
    try {
      copyFileSync(input.file, staged);
      chmodSync(staged, 0o755);
    } catch (e) {
      throw new ReleaseRefused(`cannot write next to ${exe}: ${errorMessage(e)} (the executable's folder must be writable to update)`);
    }
    // What runs is what was verified: the staged copy is checked again.
    checkDigest(sig, await fileDigest(staged));
    await testStart(staged, sig.build);
    const previous = previousOf(exe);
    rmSync(previous, { force: true });
    try {
      linkSync(exe, previous);
    } catch {
      copyFileSync(exe, previous);
      chmodSync(previous, 0o755);
    }
    const rec: UpdateRecord = {
      v: 1,
      from: input.from,
      to: sig.build,
      at: new Date().toISOString(),
      state: "pending",
      exe,
      previous,
      ...(input.peer ? { peer: input.peer } : {}),
    };
    // "pending" before the rename: a crash between the two is rolled back harmlessly (previous = exe).
    writeUpdateRecord(input.dir, rec);
    if (existsSync(sigOf(exe))) renameSync(sigOf(exe), sigOf(previous));
    else rmSync(sigOf(previous), { force: true });
    renameSync(staged, exe);
    fsyncDir(dirname(exe));
    writeFileAtomicSync(sigOf(exe), JSON.stringify(sig, null, 2) + "\n", 0o644);
    log("info", "update: new build swapped in", { from: input.from.slice(0, 12), to: sig.build.slice(0, 12), exe, previous });
    return rec;
  } finally {
    rmSync(staged, { force: true });
  }
}

/**
 * Put `<exe>.previous` back and mark update.json "rolled-back" with `reason`. Returns the
 * updated record, or null when there was no pending update to roll back.
 */
export function rollBack(dir: string, reason: string): UpdateRecord | null {
  const rec = readUpdateRecord(dir);
  if (!rec || rec.state !== "pending") return null;
  let note = reason;
  try {
    if (existsSync(rec.previous)) {
      renameSync(rec.previous, rec.exe);
      if (existsSync(sigOf(rec.previous))) renameSync(sigOf(rec.previous), sigOf(rec.exe));
      else rmSync(sigOf(rec.exe), { force: true });
      fsyncDir(dirname(rec.exe));
    } else {
      note += ` (no ${rec.previous} to put back)`;
    }
  } catch (e) {
    note += ` (putting ${rec.previous} back failed: ${errorMessage(e)})`;
  }
  const done: UpdateRecord = { ...rec, state: "rolled-back", reason: note, settled_at: new Date().toISOString() };
  writeUpdateRecord(dir, done);
  log("error", `update rolled back: build ${rec.to.slice(0, 12)} did not come up (${note}); build ${rec.from.slice(0, 12)} is back`, {
    exe: rec.exe,
  });
  return done;
}

/** Mark a pending update "done" (the new build has run long enough). */
export function markDone(dir: string, build: string): UpdateRecord | null {
  const rec = readUpdateRecord(dir);
  if (!rec || rec.state !== "pending" || rec.to !== build) return null;
  const done: UpdateRecord = { ...rec, state: "done", settled_at: new Date().toISOString() };
  writeUpdateRecord(dir, done);
  log("info", `update done: build ${build.slice(0, 12)} is up (previous kept as ${rec.previous})`);
  return done;
}
