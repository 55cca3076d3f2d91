/**
 * Removing a peer asks it to release what it keeps for us: A and B paired (R = 2), A's chunk on
 * B; `grove peers remove B` on A, and B deletes its copy (B still has A as a peer: it was asked,
 * signed, while A knew it). A's placement no longer counts B.
 */
import { hasChunk } from "../helpers/chunks.ts";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliJson, destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { pseudoRandom } from "../helpers/vault.ts";

let a: TestCell, b: TestCell;
let bId = "";
const config = { replication_factor: 2, sync_interval_s: 3600, sync_after_change_s: 0, mdns: false };

beforeAll(async () => {
  [a, b] = await Promise.all([startCell({ config }), startCell({ config })]);
  bId = (await b.cli(["id"])).stdout.trim();
  await pair(a, b);
}, 60_000);
afterAll(() => Promise.all([destroyCell(a), destroyCell(b)]));

test("a removed peer is asked to release our chunks, and does", async () => {
  const src = join(a.root, "f.bin");
  writeFileSync(src, pseudoRandom(300_000, 5));
  expect((await a.cli(["put", src, "--as", "f.bin"])).code).toBe(0);
  const s = await cliJson<{ chunks_pushed: number }>(a, ["sync"]);
  expect(s.chunks_pushed).toBe(1);
  const meta = (await (await a.api("/api/files/f.bin?meta")).json()) as { manifest: { chunks: { hash: string }[] } };
  const h = meta.manifest.chunks[0]!.hash;
  const onB = () => hasChunk(b.dir, h);
  expect(onB()).toBe(true);

  expect((await a.cli(["peers", "remove", bId])).code).toBe(0);
  // B deletes the chunk before A hears its answer and logs it: wait for both.
  const released = () => !onB() && a.output().includes("removed peer released our chunks");
  for (let i = 0; i < 100 && !released(); i++) await Bun.sleep(100);
  expect(onB()).toBe(false);
  expect(a.output()).toContain("removed peer released our chunks");
  // A counts only its own copy now; B still lists A (only A removed B).
  const placement = await cliJson<{ files: { path: string; copies: number }[] }>(a, ["placement"]);
  expect(placement.files.find((f) => f.path === "f.bin")?.copies).toBe(1);
  expect((await cliJson<{ id: string }[]>(b, ["peers"])).length).toBe(1);
}, 60_000);
