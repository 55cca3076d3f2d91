/** core/gc-pacer: one collection per PACE_MS at most, however often work ends; the garbage of a burst is gone after it. */
import { expect, test } from "bun:test";
import { heapStats } from "bun:jsc";
import { PACE_MS, paceCollection } from "../../src/core/gc-pacer.ts";

test("collects at most once per PACE_MS, and a paced collection frees a burst's garbage", async () => {
  await Bun.sleep(PACE_MS + 10);
  expect(paceCollection()).toBe(true);
  expect(paceCollection()).toBe(false); // just collected: work ending again right away costs nothing
  // A burst's buffers (as a group commit leaves): 64 MiB, held while measured, then dropped.
  let burst: Uint8Array[] | null = Array.from({ length: 64 }, (_, i) => new Uint8Array(1 << 20).fill(i));
  const before = heapStats().extraMemorySize;
  expect(burst.length).toBe(64);
  burst = null;
  await Bun.sleep(PACE_MS + 10);
  expect(paceCollection()).toBe(true);
  expect(heapStats().extraMemorySize).toBeLessThan(before - 32 * 1024 * 1024);
});
