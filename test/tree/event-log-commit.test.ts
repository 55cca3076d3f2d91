/**
 * tree/event-log: memory follows the database. An event is in the tree, the vector and the count
 * for the next seq only once its transaction committed; one undone (the log's own transaction on a
 * full disk or a refused COMMIT, a savepoint of the caller's, the caller's outer transaction
 * throwing after `append` or `receive` returned inside it) leaves memory exactly as before, and the
 * next event made takes the seq the undone one had. Real placement.db files (a temp cell in WAL,
 * and one in a rollback journal where a reader makes a COMMIT fail).
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { CellId, ManifestHash } from "../../src/core/types.ts";
import { migrate } from "../../src/store/migrations.ts";
import { EventLog, type LocalChange } from "../../src/tree/event-log.ts";
import { eventId, type TreeEvent } from "../../src/tree/events.ts";
import type { TreeEntry } from "../../src/tree/materialize.ts";
import { tempRoot } from "../helpers/cell.ts";
import { openTempCell } from "../helpers/vault.ts";

const cell = openTempCell();
const roots: string[] = [];
afterAll(() => {
  cell.destroy();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
const self = cell.keys.id;
const other = "b".repeat(64) as CellId;
const m = (n: number) => n.toString(16).padStart(64, "0") as ManifestHash;
const put = (path: string, n: number, body = "{}"): LocalChange => ({ kind: "put", path, manifest: { hash: m(n), body } });
const ev = (seq: number, path: string): TreeEvent => ({
  origin: other,
  by: "pi",
  seq,
  at: { wall: Date.UTC(2026, 11, 6) + seq, n: 0 },
  kind: "put",
  path,
  manifest: m(1000 + seq),
  replaces: [],
});
const sorted = (t: ReadonlyMap<string, TreeEntry>) => [...t.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
/** What the log shows: the tree (a copy), the vector, the size, and every event past an empty vector. */
const state = (log: EventLog) => ({
  tree: sorted(log.current()),
  vector: { ...log.vector() },
  size: log.size,
  events: log.missingFrom({}, 10_000).events.map(eventId),
});
/** The same, read again from the database by a fresh log: memory must equal it. */
const fromDisk = (db: Database, id: CellId) => state(new EventLog(db, id));

// A few committed events to start from: own ones and another cell's.
cell.tree.append([put("a.txt", 1), put("b.txt", 2)], "laptop");
cell.tree.receive([ev(1, "c.txt")], new Map([[m(1001), "{}"]]));

test("an outer transaction that throws after append ran inside it: memory as before, the next event takes the undone one's seq", () => {
  const before = state(cell.tree);
  const seq = before.vector[self]!;
  let undone: TreeEvent[] = [];
  expect(() =>
    cell.db.db.transaction(() => {
      undone = cell.tree.append([put("a.txt", 3), { kind: "delete", path: "b.txt" }, put("d.txt", 4)], "laptop");
      expect(undone.map((e) => e.seq)).toEqual([seq + 1, seq + 2, seq + 3]);
      expect(cell.tree.current().has("d.txt")).toBe(true); // inside the transaction, it sees its own writes
      throw new Error("the caller fails after the events were written");
    })(),
  ).toThrow("the caller fails");
  expect(state(cell.tree)).toEqual(before);
  expect(cell.tree.event(eventId(undone[0]!))).toBeNull();
  expect(fromDisk(cell.db.db, self)).toEqual(before);
  const [next] = cell.tree.append([put("e.txt", 5)], "laptop");
  expect(next!.seq).toBe(seq + 1);
  expect(cell.tree.vector()[self]).toBe(seq + 1);
  expect(state(cell.tree)).toEqual(fromDisk(cell.db.db, self));
});

test("an outer transaction that throws after receive ran inside it: memory as before, the events taken again later", () => {
  const before = state(cell.tree);
  expect(() =>
    cell.db.db.transaction(() => {
      const added = cell.tree.receive(
        [ev(2, "f.txt"), ev(3, "g.txt")],
        new Map([
          [m(1002), "{}"],
          [m(1003), "{}"],
        ]),
      );
      expect(added.length).toBe(2);
      throw new Error("undone after receive");
    })(),
  ).toThrow("undone after receive");
  expect(state(cell.tree)).toEqual(before);
  expect(cell.tree.vector()[other]).toBe(1);
  // Pulled again: kept this time (a set that believed it held them would have said they were not new).
  const again = cell.tree.receive(
    [ev(2, "f.txt"), ev(3, "g.txt")],
    new Map([
      [m(1002), "{}"],
      [m(1003), "{}"],
    ]),
  );
  expect(again.map(eventId)).toEqual([`${other}:2`, `${other}:3`]);
  expect(cell.tree.vector()[other]).toBe(3);
  expect(state(cell.tree)).toEqual(fromDisk(cell.db.db, self));
});

test("a savepoint rolled back inside a transaction that commits (reconcile inside vault.describe): only what committed is shown", () => {
  const before = state(cell.tree);
  const seq = before.vector[self]!;
  let kept: TreeEvent[] = [];
  cell.db.db.transaction(() => {
    try {
      cell.db.db.transaction(() => {
        cell.tree.append([put("h.txt", 6)], "laptop");
        throw new Error("setLocal failed"); // my-tree's describeNow catches this, and the versions commit
      })();
    } catch {}
    // Later in the same outer transaction: the undone event is not counted.
    kept = cell.tree.append([put("i.txt", 7)], "laptop");
  })();
  expect(kept[0]!.seq).toBe(seq + 1);
  const after = state(cell.tree);
  expect(after.tree.map(([p]) => p)).not.toContain("h.txt");
  expect(after.tree.map(([p]) => p)).toContain("i.txt");
  expect(after.vector[self]).toBe(seq + 1);
  expect(after).toEqual(fromDisk(cell.db.db, self));
});

test("a full disk in the middle of an append: nothing of it in memory", () => {
  const before = state(cell.tree);
  const db = cell.db.db;
  const pages = (db.query("PRAGMA page_count").get() as { page_count: number }).page_count;
  db.exec(`PRAGMA max_page_count = ${pages}`);
  try {
    // Manifest bodies of 2 KiB each: the database's last free pages run out part way.
    const many = Array.from({ length: 200 }, (_, i) => put(`full/${i}.txt`, 2000 + i, JSON.stringify({ pad: "x".repeat(2048) })));
    expect(() => cell.tree.append(many, "laptop")).toThrow(/full/);
  } finally {
    db.exec("PRAGMA max_page_count = 1073741823");
  }
  expect(state(cell.tree)).toEqual(before);
  expect(fromDisk(db, self)).toEqual(before);
  expect(cell.tree.append([put("j.txt", 8)], "laptop")[0]!.seq).toBe(before.vector[self]! + 1);
});

test("a COMMIT refused (another connection reading, rollback journal): memory as before, the seq not used", () => {
  const root = tempRoot("grove-eventlog-");
  roots.push(root);
  const file = join(root, "placement.db");
  const db = new Database(file, { create: true, strict: true });
  db.exec("PRAGMA journal_mode = DELETE");
  migrate(db);
  const me = "c".repeat(64) as CellId;
  const log = new EventLog(db, me);
  log.append([put("a.txt", 1)], "laptop");
  const before = state(log);

  const reader = new Database(file, { strict: true });
  reader.exec("BEGIN");
  reader.query("SELECT count(*) FROM tree_events").get(); // holds a shared lock: the writer cannot commit
  try {
    expect(() => log.append([put("b.txt", 2)], "laptop")).toThrow(/locked|busy/i);
    expect(() => log.receive([ev(1, "c.txt")], new Map([[m(1001), "{}"]]))).toThrow(/locked|busy/i);
  } finally {
    reader.exec("COMMIT");
    reader.close();
  }
  expect(state(log)).toEqual(before);
  expect(log.append([put("b.txt", 2)], "laptop")[0]!.seq).toBe(2);
  expect(state(log)).toEqual(fromDisk(db, me));
  db.close();
});
