/**
 * Test helper: a cell's sealed chunks as its store keeps them (store/chunk-store): a small one
 * (at most INLINE_MAX bytes) as a row of placement.db's `inline_chunks`, a larger one as the file
 * chunks/ab/abcd…. For tests that look at, damage or remove a chunk on disk, of a cell running in
 * another process too (placement.db is in WAL mode: readers never wait, a write waits its turn).
 */
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const HEX64 = /^[0-9a-f]{64}$/;

function withDb<T>(dir: string, fn: (db: Database) => T): T {
  const db = new Database(join(dir, "placement.db"));
  try {
    db.exec("PRAGMA busy_timeout = 10000");
    return fn(db);
  } finally {
    db.close();
  }
}

const fileOf = (dir: string, hash: string) => join(dir, "chunks", hash.slice(0, 2), hash);

/** The sealed bytes of chunk `hash` in GROVE_DIR `dir`, or null when the cell has no copy. */
export function chunkBytes(dir: string, hash: string): Uint8Array | null {
  const row = withDb(dir, (db) => db.query("SELECT body FROM inline_chunks WHERE hash = ?").get(hash) as { body: Uint8Array } | null);
  if (row) return new Uint8Array(row.body);
  return existsSync(fileOf(dir, hash)) ? new Uint8Array(readFileSync(fileOf(dir, hash))) : null;
}

/** True when the cell in `dir` keeps chunk `hash` (as a row or a file). */
export function hasChunk(dir: string, hash: string): boolean {
  return chunkBytes(dir, hash) !== null;
}

/** Every chunk name the cell in `dir` keeps. */
export function chunkNames(dir: string): string[] {
  const rows = withDb(dir, (db) => (db.query("SELECT hash FROM inline_chunks").values() as [string][]).map((r) => r[0]));
  const root = join(dir, "chunks");
  const files = existsSync(root)
    ? readdirSync(root, { recursive: true })
        .map((f) => String(f).split("/").pop()!)
        .filter((f) => HEX64.test(f))
    : [];
  return [...rows, ...files];
}

/** Replace chunk `hash`'s bytes in place (a rotted or forged copy), as a row or a file, wherever it is. */
export function replaceChunk(dir: string, hash: string, bytes: Uint8Array): void {
  const changed = withDb(dir, (db) => db.query("UPDATE inline_chunks SET body = ? WHERE hash = ?").run(bytes, hash).changes);
  if (!changed) writeFileSync(fileOf(dir, hash), bytes);
}

/** Flip one byte of chunk `hash` (bit rot). */
export function rotChunk(dir: string, hash: string, at = 0): void {
  const b = chunkBytes(dir, hash);
  if (!b) throw new Error(`no chunk ${hash} in ${dir}`);
  b[at] = b[at]! ^ 0xff;
  replaceChunk(dir, hash, b);
}

/** Remove chunk `hash` (a lost copy), row and file. */
export function removeChunk(dir: string, hash: string): void {
  withDb(dir, (db) => db.query("DELETE FROM inline_chunks WHERE hash = ?").run(hash));
  rmSync(fileOf(dir, hash), { force: true });
}
