/**
 * tree/event-log in a real cell's placement.db: events received from my other cells are kept at
 * synchronous NORMAL (they can be pulled again) and the cell's own commits stay at FULL; a
 * received page that cannot be kept changes nothing, and the setting comes back either way.
 */
import { afterAll, expect, test } from "bun:test";
import type { CellId, ManifestHash } from "../../src/core/types.ts";
import { eventId, type TreeEvent } from "../../src/tree/events.ts";
import { openTempCell } from "../helpers/vault.ts";

const cell = openTempCell();
afterAll(() => cell.destroy());
const other = "b".repeat(64) as CellId;
const m = (n: number) => n.toString(16).padStart(64, "0") as ManifestHash;
const synchronous = () => (cell.db.db.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous;
const ev = (seq: number, path: string): TreeEvent => ({
  origin: other,
  by: "pi",
  seq,
  at: { wall: Date.UTC(2026, 11, 6) + seq, n: 0 },
  kind: "put",
  path,
  manifest: m(seq),
  replaces: [],
});

test("received events are kept and listed; the connection is back at FULL after, even when keeping fails", () => {
  expect(synchronous()).toBe(2); // FULL: every commit of the cell's own
  const added = cell.tree.receive(
    [ev(1, "a.txt"), ev(2, "b.txt")],
    new Map([
      [m(1), "{}"],
      [m(2), "{}"],
    ]),
  );
  expect(added.map(eventId)).toEqual([`${other}:1`, `${other}:2`]);
  expect([...cell.tree.current().keys()].sort()).toEqual(["a.txt", "b.txt"]);
  expect(synchronous()).toBe(2);
  // A page whose manifests cannot be written (a body that is not text): nothing of it kept, FULL again.
  expect(() => cell.tree.receive([ev(3, "c.txt")], new Map([[m(3), Symbol("no") as unknown as string]]))).toThrow();
  expect(cell.tree.vector()[other]).toBe(2);
  expect(synchronous()).toBe(2);
});
