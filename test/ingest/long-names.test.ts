/**
 * Names up to the documented limit (255 bytes per segment, UTF-8) work end to end on a real
 * cell: `grove put`, PUT /api/files, `grove get` (to a named file and to the current folder),
 * `grove ls`, history, delete and restore, the watcher, and recovery. The manifest file and
 * every temp file keep within the file system's 255-byte name limit (core/atomic, store/manifest).
 * A 256-byte segment is refused with a 400 that names no server path.
 */
import { untilSettled } from "../helpers/settled.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliJson, destroyCell, FROM_SOURCE, pair, runGrove, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import type { SyncReport } from "../../src/sync/round.ts";

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s).byteLength;
const config = { replication_factor: 2, sync_interval_s: 3600, watch_debounce_ms: 200 };

/** A name of exactly `n` UTF-8 bytes ending in ".txt": ASCII, or mostly 2-, 3- and 4-byte characters. */
function nameOf(n: number, multibyte: boolean, tag: string): string {
  let s = tag;
  const pieces = multibyte ? ["é", "€", "😀", "ж"] : ["a"];
  for (let i = 0; bytes(s) + bytes(pieces[i % pieces.length]!) + 4 <= n; i++) s += pieces[i % pieces.length];
  while (bytes(s) + 4 < n) s += "x";
  s += ".txt";
  if (bytes(s) !== n) throw new Error(`built ${bytes(s)} bytes, wanted ${n}`);
  return s;
}

const cases: { label: string; path: string }[] = [];
for (const n of [200, 254, 255]) {
  for (const multibyte of [false, true]) {
    const name = nameOf(n, multibyte, `${n}${multibyte ? "m" : "a"}-`);
    // Half of them inside folders, whose names are long too.
    cases.push({
      label: `${n} bytes, ${multibyte ? "multi-byte" : "ASCII"}`,
      path: multibyte ? `${nameOf(255, true, "dir-").replace(/\.txt$/, "xxxx")}/${name}` : name,
    });
  }
}
const body = (path: string, v: number) => enc.encode(`${v}: ${path}\n`);
const encodePath = (p: string) => p.split("/").map(encodeURIComponent).join("/");

let cell: TestCell | undefined;
let peer: TestCell | undefined;
let recovered: TestCell | undefined;
let scratch = "";

beforeAll(async () => {
  [cell, peer] = await Promise.all([startCell({ config }), startCell({ config })]);
  scratch = tempRoot("grove-long-");
});

afterAll(async () => {
  await Promise.all([destroyCell(cell), destroyCell(peer), destroyCell(recovered)]);
  rmSync(scratch, { recursive: true, force: true });
});

/** Every file name under `dir` (recursively) and its length in bytes. */
function longestName(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { recursive: true }).map((p) => bytes(String(p).split("/").pop()!)));
}

describe("names up to 255 bytes", () => {
  for (const c of cases) {
    test(`${c.label}: put, upload, get, ls, history, delete, restore`, async () => {
      const src = join(scratch, "src.bin");
      writeFileSync(src, body(c.path, 1));
      const put = await cell!.cli(["put", src, "--as", c.path]);
      expect(put.stderr).toBe("");
      expect(put.code).toBe(0);
      // Version 2 through the HTTP API.
      const up = await cell!.api(`/api/files/${encodePath(c.path)}`, { method: "PUT", body: body(c.path, 2) });
      expect(up.status).toBe(201);
      expect(readFileSync(join(cell!.home, c.path), "utf8")).toBe(`2: ${c.path}\n`);

      const ls = await cliJson<{ path: string }[]>(cell!, ["ls"]);
      expect(ls.map((x) => x.path)).toContain(c.path);
      const h = await cliJson<{ versions: { version: number }[] }>(cell!, ["history", c.path]);
      expect(h.versions.map((v) => v.version).sort()).toEqual([1, 2]);

      // get to a named file, and to the current folder under the file's own (255-byte) name.
      const out = join(scratch, "out.bin");
      const g = await cell!.cli(["get", c.path, "--version", "1", "-o", out]);
      expect(g.stderr).toBe("");
      expect(readFileSync(out, "utf8")).toBe(`1: ${c.path}\n`);
      const here = join(scratch, "here");
      mkdirSync(here, { recursive: true });
      const g2 = await cell!.cli(["get", c.path], { cwd: here });
      expect(g2.stderr).toBe("");
      expect(g2.code).toBe(0);
      expect(readFileSync(join(here, c.path.split("/").pop()!), "utf8")).toBe(`2: ${c.path}\n`);
      rmSync(here, { recursive: true, force: true });

      // Delete to history, then restore version 1 into GROVE_HOME.
      const del = await cell!.api(`/api/files/${encodePath(c.path)}`, { method: "DELETE" });
      expect(del.status).toBe(200);
      expect(existsSync(join(cell!.home, c.path))).toBe(false);
      const r = await cell!.cli(["restore", c.path, "--version", "1"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(readFileSync(join(cell!.home, c.path), "utf8")).toBe(`1: ${c.path}\n`);
    }, 60_000);
  }

  test("manifest files keep within 255 bytes; where the name fits they keep the readable layout; no temp file is left", async () => {
    await untilSettled(cell!.dir); // the settler writes the manifests' files once the store is quiet
    const manifests = join(cell!.dir, "manifests");
    expect(longestName(manifests)).toBeLessThanOrEqual(255);
    const short = cases.find((c) => c.label === "200 bytes, ASCII")!.path;
    expect(readdirSync(manifests).some((n) => n.startsWith(short + ".") && /\.[0-9a-f]{8}\.json$/.test(n))).toBe(true);
    const long = cases.find((c) => c.label === "255 bytes, ASCII")!.path;
    expect(readdirSync(manifests).some((n) => n.startsWith(long.slice(0, 150)) && /~[0-9a-f]{16}\.[0-9a-f]{8}\.json$/.test(n))).toBe(true);
    const all = [...readdirSync(manifests, { recursive: true }), ...readdirSync(cell!.home, { recursive: true })].map(String);
    expect(all.filter((n) => n.includes(".grove-") || n.includes(".tmp-"))).toEqual([]);
  });

  test("a 255-byte name dropped into GROVE_HOME is stored by the watcher", async () => {
    const name = nameOf(255, true, "watched-");
    writeFileSync(join(cell!.home, name), "dropped in\n");
    let found = false;
    for (let i = 0; i < 200 && !found; i++) {
      await Bun.sleep(100);
      found = (await cliJson<{ path: string }[]>(cell!, ["ls"])).some((x) => x.path === name);
    }
    expect(found).toBe(true);
    const out = join(scratch, "w.bin");
    expect((await cell!.cli(["get", name, "-o", out])).code).toBe(0);
    expect(readFileSync(out, "utf8")).toBe("dropped in\n");
    const st = (await (await cell!.api("/api/status")).json()) as { watching: { last_error: string | null } };
    expect(st.watching.last_error).toBeNull();
  }, 60_000);

  test("a 256-byte segment is refused with a clear 400 that names no server path", async () => {
    const name = nameOf(256, true, "too-long-");
    for (const path of [name, `docs/${name}`]) {
      const res = await cell!.api(`/api/files/${encodePath(path)}`, { method: "PUT", body: "x" });
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(text).toContain("longer than 255 bytes");
      for (const secret of [cell!.root, cell!.dir, cell!.home, "/tmp", "ENAMETOOLONG"]) expect(text).not.toContain(secret);
    }
    const src = join(scratch, "src.bin");
    writeFileSync(src, "x");
    const put = await cell!.cli(["put", src, "--as", name]);
    expect(put.code).not.toBe(0);
    expect(put.stderr).toContain("longer than 255 bytes");
    expect(put.stderr).not.toContain(cell!.root);
  });

  test("a cell recovered from the fleet gets its 255-byte names back", async () => {
    await pair(cell!, peer!);
    const s = await cliJson<SyncReport>(cell!, ["sync"]);
    expect(s.errors).toEqual([]);
    const phrase = (await cliJson<{ phrase: string }>(cell!, ["recovery-phrase"])).phrase;
    const before = (await cliJson<{ path: string; size: number }[]>(cell!, ["ls"])).map((x) => x.path).sort();
    await destroyCell(cell);
    cell = undefined;
    const token = (await peer!.cli(["invite"])).stdout.trim();
    const root = tempRoot();
    const env = { GROVE_DIR: join(root, "dir"), GROVE_HOME: join(root, "home") };
    expect((await runGrove(FROM_SOURCE, ["recover", "--invite", token], env, { stdin: phrase })).code).toBe(0);
    recovered = await startCell({ root, config });
    const r = await cliJson<SyncReport>(recovered, ["sync"]);
    expect(r.errors).toEqual([]);
    expect(r.recovering).toBe(false);
    expect((await cliJson<{ path: string }[]>(recovered, ["ls"])).map((x) => x.path).sort()).toEqual(before);
    await untilSettled(recovered.dir);
    expect(longestName(join(recovered.dir, "manifests"))).toBeLessThanOrEqual(255);
    // Every version of every name reads back (through the API, all at once: `grove get` of these
    // names is checked above, on the cell before it was lost).
    const got = await Promise.all(
      cases.flatMap((c) =>
        [1, 2].map(async (v) => {
          const res = await recovered!.api(`/api/files/${encodePath(c.path)}?version=${v}`);
          return [res.status, await res.text()];
        }),
      ),
    );
    expect(got).toEqual(cases.flatMap((c) => [1, 2].map((v) => [200, `${v}: ${c.path}\n`])));
  }, 120_000);
});
