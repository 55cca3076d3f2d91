/**
 * @module store/migrations — the numbered schema files, embedded in the build, applied in order.
 *
 * A database migrated further than this build knows (a newer build ran here, then its update was
 * rolled back) is opened as it is when its `schema_meta.min_reader` says this build may use it:
 * every migration this build does not know was additive. Otherwise the cell does not start, with
 * a message saying so. Whoever adds a migration that is not additive (a dropped or renamed table
 * or column, a new NOT NULL column without a default, changed meaning) raises min_reader in the
 * same file (UPDATE schema_meta SET value = N WHERE key = 'min_reader'); test/store/migrations
 * holds each new file to that.
 *
 * schema_meta is created outside the numbered files, without changing the schema version: builds
 * from before it (which refuse any newer version) still open a database this build has used.
 */
import type { Database } from "bun:sqlite";
import { log } from "../core/log.ts";
import m001 from "./schema/001_init.sql" with { type: "text" };
import m002 from "./schema/002_sessions.sql" with { type: "text" };
import m003 from "./schema/003_peers.sql" with { type: "text" };
import m004 from "./schema/004_replication.sql" with { type: "text" };
import m005 from "./schema/005_backup_blobs.sql" with { type: "text" };
import m006 from "./schema/006_grants.sql" with { type: "text" };
import m007 from "./schema/007_revocation_acks.sql" with { type: "text" };
import m008 from "./schema/008_messages.sql" with { type: "text" };
import m009 from "./schema/009_conversations.sql" with { type: "text" };
import m010 from "./schema/010_bounty.sql" with { type: "text" };
import m011 from "./schema/011_conversation_cells.sql" with { type: "text" };
import m012 from "./schema/012_trash.sql" with { type: "text" };
import m013 from "./schema/013_relay_credit.sql" with { type: "text" };
import m014 from "./schema/014_friend_requests.sql" with { type: "text" };
import m015 from "./schema/015_folders.sql" with { type: "text" };
import m016 from "./schema/016_my_cells.sql" with { type: "text" };
import m017 from "./schema/017_pending_writes.sql" with { type: "text" };
import m018 from "./schema/018_manifest_file_index.sql" with { type: "text" };
import m019 from "./schema/019_inline_chunks.sql" with { type: "text" };

/** Ordered list: index + 1 = schema version. Append only; never edit a shipped file. */
export const MIGRATIONS: readonly string[] = [
  m001,
  m002,
  m003,
  m004,
  m005,
  m006,
  m007,
  m008,
  m009,
  m010,
  m011,
  m012,
  m013,
  m014,
  m015,
  m016,
  m017,
  m018,
  m019,
];

/** min_reader when schema_meta is first made: schema 13, the last before it existed. */
const FIRST_MIN_READER = 13;

/** Make schema_meta (key/value; min_reader) when the database has none. Idempotent. */
function ensureSchemaMeta(db: Database): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  db.query("INSERT OR IGNORE INTO schema_meta (key, value) VALUES ('min_reader', ?)").run(FIRST_MIN_READER);
}

/** The lowest schema version a build must know to use `db` (schema_meta), or null when it has none. */
export function minReader(db: Database): number | null {
  try {
    const row = db.query("SELECT value FROM schema_meta WHERE key = 'min_reader'").get() as { value: number } | null;
    return row && Number.isInteger(row.value) ? row.value : null;
  } catch {
    return null; // no schema_meta table: made by a build from before it
  }
}

/** Warned once per process about a newer database (the cell and its Worker both open it). */
let warnedNewer = false;

/**
 * Bring `db` to the newest schema, one transaction per step. Returns the resulting version: the
 * database's own when a newer build migrated it and it allows this build (see the module comment).
 */
export function migrate(db: Database): number {
  const current = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (current > MIGRATIONS.length) {
    const min = minReader(db);
    if (min === null || min > MIGRATIONS.length) {
      const needs = min === null ? "" : `, and builds that know fewer than ${min} cannot use it`;
      throw new Error(`placement.db has schema ${current}, newer than this build knows (${MIGRATIONS.length})${needs}: upgrade grove`);
    }
    if (!warnedNewer) {
      warnedNewer = true;
      log(
        "warn",
        `placement.db has schema ${current}, from a newer build; its changes since schema ${MIGRATIONS.length} are additive, so this build uses it as it is`,
        { schema: current, known: MIGRATIONS.length, min_reader: min },
      );
    }
    return current;
  }
  // Before the numbered files: one that is not additive raises min_reader in it.
  if (minReader(db) === null) ensureSchemaMeta(db); // once per database, not a write at every open
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    })();
  }
  return MIGRATIONS.length;
}
