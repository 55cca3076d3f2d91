/**
 * Editing config.json while a cell runs: the live keys (config/live) are taken at once, the
 * others are said to need a restart, and a file that does not validate changes nothing.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliJson, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { LIVE_KEYS, applyLive } from "../../src/config/live.ts";
import { defaultConfig } from "../../src/config/config.ts";

let c: TestCell;
beforeAll(async () => {
  c = await startCell({ config: { name: "before", watch_home: false } });
});
afterAll(() => destroyCell(c));

function edit(extra: Record<string, unknown>): void {
  const p = join(c.dir, "config.json");
  const cur = JSON.parse(readFileSync(p, "utf8"));
  const tmp = p + ".tmp";
  writeFileSync(tmp, JSON.stringify({ ...cur, ...extra }, null, 2));
  renameSync(tmp, p); // as an editor or `grove` would: atomically
}

async function until(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await Bun.sleep(100)) if (await check()) return true;
  return false;
}

test("applyLive copies the live keys in place and lists the rest", () => {
  const cur = defaultConfig();
  const r = applyLive(cur, { ...cur, name: "new", replication_factor: 3, port: 7000 });
  expect(r).toEqual({ applied: ["name", "replication_factor"], restart: ["port"] });
  expect(cur.name).toBe("new");
  expect(cur.port).toBe(5678);
  expect(LIVE_KEYS).not.toContain("port");
});

test("a running cell takes a new name at once; a port change waits for a restart and says so", async () => {
  edit({ name: "after", replication_factor: 3, peer_port: 6000 });
  expect(await until(async () => (await cliJson<{ name: string }>(c, ["status"])).name === "after")).toBe(true);
  expect(await until(async () => c.output().includes("take effect at the next start (restart the cell) keys=peer_port"))).toBe(true);
  expect(c.output()).toContain("config.json reloaded: taken at once keys=name,replication_factor");
  // Its card says the new name too (what peers and the invite carry).
  const token = (await c.cli(["invite"])).stdout.trim();
  expect(token).toMatch(/^grove1\./);
  // A bad value changes nothing.
  edit({ name: "", replication_factor: 0 });
  expect(await until(async () => c.output().includes("config.json not reloaded"))).toBe(true);
  expect((await cliJson<{ name: string; replication_factor: number }>(c, ["status"])).name).toBe("after");
});

test("a watched folder added while the cell runs is watched at once (what is in it already too); one taken out is let go", async () => {
  // This cell started watching nothing (watch_home false, no watch_dirs): the watcher is off.
  type Status = { watching: { roots: string[]; stored: number } | null };
  expect((await cliJson<Status>(c, ["status"])).watching).toBeNull();
  const dir = join(c.root, "Notebook");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "already.txt"), "there before\n");
  edit({ name: "after", replication_factor: 3, watch_dirs: [dir] }); // the test above left values that do not validate
  const listed = async (p: string) => (await c.api(`/api/files/${p}?meta`)).status === 200;
  expect(await until(() => listed("Notebook/already.txt"), 15_000)).toBe(true);
  writeFileSync(join(dir, "new.txt"), "written after\n");
  expect(await until(() => listed("Notebook/new.txt"), 15_000)).toBe(true);
  expect(await (await c.api("/api/files/Notebook/new.txt")).text()).toBe("written after\n");
  expect((await cliJson<Status>(c, ["status"])).watching?.roots).toEqual([dir]);
  // Taken out: no longer watched; what was stored stays.
  edit({ watch_dirs: [] });
  expect(await until(async () => (await cliJson<Status>(c, ["status"])).watching === null, 10_000)).toBe(true);
  writeFileSync(join(dir, "later.txt"), "not stored\n");
  await Bun.sleep(1500); // the cell's debounce (watch_debounce_ms 1000 by default) and more
  expect(await listed("Notebook/later.txt")).toBe(false);
  expect(await listed("Notebook/new.txt")).toBe(true);
}, 60_000);

test("local discovery follows config.json without a restart, but a cell started with GROVE_MDNS=0 keeps it off", async () => {
  type Nearby = { mdns: boolean; mdns_off: "config" | "environment" | null };
  const nearby = async () => (await (await c.api("/api/nearby")).json()) as Nearby;
  // The helper starts cells with GROVE_MDNS=0 (multicast would leave the machine): off, and says why.
  expect(await nearby()).toMatchObject({ mdns: false, mdns_off: "environment" });
  edit({ mdns: false });
  expect(await until(async () => (await nearby()).mdns_off === "config")).toBe(true);
  edit({ mdns: true, mdns_interfaces: ["lo"] });
  expect(await until(async () => (await nearby()).mdns_off === "environment")).toBe(true);
  expect((await nearby()).mdns).toBe(false);
  expect(c.output()).not.toMatch(/mDNS: advertising/);
  expect(c.output()).not.toMatch(/next start \(restart the cell\) keys=[^\n]*mdns/);
});
