/**
 * mine/apply touchedBy: the paths new events touch, looked up through the conflict copies only,
 * must be the paths the full pass over the tree gave (every entry those events made, and every
 * copy of a path they touch), on random histories with conflicts, moves and deletions.
 */
import { expect, test } from "bun:test";
import type { CellId, ManifestHash } from "../../src/core/types.ts";
import { touchedBy } from "../../src/mine/apply.ts";
import { eventId, type EventId, type TreeEvent } from "../../src/tree/events.ts";
import { LiveTree } from "../../src/tree/live-tree.ts";
import type { TreeEntry } from "../../src/tree/materialize.ts";

const CELLS = ["a", "b", "c"].map((c) => c.repeat(64) as CellId);
const PATHS = ["notes.txt", "a/one.txt", "a/two.txt", "b/photo.jpg", "b/c/deep.md"];

/** The rule touchedBy had: a pass over every entry of the tree. */
function byFullPass(events: readonly TreeEvent[], current: ReadonlyMap<string, TreeEntry>): Set<string> {
  const paths = new Set<string>();
  const ids = new Set(events.map(eventId));
  for (const e of events) {
    paths.add(e.path);
    if (e.from) paths.add(e.from);
  }
  for (const [p, e] of current) if (ids.has(e.event) || (e.conflictOf && paths.has(e.conflictOf))) paths.add(p);
  return paths;
}

/** xorshift, so a failure is reproducible from its seed. */
function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test("touchedBy through the copies equals the full pass over the tree, on 200 random histories", () => {
  let compared = 0;
  let withCopies = 0;
  for (let seed = 1; seed <= 200; seed++) {
    const r = rng(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
    const live = new LiveTree();
    const seq = new Map<CellId, number>();
    const all: TreeEvent[] = [];
    const liveAt = (path: string): EventId[] =>
      all.filter((e) => e.path === path && live.view().get(path)?.event === eventId(e)).map(eventId);
    let wall = Date.UTC(2026, 11, 7);
    for (let step = 0; step < 40; step++) {
      const origin = pick(CELLS);
      const n = (seq.get(origin) ?? 0) + 1;
      seq.set(origin, n);
      wall += Math.floor(r() * 3000);
      const kind = pick(["put", "put", "put", "move", "delete"] as const);
      const path = pick(PATHS);
      const from = kind === "move" ? pick(PATHS.filter((p) => p !== path)) : undefined;
      // Mostly replacing what this cell sees there; sometimes not (concurrent: a conflict).
      const replaces = r() < 0.6 ? [...liveAt(path), ...(from ? liveAt(from) : [])] : [];
      const e: TreeEvent = {
        origin,
        by: origin.slice(0, 1),
        seq: n,
        at: { wall, n: 0 },
        kind,
        path,
        ...(from ? { from } : {}),
        ...(kind === "delete" ? {} : { manifest: (step + 1).toString(16).padStart(64, "0") as ManifestHash }),
        replaces,
      };
      all.push(e);
      live.add(e);
      // The last few events, as a page received, against the tree they made.
      const page = all.slice(-1 - Math.floor(r() * 4));
      const want = byFullPass(page, live.view());
      expect([...touchedBy(page, live.conflictCopies())].sort()).toEqual([...want].sort());
      compared++;
      if (live.conflictCopies().size) withCopies++;
    }
  }
  expect(compared).toBe(8000);
  expect(withCopies).toBeGreaterThan(1000); // conflicts were common, not a corner case
});
