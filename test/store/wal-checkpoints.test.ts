// placement.db's WAL checkpoints (store/placement-db checkpointOnCommit, sync/sync-worker): taken
// by the commit that crosses SQLite's mark, or, in a running cell, by the sync Worker every half
// second, so a group commit of small files on the main thread no longer copies and fsyncs the
// database file too. Either way the WAL is copied into the database and cut back. Real SQLite
// files; the second test a real cell process.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PlacementDb } from "../../src/store/placement-db.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { pseudoRandom } from "../helpers/vault.ts";

const MiB = 1024 * 1024;
const sizeOf = (p: string) => statSync(p, { throwIfNoEntry: false })?.size ?? 0;
const dirs: string[] = [];
let cell: TestCell | null = null;
afterAll(async () => {
  if (cell) await destroyCell(cell);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** About 8 MiB of rows in one transaction, as a group commit of small files writes them. */
function groupCommit(db: PlacementDb, seed: number): void {
  const put = db.db.prepare("INSERT INTO inline_chunks (hash, body, stored_at) VALUES (?, ?, ?)");
  db.db.transaction(() => {
    for (let i = 0; i < 128; i++) put.run(`${seed}-${i}-`.padEnd(64, "x"), pseudoRandom(64 * 1024, seed * 1000 + i), Date.now());
  })();
}

test("checkpoints on commit copy the WAL at once; handed off, the WAL waits for checkpoint()", () => {
  for (const onCommit of [true, false]) {
    const dir = mkdtempSync(join(tmpdir(), "grove-wal-"));
    dirs.push(dir);
    const path = join(dir, "placement.db");
    const db = new PlacementDb(path);
    db.checkpointOnCommit(onCommit);
    const before = sizeOf(path);
    groupCommit(db, onCommit ? 1 : 2);
    if (onCommit)
      expect(sizeOf(path) - before).toBeGreaterThan(7 * MiB); // copied by the commit itself
    else {
      expect(sizeOf(path) - before).toBeLessThan(MiB); // nothing copied: the commit only wrote the WAL
      expect(sizeOf(`${path}-wal`)).toBeGreaterThan(7 * MiB);
      db.checkpoint();
      expect(sizeOf(path) - before).toBeGreaterThan(7 * MiB); // copied by the checkpoint
    }
    // Everything readable, through a second connection as another thread would.
    const other = new PlacementDb(path);
    expect((other.db.query("SELECT count(*) AS n FROM inline_chunks").get() as { n: number }).n).toBe(128);
    other.close();
    db.close();
  }
});

test("a running cell: small files stored through its API reach placement.db's file within seconds, and the WAL is cut back", async () => {
  cell = await startCell({ config: { sync_interval_s: 3600 } });
  const path = join(cell.dir, "placement.db");
  const before = sizeOf(path);
  // 160 files of 48 KiB: about 7.5 MiB of chunk rows, each PUT its own commit on the main thread.
  for (let i = 0; i < 160; i++) {
    const r = await cell.api(`/api/files/w/${i}.bin`, { method: "PUT", body: pseudoRandom(48 * 1024, 500 + i) });
    expect(r.status).toBe(201);
    await r.arrayBuffer();
  }
  // The Worker's checkpoints (every 500 ms) copy them into the database file.
  const deadline = Date.now() + 10_000;
  while (sizeOf(path) - before < 7 * MiB && Date.now() < deadline) await Bun.sleep(100);
  expect(sizeOf(path) - before).toBeGreaterThan(7 * MiB);
  expect(sizeOf(`${path}-wal`)).toBeLessThanOrEqual(64 * MiB + MiB);
  // And the files read back whole.
  const r = await cell.api("/api/files/w/159.bin");
  expect(Buffer.compare(Buffer.from(await r.arrayBuffer()), Buffer.from(pseudoRandom(48 * 1024, 659)))).toBe(0);
  expect(cell.output()).not.toContain("checkpoint of its WAL failed");
}, 60_000);
