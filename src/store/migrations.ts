/** @module store/migrations — the numbered schema files, embedded in the build, applied in order. */
import type { Database } from "bun:sqlite";
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

/** Ordered list: index + 1 = schema version. Append only; never edit a shipped file. */
export const MIGRATIONS: readonly string[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009, m010, m011, m012, m013];

/** Bring `db` to the newest schema, one transaction per step. Returns the resulting version. */
export function migrate(db: Database): number {
  const current = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (current > MIGRATIONS.length) {
    throw new Error(`placement.db has schema ${current}, newer than this build knows (${MIGRATIONS.length}): upgrade grove`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    })();
  }
  return MIGRATIONS.length;
}
