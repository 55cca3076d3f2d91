/**
 * tree/live-tree: the tree kept event by event must be the tree materialized from scratch
 * (tree/materialize), whatever order the events come in. The random histories of test/tree/tree
 * check it at every step; here, the cases those rarely reach: a file put at the very name a
 * conflict copy had, and events that arrive before the events they replace.
 */
import { describe, expect, test } from "bun:test";
import type { CellId, ManifestHash } from "../../src/core/types.ts";
import { eventId, type TreeEvent } from "../../src/tree/events.ts";
import { LiveTree } from "../../src/tree/live-tree.ts";
import { conflictName, materialize, type TreeEntry } from "../../src/tree/materialize.ts";

const A = "a".repeat(64) as CellId;
const B = "b".repeat(64) as CellId;
const m = (n: number) => n.toString(16).padStart(64, "0") as ManifestHash;
const WALL = Date.UTC(2026, 11, 5, 10, 0, 0);

function ev(origin: CellId, seq: number, wall: number, e: Pick<TreeEvent, "kind" | "path"> & Partial<TreeEvent>): TreeEvent {
  return { origin, by: origin === A ? "laptop" : "pi", seq, at: { wall, n: 0 }, replaces: [], ...e };
}
const sorted = (t: ReadonlyMap<string, TreeEntry>) => [...t.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Feed `events` one by one; after each, the live tree must equal materialize of what came so far. */
function follow(events: readonly TreeEvent[]): ReadonlyMap<string, TreeEntry> {
  const live = new LiveTree();
  for (let i = 0; i < events.length; i++) {
    live.add(events[i]!);
    expect(sorted(live.view())).toEqual([...materialize(events.slice(0, i + 1))]);
  }
  return live.view();
}

describe("the tree kept event by event", () => {
  test("a file put at the name a conflict copy had: the copy is named again, as materialize names it", () => {
    const a1 = ev(A, 1, WALL, { kind: "put", path: "notes.txt", manifest: m(1) });
    const b1 = ev(B, 1, WALL + 1000, { kind: "put", path: "notes.txt", manifest: m(2) }); // concurrent: a conflict
    const copy = conflictName("notes.txt", "laptop", WALL);
    const a2 = ev(A, 2, WALL + 2000, { kind: "put", path: copy, manifest: m(3) }); // a file of that very name
    const tree = follow([a1, b1, a2]);
    expect(tree.get(copy)).toEqual({ manifest: m(3), event: eventId(a2) });
    const renamed = [...tree].find(([, e]) => e.conflictOf === "notes.txt");
    expect(renamed?.[0]).toBe(copy.replace(")", " 2)"));
    expect(renamed?.[1].manifest).toBe(m(1));
    // That file deleted again: the copy takes its first name back.
    const a3 = ev(A, 3, WALL + 3000, { kind: "delete", path: copy, replaces: [eventId(a2)] });
    expect(follow([a1, b1, a2, a3]).get(copy)?.conflictOf).toBe("notes.txt");
  });

  test("events that arrive before those they replace, and a conflict resolved by a delete of its copy", () => {
    const a1 = ev(A, 1, WALL, { kind: "put", path: "x.bin", manifest: m(1) });
    const a2 = ev(A, 2, WALL + 10, { kind: "move", path: "y.bin", from: "x.bin", manifest: m(1), replaces: [eventId(a1)] });
    const b1 = ev(B, 1, WALL + 5, { kind: "put", path: "y.bin", manifest: m(7) });
    const a3 = ev(A, 3, WALL + 20, { kind: "delete", path: "y.bin", replaces: [eventId(a2)] });
    // The move first, then what it replaced, then a concurrent put at its destination, then a delete of the winner.
    const tree = follow([a2, a1, b1, a3]);
    expect(sorted(tree)).toEqual([["y.bin", { manifest: m(7), event: eventId(b1) }]]);
    // Every order gives the same tree.
    for (const order of [
      [a1, a2, a3, b1],
      [b1, a3, a2, a1],
      [a3, b1, a1, a2],
    ])
      expect(sorted(follow(order))).toEqual(sorted(tree));
  });
});
