/**
 * A group commit the database refuses (another connection holds its write lock past the busy
 * timeout, as a busy sync Worker or a backup tool could) loses nothing: the watcher says so and
 * stores the files again a little later, with no change to them and no restart.
 */
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { until } from "../helpers/until.ts";
import { pseudoRandom } from "../helpers/vault.ts";

let a: TestCell | undefined;
afterAll(() => destroyCell(a), 60_000);

test("files whose group commit was refused are stored on a later try", async () => {
  a = await startCell({ config: { sync_interval_s: 3600, watch_debounce_ms: 200 } });
  const cell = a;
  const lock = new Database(join(cell.dir, "placement.db"));
  lock.exec("BEGIN IMMEDIATE"); // the write lock, held past the cell's 5 s busy timeout
  try {
    mkdirSync(join(cell.home, "retry"), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(cell.home, "retry", `${i}.bin`), pseudoRandom(5000 + i, 40 + i));
    await until("the refusal said", () => /not recorded: database is locked/.test(cell.output()), 30_000, 100);
  } finally {
    lock.exec("COMMIT");
    lock.close();
  }
  // Stored on a later try (2 s after the first failure), unchanged files, no restart.
  const listed = await until(
    "the three files stored",
    async () => {
      const r = (await (await cell.api("/api/files?prefix=retry")).json()) as { files: { path: string; size: number }[] };
      return r.files.length === 3 && r.files;
    },
    30_000,
    100,
  );
  expect(listed.map((f) => [f.path, f.size]).sort()).toEqual([
    ["retry/0.bin", 5000],
    ["retry/1.bin", 5001],
    ["retry/2.bin", 5002],
  ]);
  const got = new Uint8Array(await (await cell.api("/api/files/retry/2.bin")).arrayBuffer());
  expect(Buffer.from(got).equals(Buffer.from(pseudoRandom(5002, 42)))).toBe(true);
}, 90_000);
