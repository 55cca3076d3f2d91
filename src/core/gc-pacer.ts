/**
 * @module core/gc-pacer — a full collection of this thread's heap, at most every PACE_MS, called
 * after each unit of work that leaves much garbage behind (a group commit of small files, a batch
 * of chunks pushed, a file of a chunk or more stored).
 *
 * Why: JavaScriptCore collects when its heap has grown by some factor of what survived the last
 * collection, and it does not count the native memory behind the objects a burst of work drops
 * (request and response buffers, SQLite rows, file handles). Storing 10,000 small files, a cell's
 * RSS climbed steadily to 256-296 MiB, most of it garbage: with a collection paced after each group
 * commit and each pushed group, 196-200 MiB, in the same time (18.9 vs 19.5 s, one run each,
 * bench/replicate.ts --workloads=d --small-files 10000). A collection costs
 * a few ms to a few tens of ms (it grows with the live heap, ~20-50 MiB here); at most one per
 * PACE_MS per thread keeps that under a few percent of a core while the work lasts, and nothing
 * when the cell is idle. Each thread (the main thread, the sync Worker) paces its own heap.
 *
 * Only work that moved PACE_BYTES since the last collection asks for one, and the collection
 * runs a moment later, not in the caller's turn: a single small file stored used to be followed
 * by a full collection (about 13 ms on a cell's main thread) before the poke that tells my other
 * cells of it could leave, half of that file's time until it was on another cell (issue 20).
 */

/** Least time between two paced collections on one thread. */
export const PACE_MS = 250;
/** Least work (bytes stored or sent) since the last collection for another to be worth it. */
export const PACE_BYTES = 4 * 1024 * 1024;
/** How long after the work a collection waits: what that work set going (a poke, a reply) leaves first. */
const DEFER_MS = 5;

let last = 0;
let since = 0;
let pending: Promise<void> | null = null;

/**
 * A unit of garbage-heavy work that moved `bytes` just ended: collect this thread's heap soon,
 * unless it did less than PACE_MS ago or the work since then is under PACE_BYTES. Resolves once
 * collected; null when no collection is due.
 */
export function paceCollection(bytes: number): Promise<void> | null {
  since += bytes;
  if (pending) return pending;
  if (since < PACE_BYTES || performance.now() - last < PACE_MS) return null;
  pending = new Promise((resolve) => {
    const t = setTimeout(() => {
      Bun.gc(true);
      last = performance.now(); // from the end: a slow collection does not make the next one sooner
      since = 0;
      pending = null;
      resolve();
    }, DEFER_MS);
    t.unref?.();
  });
  return pending;
}
