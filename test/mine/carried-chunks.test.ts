/**
 * mine/carried-chunks: the chunks of small files that ride on a poke. The poking cell carries the
 * one chunk of each small file its events put, read from its store, within the limits; the poked
 * cell keeps only chunks that match their names, hands each over once, and forgets them after a
 * while or past its byte budget. (The poke itself, signed and refused for a stranger, is attacked
 * against real cells in test/mine/write-versions.)
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../../src/core/sha256.ts";
import type { CellId, ChunkHash } from "../../src/core/types.ts";
import { CARRIED_CHUNK_MAX, CARRIED_FILES, CarriedChunks, RecentChunks, chunksToCarry } from "../../src/mine/carried-chunks.ts";
import { ChunkStore } from "../../src/store/chunk-store.ts";
import { pseudoRandom } from "../helpers/vault.ts";

const dir = mkdtempSync(join(tmpdir(), "grove-carried-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FROM = "a".repeat(64) as CellId;

const bytes = (n: number, seed: number): Uint8Array => pseudoRandom(n, seed + 1);
/** A manifest body naming `chunks` (only what chunksToCarry reads must be right; the rest is valid). */
function manifestBody(chunks: { hash: string; size: number }[]): string {
  return JSON.stringify({
    format: 1,
    version: 1,
    source_path: "x.bin",
    total_size: 1,
    file_hash: "f".repeat(64),
    created_at: new Date(0).toISOString(),
    owner: FROM,
    chunks: chunks.map((c, index) => ({ ...c, index })),
  });
}

describe("what a poke carries", () => {
  const store = new ChunkStore(join(dir, "chunks"));
  const put = async (b: Uint8Array) => {
    const h = sha256Hex(b) as ChunkHash;
    await (await store.putStaged(h, b)).durable;
    return h;
  };

  test("the one chunk of each small file put, from the store; not a large file's, not one of several, not one missing, not a move's", async () => {
    const small = await put(bytes(4096, 1));
    const large = await put(bytes(CARRIED_CHUNK_MAX + 1, 2));
    const two = [await put(bytes(100, 3)), await put(bytes(100, 4))];
    const absent = sha256Hex(bytes(50, 5));
    const manifests: Record<string, string> = {
      ["1".repeat(64)]: manifestBody([{ hash: small, size: 4096 }]),
      ["2".repeat(64)]: manifestBody([{ hash: large, size: CARRIED_CHUNK_MAX + 1 }]),
      ["3".repeat(64)]: manifestBody(two.map((hash) => ({ hash, size: 100 }))),
      ["4".repeat(64)]: manifestBody([{ hash: absent, size: 50 }]),
    };
    const moved = "5".repeat(64);
    manifests[moved] = manifestBody([{ hash: await put(bytes(900, 6)), size: 900 }]);
    // A move keeps content the other cell has: nothing carried for it.
    const events = [
      ...Object.keys(manifests).map((manifest) => ({ kind: manifest === moved ? "move" : "put", manifest })),
      { kind: "delete" },
    ];
    const carried = chunksToCarry(store, events, manifests)!;
    expect(Object.keys(carried)).toEqual([small]);
    expect(Buffer.from(carried[small]!, "base64")).toEqual(Buffer.from(bytes(4096, 1)));
    expect(chunksToCarry(store, [{ kind: "delete" }], {})).toBeUndefined();
  });

  test("a chunk this cell just sealed is carried from memory (a put writes past the page cache); a copy, bounded", () => {
    const recent = new RecentChunks();
    const sealed = bytes(2000, 40);
    const hash = sha256Hex(sealed);
    const buf = new Uint8Array(sealed); // the sealing buffer, reused by the caller after the call
    recent.remember(hash, buf);
    buf.fill(0);
    const manifests = { ["6".repeat(64)]: manifestBody([{ hash, size: 2000 }]) };
    // Not in the store at all: only the memory copy can carry it.
    const carried = chunksToCarry(store, [{ kind: "put", manifest: "6".repeat(64) }], manifests, recent)!;
    expect(Buffer.from(carried[hash]!, "base64")).toEqual(Buffer.from(sealed));
    recent.remember(sha256Hex(bytes(CARRIED_CHUNK_MAX + 1, 41)), bytes(CARRIED_CHUNK_MAX + 1, 41));
    expect(recent.get(sha256Hex(bytes(CARRIED_CHUNK_MAX + 1, 41)))).toBeUndefined(); // too large to carry: not kept
    for (let i = 0; i < 40; i++) recent.remember(sha256Hex(bytes(60_000, 100 + i)), bytes(60_000, 100 + i)); // 2.4 MB
    expect(recent.get(hash)).toBeUndefined();
    // The ring wrapped: the newest are whole, byte for byte.
    for (const i of [137, 138, 139]) expect(recent.get(sha256Hex(bytes(60_000, i)))).toEqual(bytes(60_000, i));
  });

  test(`at most ${CARRIED_FILES} files`, async () => {
    const manifests: Record<string, string> = {};
    for (let i = 0; i < CARRIED_FILES + 5; i++)
      manifests[i.toString(16).padStart(64, "0")] = manifestBody([{ hash: await put(bytes(200, 100 + i)), size: 200 }]);
    const carried = chunksToCarry(
      store,
      Object.keys(manifests).map((manifest) => ({ kind: "put", manifest })),
      manifests,
    )!;
    expect(Object.keys(carried).length).toBe(CARRIED_FILES);
  });
});

describe("what a poked cell keeps", () => {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

  test("only chunks that match their names, each handed over once", () => {
    const kept = new CarriedChunks();
    const good = bytes(300, 7);
    const bad = bytes(300, 8);
    const n = kept.take(FROM, { [sha256Hex(good)]: b64(good), [sha256Hex(good).replace(/^./, "0")]: b64(bad) });
    expect(n).toBe(1);
    expect(kept.claim(sha256Hex(good.slice(0, 1)))).toBeUndefined();
    expect(kept.claim(sha256Hex(good))).toEqual(good);
    expect(kept.claim(sha256Hex(good))).toBeUndefined(); // once
  });

  test("malformed carried chunks are refused whole: a bad name, too many, one too large, not an object", () => {
    const kept = new CarriedChunks();
    const c = bytes(10, 9);
    const many = Object.fromEntries(Array.from({ length: CARRIED_FILES + 1 }, (_, i) => [sha256Hex(bytes(10, i)), b64(bytes(10, i))]));
    for (const raw of [{ "../../etc/passwd": b64(c) }, many, { [sha256Hex(c)]: "A".repeat(CARRIED_CHUNK_MAX * 2) }, "chunks", [b64(c)]])
      expect(kept.take(FROM, raw)).toBe(0);
    expect(kept.take(FROM, { [sha256Hex(c)]: b64(c) })).toBe(1);
  });

  test("forgotten after a minute, and past a megabyte, oldest first", () => {
    const kept = new CarriedChunks();
    const t0 = 1_000_000;
    const old = bytes(1000, 10);
    kept.take(FROM, { [sha256Hex(old)]: b64(old) }, t0);
    const later = bytes(1000, 11);
    kept.take(FROM, { [sha256Hex(later)]: b64(later) }, t0 + 61_000);
    expect(kept.claim(sha256Hex(old))).toBeUndefined();
    expect(kept.claim(sha256Hex(later))).toEqual(later);
    // 20 pokes of 16 chunks of 4 KiB (1.25 MiB): the first ones are dropped, the last kept.
    const all: Uint8Array[] = [];
    for (let p = 0; p < 20; p++) {
      const chunks = Array.from({ length: 16 }, (_, i) => bytes(4096, 1000 + p * 16 + i));
      all.push(...chunks);
      kept.take(FROM, Object.fromEntries(chunks.map((c) => [sha256Hex(c), b64(c)])), t0 + 62_000);
    }
    expect(kept.claim(sha256Hex(all[0]!))).toBeUndefined();
    expect(kept.claim(sha256Hex(all.at(-1)!))).toEqual(all.at(-1)!);
  });
});
