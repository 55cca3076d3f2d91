/**
 * Wait until a cell has fsynced what its stores wrote without one (ingest/settler: it empties
 * manifest_pending and home_pending once the store has been quiet for 2 s). For tests that damage
 * a cell's files on purpose: before that, the settler would mend a lost manifest from its row.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { until } from "./until.ts";

export async function untilSettled(dir: string, ms = 15_000): Promise<void> {
  await until(
    "the cell's deferred fsyncs to settle",
    () => {
      const db = new Database(join(dir, "placement.db"), { readonly: true });
      try {
        const q = "SELECT (SELECT COUNT(*) FROM manifest_pending) + (SELECT COUNT(*) FROM home_pending) AS n";
        return (db.query(q).get() as { n: number }).n === 0;
      } finally {
        db.close();
      }
    },
    ms,
  );
}
