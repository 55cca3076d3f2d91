/**
 * @module store/folders — the folders placement.db keeps on purpose (schema 015): made empty over
 * WebDAV (MKCOL), or kept when a WebDAV client took the last file out of them. A folder also exists
 * without a row while any current file or any row is under it; this module answers only for rows.
 */
import type { Database } from "bun:sqlite";

/** A pattern for `LIKE … ESCAPE '\'` matching every path strictly under `dir` ("" = everything). */
export function likeUnder(dir: string): string {
  return dir ? dir.replace(/[\\%_]/g, (c) => "\\" + c) + "/%" : "%";
}

export class FolderRows {
  constructor(private readonly db: Database) {}

  /** The row of `path`, or null. */
  get(path: string): { path: string; created_at: number } | null {
    return (
      (this.db.query("SELECT path, created_at FROM folders WHERE path = ?").get(path) as { path: string; created_at: number } | null) ??
      null
    );
  }

  /** Keep `path` as a folder (no-op when it has a row). "" (the root) needs none. */
  add(path: string, at = Date.now()): void {
    if (path) this.db.query("INSERT OR IGNORE INTO folders (path, created_at) VALUES (?, ?)").run(path, at);
  }

  /** Rows strictly under `dir` ("" = every row), by path. */
  under(dir: string): { path: string; created_at: number }[] {
    return this.db.query("SELECT path, created_at FROM folders WHERE path LIKE ? ESCAPE '\\' ORDER BY path").all(likeUnder(dir)) as {
      path: string;
      created_at: number;
    }[];
  }

  /** True when some row is strictly under `dir`. */
  anyUnder(dir: string): boolean {
    return this.db.query("SELECT 1 FROM folders WHERE path LIKE ? ESCAPE '\\' LIMIT 1").get(likeUnder(dir)) !== null;
  }

  /** Forget `path` and every row under it. */
  removeTree(path: string): void {
    this.db.query("DELETE FROM folders WHERE path = ? OR path LIKE ? ESCAPE '\\'").run(path, likeUnder(path));
  }
}
