/** core/each-at-once: every item once, with its index, never more than n in flight; a rejection rejects the whole. */
import { expect, test } from "bun:test";
import { eachAtOnce } from "../../src/core/each-at-once.ts";

test("each item once with its index, at most n at a time", async () => {
  const items = Array.from({ length: 23 }, (_, i) => `x${i}`);
  const seen: [string, number][] = [];
  let now = 0;
  let most = 0;
  await eachAtOnce(items, 4, async (item, i) => {
    now++;
    most = Math.max(most, now);
    await Bun.sleep(i % 3);
    seen.push([item, i]);
    now--;
  });
  expect(most).toBe(4);
  expect(seen.sort((a, b) => a[1] - b[1])).toEqual(items.map((x, i) => [x, i]));
  let calls = 0;
  await eachAtOnce([], 4, async () => void calls++);
  expect(calls).toBe(0);
});

test("a step that throws rejects the whole", async () => {
  await expect(
    eachAtOnce([1, 2, 3], 2, async (n) => {
      if (n === 2) throw new Error("two");
    }),
  ).rejects.toThrow("two");
});
