/**
 * `grove fsck` on real cells (A owns a file, B keeps a copy, R=2): a clean cell reports nothing;
 * a flipped byte, a lost chunk and a lost manifest on A are found (exit 1) and `--repair` brings
 * them back from B, byte-identical; a damaged copy kept on B is found there and dropped, A's
 * record of it is found stale, and the next round puts a good copy back; without a running cell
 * the check runs offline on GROVE_DIR.
 */
import { hasChunk, removeChunk, rotChunk } from "../helpers/chunks.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliJson, destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import { untilSettled } from "../helpers/settled.ts";
import type { FsckReport } from "../../src/sync/fsck.ts";

const config = { replication_factor: 2, sync_interval_s: 3600, watch_home: false };
let a: TestCell, b: TestCell;
const data = pseudoRandom(9 * 1024 * 1024 + 5, 77); // three chunks

function rows<T>(c: TestCell, sql: string): T[] {
  const db = new Database(join(c.dir, "placement.db"), { readonly: true });
  try {
    return db.query(sql).all() as T[];
  } finally {
    db.close();
  }
}
const chunksOf = () => rows<{ chunk_hash: string }>(a, "SELECT chunk_hash FROM manifest_chunks ORDER BY idx").map((r) => r.chunk_hash);
const manifestFile = () =>
  join(a.dir, "manifests", rows<{ manifest_file: string }>(a, "SELECT manifest_file FROM manifests")[0]!.manifest_file);

async function fsck(c: TestCell, repair = false): Promise<{ code: number; report: FsckReport }> {
  const r = await c.cli(["fsck", "--json", ...(repair ? ["--repair"] : [])]);
  return { code: r.code, report: JSON.parse(r.stdout) as FsckReport };
}
const kinds = (r: FsckReport) => r.problems.map((p) => p.kind).sort();

beforeAll(async () => {
  [a, b] = await Promise.all([startCell({ config }), startCell({ config })]);
  await pair(a, b);
  const src = join(a.root, "big.bin");
  writeFileSync(src, data);
  expect((await a.cli(["put", src, "--as", "big.bin"])).code).toBe(0);
  expect((await cliJson<{ chunks_pushed: number }>(a, ["sync"])).chunks_pushed).toBe(3);
  await untilSettled(a.dir); // the damage below is done to a settled store (before, the settler mends a lost manifest)
}, 120_000);

afterAll(async () => {
  await Promise.all([destroyCell(a), destroyCell(b)]);
});

describe("grove fsck", () => {
  test("a sound cell: no problems, every chunk and the peer's records checked, exit 0", async () => {
    const { code, report } = await fsck(a);
    expect(report.problems).toEqual([]);
    expect(code).toBe(0);
    expect(report.manifests).toBe(1);
    expect(report.chunks_checked).toBe(3);
    expect(report.peers_asked).toBe(1);
    const onB = await fsck(b);
    expect(onB.report.held_checked).toBe(3);
    expect(onB.code).toBe(0);
  });

  test("a flipped byte, a lost chunk and a lost manifest are found, and repaired from the peer", async () => {
    const [c0, c1] = chunksOf();
    rotChunk(a.dir, c0!, 1000);
    removeChunk(a.dir, c1!);
    rmSync(manifestFile());
    const found = await fsck(a);
    expect(found.code).toBe(1);
    expect(kinds(found.report)).toEqual(["manifest_missing"]); // without its manifest, its chunks cannot be checked yet
    const fixed = await fsck(a, true);
    expect(kinds(fixed.report)).toEqual(["chunk_corrupt", "chunk_missing", "manifest_missing"]);
    expect(fixed.report.problems.every((p) => p.repaired)).toBe(true);
    expect(fixed.code).toBe(0);
    expect(hasChunk(a.dir, c1!)).toBe(true);
    const back = Buffer.from(await (await a.api("/api/files/big.bin")).arrayBuffer());
    expect(Buffer.compare(back, Buffer.from(data))).toBe(0);
    expect((await fsck(a)).report.problems).toEqual([]);
  });

  test("a damaged copy kept for A is dropped on B; A finds its record stale; the next round restores the copy", async () => {
    const c2 = chunksOf()[2]!;
    rotChunk(b.dir, c2, 7);
    const onB = await fsck(b, true);
    expect(kinds(onB.report)).toEqual(["held_corrupt"]);
    expect(onB.report.problems[0]!.repaired).toBe(true);
    expect(hasChunk(b.dir, c2)).toBe(false);
    const onA = await fsck(a, true);
    expect(kinds(onA.report)).toEqual(["placement_stale"]);
    expect(onA.report.problems[0]!.chunk).toBe(c2);
    const s = await cliJson<{ chunks_pushed: number }>(a, ["sync"]);
    expect(s.chunks_pushed).toBe(1);
    expect(hasChunk(b.dir, c2)).toBe(true);
    expect((await fsck(b)).code).toBe(0);
    expect((await fsck(a)).code).toBe(0);
  });

  test("without a running cell: the check runs on GROVE_DIR, local problems only", async () => {
    await a.stop();
    const c0 = chunksOf()[0]!;
    rotChunk(a.dir, c0, 10);
    const r = await a.cli(["fsck"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("offline: no peers");
    expect(r.stdout).toContain("chunk_corrupt");
    expect(r.stdout).toContain("run `grove fsck --repair`");
  });
});
