/**
 * A new user's first steps, with `grove` run the way docs/cli-on-path.md says: bin/grove.cjs
 * (what `npm link` puts on the PATH), from folders outside the repository. One real cell, made
 * by its first start: its own name, a status that says nothing is stored yet, `grove nearby`
 * naming GROVE_MDNS=0, a damaged invite told in plain words, the watcher's restore hint quoted
 * for a shell (and run as printed), and SIGTERM to the wrapper stopping the cell cleanly.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { destroyCell, ROOT, runGrove, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { mdnsOffReason } from "../../src/cli/nearby.ts";

const NODE = Bun.which("node");
const WRAPPER = join(ROOT, "bin", "grove.cjs");
if (!NODE) console.warn("first-run: skipped (needs node, which runs bin/grove.cjs)");

let cell: TestCell;
let away: string; // a folder outside the repository
beforeAll(async () => {
  if (!NODE) return;
  away = tempRoot("grove-away-");
  // No config: this is the cell's first start, which writes config.json itself.
  cell = await startCell({ cmd: [NODE, WRAPPER] });
}, 120_000);
afterAll(async () => {
  await destroyCell(cell);
  if (away) rmSync(away, { recursive: true, force: true });
});

const grove = (args: string[], cwd = away) => runGrove([NODE!, WRAPPER], args, cell.env, { cwd });
/** Until `ok` holds (100 ms apart), or throw naming `what`. */
async function until<T>(what: string, get: () => Promise<T> | T, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (let v = await get(); ; v = await get()) {
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await Bun.sleep(100);
  }
}

describe.skipIf(!NODE)("first steps, outside the repository", () => {
  test("bin/grove.cjs runs from any folder, through a symlink as npm link makes it; without Bun it says what to do", async () => {
    const bin = join(away, "bin");
    mkdirSync(bin);
    symlinkSync(WRAPPER, join(bin, "grove"));
    const v = Bun.spawnSync([join(bin, "grove"), "--version"], { cwd: away, stdout: "pipe", stderr: "pipe" });
    expect(v.stderr.toString()).toBe("");
    expect(v.stdout.toString()).toStartWith("grove ");
    expect(v.exitCode).toBe(0);
    // A checkout where `npm install` was not run.
    const bare = join(away, "checkout");
    mkdirSync(join(bare, "bin"), { recursive: true });
    copyFileSync(WRAPPER, join(bare, "bin", "grove.cjs"));
    const r = Bun.spawnSync([NODE!, join(bare, "bin", "grove.cjs"), "status"], { cwd: away, stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toContain(`grove: Bun is not installed in ${bare}`);
    expect(r.stderr.toString()).toContain("run `npm install` there first");
  });

  test("the first start names the cell after the host, with a suffix of its own, and says how to change it", async () => {
    const name = JSON.parse(readFileSync(join(cell.dir, "config.json"), "utf8")).name as string;
    expect(name).toMatch(/-[0-9a-f]{4}$/);
    expect(name.startsWith(hostname().slice(0, 10)) || name.startsWith("grove-cell")).toBe(true);
    expect(cell.output()).toContain(
      `This cell is named "${name}": to change it, set "name" in ${join(cell.dir, "config.json")} and restart the cell.`,
    );
    const s = await grove(["status"]);
    expect(s.stdout).toContain(`cell      ${name} (`);
  });

  test("status of a cell with nothing stored says so", async () => {
    expect((await grove(["sync", "--json"])).stdout).toContain('"under_replicated": 0');
    const s = await grove(["status"]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^sync {6}last round .*; nothing stored yet; every /m);
    expect(s.stdout).not.toContain("every chunk at the replication factor");
  });

  test("grove nearby names GROVE_MDNS=0 as the reason mDNS is off, not config.json", async () => {
    const r = await grove(["nearby"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("mDNS is off on this cell: it was started with GROVE_MDNS=0");
    expect(r.stderr).not.toContain('"mdns" is false');
  });

  test("a damaged invite is told in a plain sentence", async () => {
    for (const token of ["grove1.bm90", "grove1.e30", "grove1." + Buffer.from(JSON.stringify({ v: 1, id: "xyz" })).toString("base64url")]) {
      const r = await grove(["join", token]);
      expect(r.code).toBe(1);
      expect(r.stderr).toStartWith("grove join: this invite token is damaged: ");
      expect(r.stderr).toContain("or make a new one with `grove invite`");
      expect(r.stderr).not.toMatch(/Invalid|expected|received|base64/);
    }
  });

  test("a relative path means the caller's folder; the watcher's restore hint is quoted for a shell and runs as printed", async () => {
    writeFileSync(join(away, "my file.txt"), "first words\n");
    const put = await grove(["put", "my file.txt", "--as", "notes/my file.txt"]);
    expect(put.stderr).toBe("");
    expect(put.code).toBe(0);
    // The watcher records a deletion in GROVE_HOME, with the commands to look and bring it back.
    const dir = join(cell.home, "My Notes");
    mkdirSync(dir, { recursive: true });
    const stored = "My Notes/it's here.txt";
    writeFileSync(join(cell.home, stored), "kept\n");
    await until(
      "the watcher to store it",
      () => grove(["ls", "--json"]),
      (r) => r.stdout.includes("it's here.txt"),
    );
    unlinkSync(join(cell.home, stored));
    const hint = await until(
      "the deletion hint",
      () => /`(grove restore [^`]*)` brings one back/.exec(cell.output())?.[1] ?? "",
      (h) => h !== "",
    );
    expect(hint).toBe(`grove restore 'My Notes/it'\\''s here.txt' --version N`);
    expect(cell.output()).toContain("`grove history 'My Notes/it'\\''s here.txt'`");
    // Copied into a shell as printed (N chosen), it brings the file back.
    const sh = Bun.spawnSync(["sh", "-c", `grove() { "${NODE}" "${WRAPPER}" "$@"; }; ${hint.replace(/N$/, "1")}`], {
      cwd: away,
      env: { ...process.env, ...cell.env },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(sh.stderr.toString()).toBe("");
    expect(sh.stdout.toString()).toContain(`${stored}: version 1 restored as version 3`);
    await until(
      "the file back in GROVE_HOME",
      () => existsSync(join(cell.home, stored)),
      (x) => x,
    );
    expect(readFileSync(join(cell.home, stored), "utf8")).toBe("kept\n");
  });

  test("SIGTERM to the wrapper stops the cell cleanly (it is passed on)", async () => {
    await cell.stop(); // SIGTERM to `node bin/grove.cjs start`
    expect(cell.proc.exitCode).toBe(0);
    expect(cell.output()).toContain("stopping (SIGTERM)");
    expect(existsSync(join(cell.dir, "cell.json"))).toBe(false);
  });
});

describe("why mDNS is off (cli/nearby mdnsOffReason)", () => {
  test("config.json, GROVE_MDNS=0, or the cell's own word", () => {
    const root = tempRoot("grove-mdns-why-");
    try {
      const layout = resolveLayout({ GROVE_DIR: join(root, "dir"), GROVE_HOME: join(root, "home") });
      mkdirSync(layout.dir);
      writeFileSync(layout.config, JSON.stringify({ mdns: false }));
      expect(mdnsOffReason(layout)).toBe(
        `mDNS is off on this cell: "mdns" is false in ${layout.config} (set it to true: the running cell takes it)`,
      );
      writeFileSync(layout.config, JSON.stringify({ mdns: true }));
      expect(mdnsOffReason(layout)).toStartWith("mDNS is off on this cell: it was started with GROVE_MDNS=0 in its environment");
      writeFileSync(layout.config, "{ not json");
      expect(mdnsOffReason(layout)).toBe(
        `mDNS is off on this cell: "mdns" is false in ${layout.config}, or the cell was started with GROVE_MDNS=0 in its environment`,
      );
      expect(mdnsOffReason(layout, "environment")).toStartWith("mDNS is off on this cell: it was started with GROVE_MDNS=0");
      expect(mdnsOffReason(layout, "config")).toContain('"mdns" is false');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
