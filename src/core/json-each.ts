/**
 * @module core/json-each — one SQLite query for many keys: the keys go in as a JSON array (one
 * parameter, read with `json_each(?)`), so a lookup of a thousand paths is one statement and one
 * read transaction, not a thousand. Asked AT_ONCE keys at a time, to bound each parameter.
 */
import type { Database } from "bun:sqlite";

/** Keys per query. */
export const AT_ONCE = 1000;

/** The rows `sql` (whose one `?` is the JSON array of keys) returns for all `keys`, AT_ONCE at a time. */
export function rowsForEach<R>(db: Database, sql: string, keys: readonly string[]): R[] {
  const out: R[] = [];
  const q = db.query(sql);
  for (let i = 0; i < keys.length; i += AT_ONCE) out.push(...(q.all(JSON.stringify(keys.slice(i, i + AT_ONCE))) as R[]));
  return out;
}
