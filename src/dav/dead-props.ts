/**
 * @module dav/dead-props — dead properties in placement.db (`dav_properties`, schema 015): set and
 * removed by PROPPATCH, moved and copied with their path, dropped with it. Queries run on the
 * index's connection, so a caller can make them part of its own transaction.
 */
import type { Database } from "bun:sqlite";
import { GroveError } from "../core/errors.ts";
import { likeUnder } from "../store/folders.ts";
import type { DeadProp, DeadPropStore } from "./tree.ts";
import type { PatchOp } from "./xml.ts";

/** Dead properties one path may hold; a PROPPATCH past it is refused (507). */
export const MAX_DEAD_PROPS = 256;

export class DeadProps implements DeadPropStore {
  constructor(private readonly db: Database) {}

  list(path: string): DeadProp[] {
    return this.db.query("SELECT ns, name, value FROM dav_properties WHERE path = ? ORDER BY ns, name").all(path) as DeadProp[];
  }

  patch(path: string, ops: readonly PatchOp[]): void {
    this.db.transaction(() => {
      const set = this.db.query("INSERT OR REPLACE INTO dav_properties (path, ns, name, value) VALUES (?, ?, ?, ?)");
      const del = this.db.query("DELETE FROM dav_properties WHERE path = ? AND ns = ? AND name = ?");
      for (const o of ops) {
        if (o.op === "set") set.run(path, o.prop.ns, o.prop.name, o.value);
        else del.run(path, o.prop.ns, o.prop.name);
      }
      const n = (this.db.query("SELECT COUNT(*) AS n FROM dav_properties WHERE path = ?").get(path) as { n: number }).n;
      if (n > MAX_DEAD_PROPS)
        throw new GroveError(`a file or folder may hold at most ${MAX_DEAD_PROPS} WebDAV properties`, 507, "too_many_properties");
    })();
  }

  /** Drop the properties of `path` (and, with `deep`, of everything under it). */
  drop(path: string, deep = true): void {
    if (deep) this.db.query("DELETE FROM dav_properties WHERE path = ? OR path LIKE ? ESCAPE '\\'").run(path, likeUnder(path));
    else this.db.query("DELETE FROM dav_properties WHERE path = ?").run(path);
  }

  /** Give `to` (and, with `deep`, what is under it) the properties of `from`, replacing its own. */
  copy(from: string, to: string, deep = true): void {
    this.drop(to, deep);
    const where = deep ? "path = ?1 OR path LIKE ?3 ESCAPE '\\'" : "path = ?1 AND ?3 IS NOT NULL";
    this.db
      .query(
        `INSERT OR REPLACE INTO dav_properties (path, ns, name, value) SELECT ?2 || substr(path, length(?1) + 1), ns, name, value FROM dav_properties WHERE ${where}`,
      )
      .run(from, to, likeUnder(from));
  }

  /** Move the properties of `from` and everything under it to `to`. */
  move(from: string, to: string): void {
    this.drop(to);
    this.db
      .query("UPDATE OR REPLACE dav_properties SET path = ?2 || substr(path, length(?1) + 1) WHERE path = ?1 OR path LIKE ?3 ESCAPE '\\'")
      .run(from, to, likeUnder(from));
  }
}
