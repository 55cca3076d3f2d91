/**
 * @module core/gc-pacer — a full collection of this thread's heap, at most every PACE_MS, called
 * after each unit of work that leaves much garbage behind (a group commit of small files, a batch
 * of chunks pushed).
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
 */

/** Least time between two paced collections on one thread. */
export const PACE_MS = 250;

let last = 0;

/** A unit of garbage-heavy work just ended: collect now unless this thread did less than PACE_MS ago. True when it collected. */
export function paceCollection(): boolean {
  const now = performance.now();
  if (now - last < PACE_MS) return false;
  Bun.gc(true);
  last = performance.now(); // from the end: a slow collection does not make the next one sooner
  return true;
}
