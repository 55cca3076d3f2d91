import { expect, test } from "bun:test";
import { sha256Hex } from "../../src/core/sha256.ts";
import type { ChunkHash } from "../../src/core/types.ts";
import { BatchBody } from "../../src/sync/batch-body.ts";
import { CHUNK_FRAME_HEAD, decodeChunkBatch, encodeChunkBatch } from "../../src/sync/wire.ts";

const chunk = (n: number, v: number) => {
  const bytes = new Uint8Array(n).fill(v);
  return { hash: sha256Hex(bytes) as ChunkHash, bytes };
};

test("a batch built in place is the same body encodeChunkBatch makes, and a frame taken back leaves no trace", () => {
  const chunks = [chunk(100, 1), chunk(40, 2), chunk(7000, 3)];
  const b = new BatchBody(new Uint8Array(64 * 1024));
  for (const c of chunks) b.frame(c.hash, c.bytes.byteLength)!.set(c.bytes);
  expect(b.body).toEqual(encodeChunkBatch(chunks));
  const lost = chunk(500, 4);
  expect(b.frame(lost.hash, 500)).not.toBeNull();
  b.undo();
  expect(b.body).toEqual(encodeChunkBatch(chunks));
  const out = decodeChunkBatch(b.body, sha256Hex, 16);
  expect(out.map((c) => c.hash)).toEqual(chunks.map((c) => c.hash));
});

test("a frame that does not fit is refused (null) and the body is unchanged", () => {
  const a = chunk(50, 1);
  const b = new BatchBody(new Uint8Array(CHUNK_FRAME_HEAD * 2 + 80));
  b.frame(a.hash, 50)!.set(a.bytes);
  expect(b.frame(chunk(60, 2).hash, 60)).toBeNull();
  expect(b.body).toEqual(encodeChunkBatch([a]));
});
