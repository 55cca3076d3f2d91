// The chunk store's two forms (store/chunk-store): a chunk of at most INLINE_MAX sealed bytes is a
// row of placement.db, a larger one a file; every reader finds either; a row written for a
// caller's transaction exists only if that transaction commits. On a real placement.db.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { INLINE_MAX, ChunkStore, type StagedChunk } from "../../src/store/chunk-store.ts";
import { PlacementDb } from "../../src/store/placement-db.ts";
import { sha256Hex } from "../../src/core/sha256.ts";
import type { ChunkHash } from "../../src/core/types.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import { chunkNames } from "../helpers/chunks.ts";

let dir: string;
let db: PlacementDb;
let store: ChunkStore;
const chunk = (n: number, seed: number) => {
  const bytes = pseudoRandom(n, seed);
  return { bytes, hash: sha256Hex(bytes) as ChunkHash };
};
const fileOf = (h: string) => join(dir, "chunks", h.slice(0, 2), h);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "grove-chunk-store-"));
  db = new PlacementDb(join(dir, "placement.db"));
  store = new ChunkStore(join(dir, "chunks"), db.db);
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("where a chunk lives", () => {
  test("at most INLINE_MAX bytes: a row, no file; one byte more: a file, no row; both read back the same way", async () => {
    const small = chunk(INLINE_MAX, 1);
    const large = chunk(INLINE_MAX + 1, 2);
    for (const c of [small, large]) {
      expect(store.has(c.hash)).toBe(false);
      const put = await store.putStaged(c.hash, c.bytes);
      expect(put.wrote).toBe(true);
      await put.durable; // a row: at once; a file: once fsynced and renamed into place
      expect(store.has(c.hash)).toBe(true);
      expect(store.size(c.hash)).toBe(c.bytes.byteLength);
      expect(Buffer.compare(await store.read(c.hash), c.bytes)).toBe(0);
      expect(Buffer.compare(store.readSync(c.hash), c.bytes)).toBe(0);
      const into = new Uint8Array(INLINE_MAX + 100);
      expect(Buffer.compare(await store.readInto(c.hash, into), c.bytes)).toBe(0);
      const exact = new Uint8Array(c.bytes.byteLength);
      expect(Buffer.compare(await store.readExactInto(c.hash, exact), c.bytes)).toBe(0);
      await expect(store.readExactInto(c.hash, new Uint8Array(c.bytes.byteLength - 1))).rejects.toThrow(/holds/);
      // Written again: found present, not rewritten.
      expect((await store.putStaged(c.hash, c.bytes)).wrote).toBe(false);
    }
    const row = (h: string) => db.db.query("SELECT length(body) AS n FROM inline_chunks WHERE hash = ?").get(h) as { n: number } | null;
    expect(row(small.hash)?.n).toBe(INLINE_MAX);
    expect(existsSync(fileOf(small.hash))).toBe(false);
    expect(row(large.hash)).toBeNull();
    expect(existsSync(fileOf(large.hash))).toBe(true);
    expect(chunkNames(dir).sort()).toEqual([small.hash, large.hash].sort());
  });

  test("remove takes a row or a file and says the bytes freed; a missing chunk reads as ENOENT", async () => {
    const small = chunk(5000, 3);
    const large = chunk(200_000, 4);
    for (const c of [small, large]) await (await store.putStaged(c.hash, c.bytes)).durable;
    expect(store.remove(small.hash)).toBe(5000);
    expect(store.remove(large.hash)).toBe(200_000);
    expect(store.remove(large.hash)).toBe(0);
    for (const c of [small, large]) {
      expect(store.has(c.hash)).toBe(false);
      expect(store.size(c.hash)).toBeNull();
      await expect(store.read(c.hash)).rejects.toMatchObject({ code: "ENOENT" });
    }
  });

  test("a chunk file an earlier build wrote, small as it is, is still read from its file", async () => {
    const old = chunk(3000, 5);
    mkdirSync(dirname(fileOf(old.hash)), { recursive: true });
    writeFileSync(fileOf(old.hash), old.bytes);
    expect(store.has(old.hash)).toBe(true);
    expect(Buffer.compare(await store.read(old.hash), old.bytes)).toBe(0);
    expect(store.remove(old.hash)).toBe(3000);
    expect(existsSync(fileOf(old.hash))).toBe(false);
  });
});

describe("rows written with what names them", () => {
  test("putStaged with `rows`: nothing is kept until the caller commits them; a transaction that fails keeps none", async () => {
    const a = chunk(4000, 6);
    const b = chunk(4000, 7);
    const rows: StagedChunk[] = [];
    const buf = new Uint8Array(a.bytes); // a pooled buffer the caller reuses at once
    expect((await store.putStaged(a.hash, buf, { rows })).wrote).toBe(true);
    buf.fill(0);
    expect(store.has(a.hash)).toBe(false);
    await store.putStaged(b.hash, b.bytes, { rows });
    expect(() =>
      db.db.transaction(() => {
        store.commitRows(rows);
        throw new Error("the version could not be recorded");
      })(),
    ).toThrow(/could not be recorded/);
    expect(store.has(a.hash) || store.has(b.hash)).toBe(false);
    db.db.transaction(() => store.commitRows(rows))();
    expect(Buffer.compare(store.readSync(a.hash), a.bytes)).toBe(0); // the bytes as given, not the buffer reused after
    expect(store.has(b.hash)).toBe(true);
  });

  test("a group: files made durable and renamed, rows left to the caller (rowsByCaller), or committed here; discard removes temp files", async () => {
    const small = chunk(1000, 8);
    const large = chunk(100_000, 9);
    const group = [await store.stage(small.hash, small.bytes), await store.stage(large.hash, large.bytes)] as StagedChunk[];
    expect(group.every(Boolean)).toBe(true);
    await store.commit(group, { rowsByCaller: true });
    expect(store.has(large.hash)).toBe(true);
    expect(store.has(small.hash)).toBe(false);
    store.commitRows(group);
    expect(store.has(small.hash)).toBe(true);
    expect(await store.stage(small.hash, small.bytes)).toBeNull(); // present: nothing staged

    const again = chunk(100_001, 10);
    const s = (await store.stage(again.hash, again.bytes))!;
    expect("temp" in s && existsSync(s.temp)).toBe(true);
    await store.discard([s]);
    expect("temp" in s && existsSync(s.temp)).toBe(false);
    expect(store.has(again.hash)).toBe(false);
  });

  test("a staged small chunk from a reused buffer is copied; from a buffer left alone it is not", async () => {
    const c = chunk(2000, 11);
    const reused = new Uint8Array(c.bytes);
    const s = (await store.stage(c.hash, reused, { reused: true }))!;
    reused.fill(1);
    await store.commit([s]);
    expect(Buffer.compare(store.readSync(c.hash), c.bytes)).toBe(0);
    const d = chunk(2000, 12);
    const kept = (await store.stage(d.hash, d.bytes)) as { inline: Uint8Array };
    expect(kept.inline).toBe(d.bytes);
  });

  test("inlineNames lists rows stored before a time, in name order, page by page", async () => {
    const names = [...store.inlineNames(Date.now() + 1, 2)];
    expect(names.length).toBeGreaterThan(3);
    expect([...names].sort()).toEqual(names);
    expect(new Set(names).size).toBe(names.length);
    expect([...store.inlineNames(0)]).toEqual([]);
  });
});

test("without placement.db (a store opened on a bare folder) every chunk is a file", async () => {
  const bare = new ChunkStore(join(dir, "bare"));
  const c = chunk(100, 13);
  await (await bare.putStaged(c.hash, c.bytes)).durable;
  expect(existsSync(join(dir, "bare", c.hash.slice(0, 2), c.hash))).toBe(true);
  expect([...bare.inlineNames(Date.now() + 1)]).toEqual([]);
});
