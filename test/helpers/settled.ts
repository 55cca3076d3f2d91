/**
 * Wait until a cell has written and fsynced what its stores left for later (ingest/settler: it
 * writes the manifests' files and empties manifest_pending and home_pending once the store has
 * been quiet for 2 s). For tests that read a manifest's file, or damage a cell's files on purpose:
 * before that, the settler would mend a lost manifest from its row.
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
