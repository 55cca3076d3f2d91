/**
 * store/migrations: a fresh database gets every migration; a database a newer build migrated
 * (an update rolled back afterwards) is used as it is when its newer migrations were additive
 * (schema_meta.min_reader), and refused with a clear message otherwise, by real cells too.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATIONS, migrate, minReader } from "../../src/store/migrations.ts";
import { PlacementDb } from "../../src/store/placement-db.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";

const dir = mkdtempSync(join(tmpdir(), "grove-migrations-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const version = (db: Database) => (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;

/** Apply one numbered file as builds before schema_meta did. */
function db0(db: Database, sql: string, v: number): void {
  db.transaction(() => {
    db.exec(sql);
    db.exec(`PRAGMA user_version = ${v}`);
  })();
}

/** What a newer build would do: one more migration, additive or not, and the version bumped. */
function newerBuildMigrates(db: Database, opts: { additive: boolean }): number {
  const next = version(db) + 1;
  db.transaction(() => {
    db.exec(`CREATE TABLE future_notes_${next} (id INTEGER PRIMARY KEY, note TEXT NOT NULL)`);
    db.exec(`ALTER TABLE peers ADD COLUMN future_flag_${next} INTEGER NOT NULL DEFAULT 0`);
    if (!opts.additive) db.exec(`UPDATE schema_meta SET value = ${next} WHERE key = 'min_reader'`);
    db.exec(`PRAGMA user_version = ${next}`);
  })();
  return next;
}

describe("migrate", () => {
  test("a fresh database gets every migration and schema_meta (min_reader 19), at the newest schema: only builds that know 19 open it", () => {
    const db = new Database(join(dir, `db${n++}`));
    expect(migrate(db)).toBe(MIGRATIONS.length);
    // schema_meta is not a numbered migration: builds from before it refuse any schema over theirs (13).
    // 014 (friend requests), 015 (folders, WebDAV properties), 016 (my cells, the tree), 017 (writes not fsynced yet) and 018 (an index) are additive;
    // 019 (small chunks as rows) is not: an older build would take those chunks for missing, so it raises min_reader to 19.
    expect(version(db)).toBe(19);
    expect(MIGRATIONS.length).toBe(19);
    expect(minReader(db)).toBe(19);
    db.close();
  });

  test("a database from a build before schema_meta gets it when this build opens it, before the migrations that raise it", () => {
    const path = join(dir, `db${n++}`);
    const old = new Database(path);
    // A build from before schema_meta knew schema 13.
    for (const [i, sql] of MIGRATIONS.slice(0, 13).entries()) db0(old, sql, i + 1);
    expect(minReader(old)).toBeNull();
    expect(migrate(old)).toBe(MIGRATIONS.length);
    expect(minReader(old)).toBe(19);
    expect(version(old)).toBe(MIGRATIONS.length);
    old.close();
  });

  test("a newer build's additive migration: opened as it is, and this build's writes work", () => {
    const path = join(dir, `db${n++}`);
    const first = new PlacementDb(path);
    const newer = newerBuildMigrates(first.db, { additive: true });
    first.close();
    const again = new PlacementDb(path); // migrates (or refuses) in its constructor
    expect(version(again.db)).toBe(newer);
    expect(migrate(again.db)).toBe(newer);
    again.addVersion({
      path: "a.txt",
      manifestHash: "11".repeat(32) as never,
      manifestFile: "a.txt.11111111.json",
      fileHash: "22".repeat(32) as never,
      totalSize: 5,
      owner: "33".repeat(32),
      chunks: [{ hash: "44".repeat(32) as never, size: 21, index: 0 }],
      createdAt: Date.now(),
    });
    expect(again.current("a.txt")?.version).toBe(1);
    again.close();
  });

  test("a newer build's migration that is not additive: refused, naming both versions", () => {
    const db = new Database(join(dir, `db${n++}`));
    migrate(db);
    const newer = newerBuildMigrates(db, { additive: false });
    expect(() => migrate(db)).toThrow(
      `placement.db has schema ${newer}, newer than this build knows (${MIGRATIONS.length}), and builds that know fewer than ${newer} cannot use it: upgrade grove`,
    );
    db.close();
  });

  test("a newer database without schema_meta (no word on compatibility): refused", () => {
    const db = new Database(join(dir, `db${n++}`));
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
    expect(() => migrate(db)).toThrow(`newer than this build knows (${MIGRATIONS.length}): upgrade grove`);
    db.close();
  });
});

/**
 * A migration that drops or renames something, or adds a NOT NULL column with no default, is not
 * additive: older builds would break on it. Such a file must raise min_reader itself.
 */
function breaksOlderBuilds(sql: string): boolean {
  const code = sql.replace(/--[^\n]*/g, "").toUpperCase();
  if (/\bDROP\b|\bRENAME\b/.test(code)) return true;
  return /ADD\s+COLUMN[^;,]*\bNOT\s+NULL\b(?![^;,]*\bDEFAULT\b)/.test(code);
}

describe("schema files after 013 keep older builds honest", () => {
  test("the check itself: drops, renames and NOT NULL columns without a default are caught; additive SQL is not", () => {
    expect(breaksOlderBuilds("DROP TABLE sessions;")).toBe(true);
    expect(breaksOlderBuilds("ALTER TABLE peers RENAME COLUMN name TO label;")).toBe(true);
    expect(breaksOlderBuilds("ALTER TABLE peers ADD COLUMN x INTEGER NOT NULL;")).toBe(true);
    expect(breaksOlderBuilds("ALTER TABLE peers ADD COLUMN x INTEGER NOT NULL DEFAULT 0;")).toBe(false);
    expect(breaksOlderBuilds("CREATE TABLE t (a TEXT NOT NULL);\nCREATE INDEX i ON t (a);")).toBe(false);
    expect(breaksOlderBuilds("-- we never DROP anything here\nCREATE TABLE t (a TEXT);")).toBe(false);
  });

  test("every schema file after 013 that is not additive raises min_reader to its own number", () => {
    const files = readdirSync(join(import.meta.dir, "../../src/store/schema"))
      .filter((f) => /^\d{3}_.*\.sql$/.test(f))
      .sort();
    expect(files.length).toBe(MIGRATIONS.length); // every file is applied, none forgotten in MIGRATIONS
    for (const f of files) {
      const num = Number(f.slice(0, 3));
      if (num <= 13) continue;
      const sql = readFileSync(join(import.meta.dir, "../../src/store/schema", f), "utf8");
      if (breaksOlderBuilds(sql)) expect(`${f}: ${sql}`).toContain(`UPDATE schema_meta SET value = ${num} WHERE key = 'min_reader'`);
    }
  });
});

describe("a real cell on a database a newer build migrated (its update rolled back)", () => {
  let cell: TestCell | undefined;
  afterAll(() => destroyCell(cell));

  test("additive: the cell starts, warns once, stores and returns files; not additive: it does not start, and says why", async () => {
    cell = await startCell({ config: { mdns: false } });
    const src = join(cell.root, "a.bin");
    writeFileSync(src, crypto.getRandomValues(new Uint8Array(50_000)));
    expect((await cell.cli(["put", src, "--as", "before.bin"])).code).toBe(0);
    await cell.stop();

    const dbPath = join(cell.dir, "placement.db");
    let db = new Database(dbPath);
    newerBuildMigrates(db, { additive: true });
    db.close();
    const root = cell.root;
    cell = await startCell({ root, config: { mdns: false } });
    expect(cell.output()).toContain("from a newer build; its changes since schema");
    expect((await cell.cli(["put", src, "--as", "after.bin"])).code).toBe(0);
    const out = join(root, "back.bin");
    expect((await cell.cli(["get", "before.bin", "-o", out])).code).toBe(0);
    expect(Buffer.compare(readFileSync(out), readFileSync(src))).toBe(0);
    await cell.stop();

    db = new Database(dbPath);
    newerBuildMigrates(db, { additive: false });
    db.close();
    const refused = await startCell({ root, config: { mdns: false } }).then(
      (c) => (c.stop(), "started"),
      (e: Error) => e.message,
    );
    expect(refused).toContain("newer than this build knows");
    expect(refused).toContain("upgrade grove");
  }, 60_000);
});
