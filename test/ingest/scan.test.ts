/**
 * `grove scan` / POST /api/scan with a real cell whose watcher would wait a minute for a file to
 * settle: a scan stores new and changed files at once (small ones in one group commit, a large
 * one on its own), a second scan stores nothing, a path given on this machine is understood, and
 * bad paths are refused with a clear 4xx that changes nothing. In-process, a cell without a
 * watcher says so (409).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openApp } from "../helpers/app.ts";
import { cliJson, destroyCell, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { pseudoRandom } from "../helpers/vault.ts";

const outside = tempRoot("grove-scan-");
const watched = join(outside, "Notebook");
let a: TestCell;

type Scan = { looked: number; stored: number; failed: number };
type Listed = { files: { path: string; size: number }[] };
const sizes = async (prefix: string) =>
  Object.fromEntries(((await (await a.api(`/api/files?prefix=${prefix}`)).json()) as Listed).files.map((f) => [f.path, f.size]));

beforeAll(async () => {
  mkdirSync(watched, { recursive: true });
  a = await startCell({ config: { sync_interval_s: 3600, watch_debounce_ms: 60_000, watch_dirs: [watched] } });
}, 60_000);

afterAll(async () => {
  await destroyCell(a);
  rmSync(outside, { recursive: true, force: true });
}, 60_000);

describe("scan", () => {
  test("stores new files at once, without waiting for them to settle; a second scan stores nothing", async () => {
    mkdirSync(join(a.home, "drop", "deep"), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(a.home, "drop", `s${i}.bin`), pseudoRandom(10_000 + i, i));
    writeFileSync(join(a.home, "drop", "deep", "big.bin"), pseudoRandom(9 * 1024 * 1024, 9));
    writeFileSync(join(a.home, "elsewhere.txt"), "not scanned");
    expect(await sizes("drop")).toEqual({});
    const r = await cliJson<Scan>(a, ["scan", "drop"]);
    expect(r).toEqual({ looked: 4, stored: 4, failed: 0 });
    expect(await sizes("drop")).toEqual({
      "drop/s0.bin": 10_000,
      "drop/s1.bin": 10_001,
      "drop/s2.bin": 10_002,
      "drop/deep/big.bin": 9 * 1024 * 1024,
    });
    // The watcher's own timer (a minute) has not fired: only the scanned folder is stored.
    expect(await sizes("elsewhere.txt")).toEqual({});
    const body = await a.api("/api/files/drop/deep/big.bin");
    expect(Buffer.compare(Buffer.from(await body.arrayBuffer()), Buffer.from(pseudoRandom(9 * 1024 * 1024, 9)))).toBe(0);
    expect(await cliJson<Scan>(a, ["scan", "drop"])).toEqual({ looked: 4, stored: 0, failed: 0 });
  });

  test("a changed file is a new version; a path on this machine and a watched folder are understood", async () => {
    writeFileSync(join(a.home, "drop", "s1.bin"), "changed");
    writeFileSync(join(watched, "page.md"), "# a page");
    const r1 = await a.cli(["scan", "./drop/s1.bin"], { cwd: a.home });
    expect(r1.stderr).toBe("");
    expect(r1.stdout).toContain("1 file looked at, 1 stored");
    const meta = (await (await a.api("/api/files/drop/s1.bin?meta")).json()) as { versions: unknown[] };
    expect(meta.versions.length).toBe(2);
    expect(await cliJson<Scan>(a, ["scan", watched])).toEqual({ looked: 1, stored: 1, failed: 0 });
    expect(await sizes("Notebook")).toEqual({ "Notebook/page.md": 8 });
    // Without a path: every root; what the earlier scans stored is not stored again.
    expect(await cliJson<Scan>(a, ["scan"])).toMatchObject({ stored: 1, failed: 0 }); // elsewhere.txt
  });

  test("bad paths are refused with a clear 4xx and change nothing", async () => {
    const before = await sizes("");
    const post = (body: string) => a.api("/api/scan", { method: "POST", headers: { "Content-Type": "application/json" }, body });
    const missing = await post(JSON.stringify({ path: "no/such/folder" }));
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toContain("no/such/folder is not there");
    expect((await post(JSON.stringify({ path: "../etc" }))).status).toBe(400);
    expect((await post("{not json")).status).toBe(400);
    expect((await post(JSON.stringify({ path: "drop", extra: 1 }))).status).toBe(400);
    // A symbolic link in GROVE_HOME to a folder outside: a scan through it stores nothing from there.
    mkdirSync(join(outside, "secret"), { recursive: true });
    writeFileSync(join(outside, "secret", "key.txt"), "not for the tree");
    symlinkSync(join(outside, "secret"), join(a.home, "link"));
    for (const path of ["link/key.txt", "link"]) {
      const r = await post(JSON.stringify({ path }));
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: string }).error).toContain("goes through a symbolic link");
    }
    expect(await cliJson<Scan>(a, ["scan"])).toEqual({ looked: 6, stored: 0, failed: 0 }); // the walk skips the link
    const outsideCli = await a.cli(["scan", outside]);
    expect(outsideCli.code).not.toBe(0);
    expect(outsideCli.stderr).toContain("is not in GROVE_HOME or a watched folder");
    expect(await sizes("")).toEqual(before);
    const noToken = await fetch(`${a.url}/api/scan`, { method: "POST" });
    expect(noToken.status).toBe(401);
    // A foreign Host (DNS rebinding) is refused before the token is even looked at.
    const rebound = await a.api("/api/scan", { method: "POST", headers: { Host: "evil.example:5678" } });
    expect(rebound.status).toBeGreaterThanOrEqual(400);
    expect(rebound.status).toBeLessThan(500);
    expect(await sizes("")).toEqual(before);
  });
});

test("a cell without a watcher says so", async () => {
  const app = openApp({ watch_home: false });
  try {
    const r = await app.api("/api/scan", { method: "POST" });
    expect(r.status).toBe(409);
    expect(((await r.json()) as { error: string }).error).toContain("the file watcher is off");
  } finally {
    app.close();
  }
});
