/** core/json-each: many keys in a few queries (AT_ONCE a time), on a real SQLite database: every key answered once, none past the batch edges lost. */
import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { AT_ONCE, rowsForEach } from "../../src/core/json-each.ts";

test("2.5 × AT_ONCE keys, some absent, some with quotes or non-ASCII: each present one found once", () => {
  const db = new Database(":memory:");
  db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)");
  const keys = Array.from({ length: Math.floor(AT_ONCE * 2.5) }, (_, i) => (i % 7 === 0 ? `d'"é/${i}` : `k${i}`));
  const ins = db.query("INSERT INTO t VALUES (?, ?)");
  keys.forEach((k, i) => i % 3 !== 0 && ins.run(k, i));
  const rows = rowsForEach<{ k: string; v: number }>(db, "SELECT t.k, t.v FROM json_each(?) p JOIN t ON t.k = p.value", keys);
  const want = keys.flatMap((k, i) => (i % 3 !== 0 ? [`${k}=${i}`] : []));
  expect(rows.map((r) => `${r.k}=${r.v}`).sort()).toEqual(want.sort());
  expect(rowsForEach(db, "SELECT t.k FROM json_each(?) p JOIN t ON t.k = p.value", [])).toEqual([]);
});
