/**
 * @module core/each-at-once — run an async step on every item of a list, a bounded number at a
 * time (files written, chunks fetched): more in flight than one, never the whole list at once.
 */

/** Run `fn` on each of `items` (with its index), `n` at a time; resolves when all are done (a rejection rejects it). */
export async function eachAtOnce<T>(items: readonly T[], n: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}
