/**
 * Self-update with real compiled executables. build.ts makes four signed builds of these
 * sources into temporary folders: "old", "new" (another GROVE_BUILD_SALT, a later
 * SOURCE_DATE_EPOCH), "crash" (later still, GROVE_BUILD_FAULT=crash-on-start: `--version`
 * works, `start` exits 1) and "hang" (latest, hang-on-start: `start` stops answering once listening). Cell A runs a copy of the old build under `--auto-restart` and trusts
 * the release key; cell B (old build too) offers builds through `grove release add`.
 *
 *  - unsigned, untrusted and tampered offers are refused with a clear error; nothing changes;
 *  - the new build is noticed (`update --check`, `status`), installed with `grove update`, and A
 *    comes back as the new build with its files; update.json ends "done";
 *  - an unsupervised cell with auto_update installs it on its own and hands over to it;
 *  - the crashing build is rolled back by the supervisor: the new build runs again, update.json
 *    says "rolled-back";
 *  - so is the hanging one, once it is still not up its stable time + the trial grace after starting.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";
import {
  BUN,
  ROOT,
  FROM_SOURCE,
  dashboardSession,
  destroyCell,
  freePort,
  pair,
  runGrove,
  startCell,
  type TestCell,
} from "../helpers/cell.ts";
import { fileDigest, generateReleaseKey, signRelease, type ReleaseSig } from "../../src/update/release-sig.ts";
import type { UpdateRecord } from "../../src/update/update-state.ts";

const HOST = `${process.platform}-${process.arch}`;
const T0 = 1_800_000_000; // SOURCE_DATE_EPOCH of the old build

interface Build {
  exe: string;
  sig: ReleaseSig;
}

let work: string;
let pub: string;
const builds: Record<"old" | "new" | "crash" | "hang", Build> = {} as Record<"old" | "new" | "crash" | "hang", Build>;
let A: TestCell | undefined;
let B: TestCell | undefined;
let C: TestCell | undefined;
let aExe: string;
let cExe: string;

async function build(name: keyof typeof builds, epoch: number, extra: Record<string, string> = {}): Promise<void> {
  const out = join(work, `build-${name}`);
  const p = Bun.spawn([BUN, join(ROOT, "build.ts"), "--only", "host", "--out-dir", out, "--sign-key", join(work, "release.key")], {
    cwd: ROOT,
    env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch), GROVE_BUILD_SALT: `update-test-${name}`, ...extra },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 120_000,
  });
  const [o, e, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`build ${name} failed (${code}):\n${o}\n${e}`);
  const exe = join(out, "grove");
  builds[name] = { exe, sig: JSON.parse(readFileSync(`${exe}.sig.json`, "utf8")) as ReleaseSig };
}

async function run(exe: string, args: string[], env: Record<string, string> = {}) {
  return runGrove([exe], args, env, { cwd: work });
}

/** Put an executable and a sig.json straight into B's releases (no checks: a misbehaving peer). */
function offerRaw(file: string, sig: unknown): void {
  const dir = join(B!.dir, "releases", HOST);
  mkdirSync(dir, { recursive: true });
  copyFileSync(file, join(dir, "grove"));
  writeFileSync(join(dir, "sig.json"), JSON.stringify(sig));
}

const record = (c: TestCell): UpdateRecord | null =>
  existsSync(join(c.dir, "update.json")) ? (JSON.parse(readFileSync(join(c.dir, "update.json"), "utf8")) as UpdateRecord) : null;

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

/** The build the cell answers with, over HTTP (cheap enough to poll); "" while it does not answer. */
async function apiBuild(c: TestCell): Promise<string> {
  try {
    const r = await c.api("/api/status");
    return r.ok ? ((await r.json()) as { build: string }).build : "";
  } catch {
    return "";
  }
}

async function statusBuild(c: TestCell): Promise<string> {
  const r = await c.cli(["status", "--json"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { build: string }).build;
}

/** A's executable is still exactly the old build, with no trace of a swap. */
async function unchanged(): Promise<void> {
  expect((await fileDigest(aExe)).sha256).toBe(builds.old.sig.sha256);
  expect(existsSync(`${aExe}.previous`)).toBe(false);
  expect(record(A!)).toBeNull();
  expect(await statusBuild(A!)).toBe(builds.old.sig.build);
}

beforeAll(async () => {
  work = realpathSync(mkdtempSync(join(tmpdir(), "grove-update-")));
  const kg = await runGrove(FROM_SOURCE, ["release", "keygen", "--out", join(work, "release.key")], {}, { cwd: work });
  expect(kg.code).toBe(0);
  pub = kg.stdout.trim();
  expect(pub).toMatch(/^[0-9a-f]{64}$/);
  await Promise.all([
    build("old", T0),
    build("new", T0 + 60),
    build("crash", T0 + 120, { GROVE_BUILD_FAULT: "crash-on-start" }),
    build("hang", T0 + 180, { GROVE_BUILD_FAULT: "hang-on-start" }),
  ]);

  // A runs its own copy (the file the update replaces), with the old build's sig.json beside it.
  mkdirSync(join(work, "a"));
  aExe = join(work, "a", "grove");
  copyFileSync(builds.old.exe, aExe);
  copyFileSync(`${builds.old.exe}.sig.json`, `${aExe}.sig.json`);
  chmodSync(aExe, 0o755);

  B = await startCell({
    root: mkdtempSync(join(tmpdir(), "grove-update-b-")),
    cmd: [builds.old.exe],
    config: { mdns: false, sync_interval_s: 3600 },
  });
  // B offers its own signed executable once started; wait for that before anything replaces it.
  await until("B offering its own build", () => existsSync(join(B!.dir, "releases", HOST, "sig.json")));
  A = await startCell({
    root: mkdtempSync(join(tmpdir(), "grove-update-a-")),
    cmd: [aExe],
    args: ["--auto-restart"],
    listen: { host: "127.0.0.1", port: freePort() },
    config: { mdns: false, sync_interval_s: 3600, trusted_release_keys: [pub] },
    // A new build counts as up after 1 s (the crash build dies at once; the hanging one is never up,
    // and is stopped 1 + 3 s after it starts).
    env: { GROVE_RESTART_BACKOFF_MS: "200", GROVE_UPDATE_STABLE_MS: "1000", GROVE_UPDATE_TRIAL_GRACE_MS: "3000" },
  });
  await pair(B, A);
  writeFileSync(join(A.root, "keep.txt"), "kept across updates\n");
  expect((await A.cli(["put", join(A.root, "keep.txt"), "--as", "keep.txt"])).code).toBe(0);
}, 180_000);

afterAll(async () => {
  // C's new build runs detached from the test's process after its self-update.
  if (C) {
    try {
      const pid = (JSON.parse(readFileSync(join(C.dir, "cell.json"), "utf8")) as { pid: number }).pid;
      if (pid !== C.proc.pid) process.kill(pid, "SIGTERM");
      await Bun.sleep(300);
    } catch {}
  }
  for (const c of [A, B, C]) await destroyCell(c);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("self-update between compiled cells", () => {
  test("builds carry their build time and a signature; --version shows both", async () => {
    const v = await run(builds.new.exe, ["--version"]);
    expect(v.stdout.trim()).toBe(`grove 0.1.0 build ${builds.new.sig.build} (${HOST}) built ${builds.new.sig.build_time}`);
    expect(builds.new.sig).toMatchObject({
      v: 1,
      target: HOST,
      key: pub,
      build_time: new Date((T0 + 60) * 1000).toISOString().replace(".000Z", "Z"),
    });
    expect(builds.old.sig.build).not.toBe(builds.new.sig.build);
    expect((await fileDigest(builds.new.exe)).sha256).toBe(builds.new.sig.sha256);
  });

  test("unsigned, untrusted and tampered builds are refused with a clear error; nothing changes", async () => {
    const { signature: _s, key: _k, ...unsigned } = builds.new.sig;
    offerRaw(builds.new.exe, unsigned);
    let r = await A!.cli(["update"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/offers build [0-9a-f]{12} for \S+ is unsigned.*nothing was changed/);
    await unchanged();

    const stranger = generateReleaseKey();
    const { v: _v, key: _k2, signature: _s2, ...facts } = builds.new.sig;
    offerRaw(builds.new.exe, signRelease(stranger.secret, facts));
    const check = JSON.parse((await A!.cli(["update", "--check", "--json"])).stdout) as {
      available: unknown;
      refused: { reason: string }[];
    };
    expect(check.available).toBeNull();
    expect(check.refused[0]!.reason).toMatch(/not in trusted_release_keys/);
    r = await A!.cli(["update"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/signed by release key [0-9a-f]{16}…, which is not in trusted_release_keys/);
    await unchanged();

    const tampered = join(work, "tampered");
    const bytes = new Uint8Array(readFileSync(builds.new.exe));
    bytes[Math.floor(bytes.byteLength / 2)]! ^= 0x01;
    writeFileSync(tampered, bytes);
    expect((await B!.cli(["release", "add", tampered, `${builds.new.exe}.sig.json`])).stderr).toMatch(/does not match its signature/);
    offerRaw(tampered, builds.new.sig); // a peer that serves it anyway
    r = await A!.cli(["update"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not match its signature \(sha256 .*\): tampered or damaged/);
    await unchanged();
    expect(A!.output()).toMatch(/update refused: .*tampered or damaged; nothing was changed/);
  }, 60_000);

  test("a newer signed build is noticed, installed with `grove update`, and A comes back as it with its files", async () => {
    const add = await B!.cli(["release", "add", builds.new.exe]);
    expect(add.code).toBe(0);
    expect(add.stdout).toContain(`offering build ${builds.new.sig.build.slice(0, 12)} for ${HOST}`);
    const check = JSON.parse((await A!.cli(["update", "--check", "--json"])).stdout) as {
      available: { build: string; peer: string } | null;
    };
    expect(check.available?.build).toBe(builds.new.sig.build);
    expect((await A!.cli(["status"])).stdout).toContain(`update    build ${builds.new.sig.build.slice(0, 12)}`);
    // The dashboard: a banner on the tabs, a section in Settings, "Update now" needs the CSRF token.
    const { cookie, csrf } = await dashboardSession(A!);
    const files = await (await fetch(A!.url + "/files", { headers: { cookie } })).text();
    expect(files).toContain('class="update-banner"');
    expect(files).toContain(builds.new.sig.build.slice(0, 12));
    expect(files).toContain('hx-post="/update"');
    const settings = await (await fetch(A!.url + "/settings", { headers: { cookie } })).text();
    expect(settings).toContain("Update now");
    expect(settings).toContain(`value="${csrf}"`);
    const forged = await fetch(A!.url + "/update", { method: "POST", headers: { cookie, "hx-request": "true" } });
    expect(forged.status).toBe(403);
    expect(record(A!)).toBeNull();

    const r = await A!.cli(["update"]);
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`updated: build ${builds.old.sig.build.slice(0, 12)} → ${builds.new.sig.build.slice(0, 12)}`);
    expect((await run(aExe, ["--version"])).stdout).toContain(`build ${builds.new.sig.build}`);
    expect((await run(`${aExe}.previous`, ["--version"])).stdout).toContain(`build ${builds.old.sig.build}`);
    expect(await statusBuild(A!)).toBe(builds.new.sig.build);
    expect((await A!.cli(["get", "keep.txt", "-o", join(A!.root, "back.txt")])).code).toBe(0);
    expect(readFileSync(join(A!.root, "back.txt"), "utf8")).toBe("kept across updates\n");
    expect(A!.output()).toContain("supervisor: the cell swapped in a new build; starting it now");
    await until("update.json done", () => record(A!)?.state === "done");
    expect(record(A!)).toMatchObject({ from: builds.old.sig.build, to: builds.new.sig.build, state: "done" });
    // A now offers the new build onward, and no longer announces an update.
    expect(JSON.parse(readFileSync(join(A!.dir, "releases", HOST, "sig.json"), "utf8")).build).toBe(builds.new.sig.build);
    expect((await A!.cli(["status"])).stdout).not.toContain("update    ");
  }, 60_000);

  test("an unsupervised cell with auto_update installs the build on its own and hands over to it", async () => {
    mkdirSync(join(work, "c"));
    cExe = join(work, "c", "grove");
    copyFileSync(builds.old.exe, cExe);
    chmodSync(cExe, 0o755);
    C = await startCell({
      root: mkdtempSync(join(tmpdir(), "grove-update-c-")),
      cmd: [cExe],
      listen: { host: "127.0.0.1", port: freePort() },
      config: { mdns: false, sync_interval_s: 3600, trusted_release_keys: [pub], auto_update: true },
      env: { GROVE_UPDATE_STABLE_MS: "1000" },
    });
    await pair(B!, C);
    void C.cli(["sync"]); // the round's update check installs it (auto_update)
    await until("C running the new build", async () => (await apiBuild(C!)) === builds.new.sig.build, 30_000);
    expect((await run(cExe, ["--version"])).stdout).toContain(`build ${builds.new.sig.build}`);
    expect(await C.proc.exited).toBe(0); // the old process handed over and ended
    expect(C.output()).toContain("auto_update: installing build");
    expect(C.output()).toContain("update: the new build is up; this process hands over to it");
    await until("C's update.json done", () => record(C!)?.state === "done");
  }, 60_000);

  test("a signed build that crashes on start is rolled back: the previous build runs again", async () => {
    expect((await B!.cli(["release", "add", builds.crash.exe])).code).toBe(0);
    const r = await A!.cli(["update"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`build ${builds.crash.sig.build.slice(0, 12)} did not come up and was rolled back: the new build ended \\(exit code 1\\)`),
    );
    expect((await run(aExe, ["--version"])).stdout).toContain(`build ${builds.new.sig.build}`);
    const rec = record(A!)!;
    expect(rec).toMatchObject({ from: builds.new.sig.build, to: builds.crash.sig.build, state: "rolled-back" });
    expect(rec.reason).toContain("exit code 1");
    await until("A answering again", async () => (await apiBuild(A!)) === builds.new.sig.build);
    expect(A!.output()).toContain("update rolled back");
    expect((await A!.cli(["get", "keep.txt", "-o", join(A!.root, "back2.txt")])).code).toBe(0);
    // It is not offered as an update again (auto_update would loop), and `grove update` says why.
    const again = await A!.cli(["update"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/did not come up here before and was rolled back/);
    // The build that failed here is not offered onward.
    await until(
      "A offering its own build again",
      () =>
        existsSync(join(A!.dir, "releases", HOST, "sig.json")) &&
        JSON.parse(readFileSync(join(A!.dir, "releases", HOST, "sig.json"), "utf8")).build === builds.new.sig.build,
    );
  }, 60_000);

  test("a signed build that hangs on start (never comes up) is stopped and rolled back", async () => {
    expect((await B!.cli(["release", "add", builds.hang.exe])).code).toBe(0);
    const r = await A!.cli(["update"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `build ${builds.hang.sig.build.slice(0, 12)} did not come up and was rolled back: the new build did not come up within \\d+\\.\\d s of starting \\(running but never marked up: hung\\)`,
      ),
    );
    expect((await run(aExe, ["--version"])).stdout).toContain(`build ${builds.new.sig.build}`);
    expect(record(A!)).toMatchObject({ from: builds.new.sig.build, to: builds.hang.sig.build, state: "rolled-back" });
    expect(A!.output()).toContain("this build hangs at start on purpose");
    await until("A answering again", async () => (await apiBuild(A!)) === builds.new.sig.build);
    expect((await A!.cli(["get", "keep.txt", "-o", join(A!.root, "back3.txt")])).code).toBe(0);
  }, 90_000);
});
