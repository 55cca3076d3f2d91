// The room kept for other cells (config max_peer_storage_bytes) is read at each chunk: a change the
// running cell takes (a live key: the Settings form, an edit of config.json) holds at once.
import { expect, test } from "bun:test";
import type { CellId, ChunkHash } from "../../src/core/types.ts";
import { sha256Hex } from "../../src/core/sha256.ts";
import { StorageFullError } from "../../src/store/held-store.ts";
import { openTempCell, pseudoRandom } from "../helpers/vault.ts";

test("a smaller room refuses the next chunk at once; a larger one takes it", async () => {
  const cell = openTempCell();
  try {
    const owner = "b".repeat(64) as CellId;
    const chunk = (seed: number) => {
      const bytes = pseudoRandom(10_000, seed);
      return { hash: sha256Hex(bytes) as ChunkHash, bytes };
    };
    const one = chunk(1);
    expect(await cell.held.putChunk(owner, one.hash, one.bytes)).toBe(true);
    cell.config.max_peer_storage_bytes = 15_000; // as applyLive sets it when config.json changes
    const two = chunk(2);
    const refused = await cell.held.putChunk(owner, two.hash, two.bytes).catch((e) => e);
    expect(refused).toBeInstanceOf(StorageFullError);
    expect(cell.held.has(owner, two.hash)).toBe(false);
    cell.config.max_peer_storage_bytes = 1_000_000;
    expect(await cell.held.putChunk(owner, two.hash, two.bytes)).toBe(true);
    expect(cell.held.totalBytes()).toBe(20_000);
  } finally {
    cell.destroy();
  }
});
