/**
 * core/gc-pacer: a collection only after PACE_BYTES of work, at most one per PACE_MS, run a moment
 * after the work (not in its turn); the garbage of a burst is gone after it.
 */
import { expect, test } from "bun:test";
import { heapStats } from "bun:jsc";
import { PACE_BYTES, PACE_MS, paceCollection } from "../../src/core/gc-pacer.ts";

test("small work asks for no collection; enough work, one per PACE_MS, after the caller's turn", async () => {
  await Bun.sleep(PACE_MS + 10);
  await paceCollection(PACE_BYTES); // whatever earlier work left, collected: counting from here
  await Bun.sleep(PACE_MS + 10);
  expect(paceCollection(64 * 1024)).toBeNull(); // one small file stored: no collection (issue 20)
  let ran = false;
  const due = paceCollection(PACE_BYTES); // the work adds up
  expect(due).not.toBeNull();
  void due!.then(() => (ran = true));
  await Promise.resolve();
  expect(ran).toBe(false); // not in this turn: what the work set going leaves first
  await due;
  expect(ran).toBe(true);
  expect(paceCollection(PACE_BYTES)).toBeNull(); // just collected: work ending again right away costs nothing
});

test("a paced collection frees a burst's garbage", async () => {
  // A burst's buffers (as a group commit leaves): 64 MiB, held while measured, then dropped.
  let burst: Uint8Array[] | null = Array.from({ length: 64 }, (_, i) => new Uint8Array(1 << 20).fill(i));
  const before = heapStats().extraMemorySize;
  expect(burst.length).toBe(64);
  burst = null;
  await Bun.sleep(PACE_MS + 10);
  const due = paceCollection(PACE_BYTES);
  expect(due).not.toBeNull();
  await due;
  expect(heapStats().extraMemorySize).toBeLessThan(before - 32 * 1024 * 1024);
});
