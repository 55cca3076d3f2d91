/**
 * `grove history` and `grove restore` against a real cell: versions newest first, deletions kept,
 * an older version restored as a new one (content back in GROVE_HOME, byte-identical), and clear
 * refusals for a deletion, an unknown version and a missing --version.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliJson, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";

let cell: TestCell;
beforeAll(async () => {
  cell = await startCell({ config: { watch_home: false } });
}, 60_000);
afterAll(() => destroyCell(cell));

type Meta = {
  deleted: boolean;
  current: { version: number } | null;
  versions: { version: number; deleted: boolean; size: number | null }[];
};

test("history lists every version; restore brings an older one back as a new version", async () => {
  const src = join(cell.root, "f.txt");
  for (const text of ["first draft\n", "second draft, longer\n"]) {
    writeFileSync(src, text);
    expect((await cell.cli(["put", src, "--as", "docs/f.txt"])).code).toBe(0);
  }
  expect((await cell.api("/api/files/docs/f.txt", { method: "DELETE" })).status).toBe(200);
  const h = await cliJson<Meta>(cell, ["history", "docs/f.txt"]);
  expect(h.deleted).toBe(true);
  expect(h.versions.map((v) => [v.version, v.deleted, v.size])).toEqual([
    [3, true, null],
    [2, false, 21],
    [1, false, 12],
  ]);
  const text = (await cell.cli(["history", "docs/f.txt"])).stdout;
  expect(text).toContain("deleted");
  expect(text).toContain("grove restore docs/f.txt --version N");

  const r = await cell.cli(["restore", "docs/f.txt", "--version", "1"]);
  expect(r.stderr).toBe("");
  expect(r.stdout.trim()).toBe("docs/f.txt: version 1 restored as version 4");
  expect(readFileSync(join(cell.home, "docs", "f.txt"), "utf8")).toBe("first draft\n");
  expect(await (await cell.api("/api/files/docs/f.txt")).text()).toBe("first draft\n");
  const after = await cliJson<Meta>(cell, ["history", "docs/f.txt"]);
  expect(after.deleted).toBe(false);
  expect(after.current?.version).toBe(4);
  expect((await cell.cli(["restore", "docs/f.txt", "--version", "1"])).stdout).toContain("already the current content");
});

test("restoring a deletion, an unknown version, or without --version is refused with a reason", async () => {
  const del = await cell.cli(["restore", "docs/f.txt", "--version", "3"]);
  expect(del.code).toBe(1);
  expect(del.stderr).toContain("version 3 of 'docs/f.txt' is a deletion");
  const none = await cell.cli(["restore", "docs/f.txt", "--version", "99"]);
  expect(none.code).toBe(1);
  expect(none.stderr).toContain("has no version 99");
  expect((await cell.cli(["restore", "docs/f.txt"])).code).toBe(2);
  expect((await cell.cli(["history", "nope.txt"])).stderr).toContain("no file at 'nope.txt'");
  expect((await cell.api("/api/files/docs/f.txt?restore=x", { method: "POST" })).status).toBe(400);
});
