/**
 * Small files stored together (ingest/ingest-batch) in a real cell, with push on store to a
 * peer: a folder of small files copied into GROVE_HOME is stored in group commits and pushed; a
 * kill -9 of the storing cell in the middle leaves nothing half-recorded. After a restart the
 * watcher's walk stores the rest, fsck is clean, every file reads back byte for byte, every copy
 * A records on B is held there, and the manifests written without an fsync get theirs.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";
import { until } from "../helpers/until.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import type { FsckReport } from "../../src/sync/fsck.ts";
import type { SyncReport } from "../../src/sync/round.ts";

const config = { replication_factor: 2, sync_interval_s: 3600, push_on_store: true, watch_debounce_ms: 200 };
const FILES = 1200;
let A: TestCell, B: TestCell;

const count = (c: TestCell, sql: string, ...args: string[]): number => {
  const db = new Database(join(c.dir, "placement.db"), { readonly: true });
  try {
    return (db.query(sql).get(...args) as { n: number }).n;
  } finally {
    db.close();
  }
};
const hashes = (c: TestCell, sql: string, ...args: string[]): Set<string> => {
  const db = new Database(join(c.dir, "placement.db"), { readonly: true });
  try {
    return new Set((db.query(sql).all(...args) as { h: string }[]).map((r) => r.h));
  } finally {
    db.close();
  }
};
const storedOnA = () =>
  count(A, "SELECT COUNT(DISTINCT path) AS n FROM file_versions WHERE path LIKE 'many/%' AND manifest_hash IS NOT NULL");
const content = (i: number) => pseudoRandom(4096 + ((i * 7919) % 30_000), 1000 + i);

beforeAll(async () => {
  [A, B] = await Promise.all([startCell({ config }), startCell({ config })]);
  await pair(A, B);
}, 120_000);

afterAll(async () => {
  await Promise.all([destroyCell(A), destroyCell(B)]);
}, 60_000);

test("kill -9 in the middle of a folder of small files: after a restart all are stored, fsck is clean, every copy on B is held", async () => {
  // Written elsewhere, then moved in whole: the watcher sees a folder arrive, as with `cp -r` to another disk then `mv`.
  const src = join(A.root, "many");
  mkdirSync(src);
  for (let i = 0; i < FILES; i++) writeFileSync(join(src, `f${i}.bin`), content(i));
  renameSync(src, join(A.home, "many"));
  await until("the first group commit", () => storedOnA() > 0, 30_000, 10);
  A.proc.kill("SIGKILL");
  await A.proc.exited;
  const atKill = storedOnA();
  console.log(`killed with ${atKill} of ${FILES} files stored`);

  A = await startCell({ root: A.root });
  await until("every file stored after the restart", () => storedOnA() === FILES, 60_000);
  const fsck = JSON.parse((await A.cli(["fsck", "--json"])).stdout) as FsckReport;
  expect(fsck.problems).toEqual([]);
  for (const i of [0, 1, 17, atKill, FILES - 1]) {
    const r = await A.api(`/api/files/many/f${Math.min(i, FILES - 1)}.bin`);
    expect(r.status).toBe(200);
    expect(Buffer.compare(Buffer.from(await r.arrayBuffer()), Buffer.from(content(Math.min(i, FILES - 1))))).toBe(0);
  }
  // Every copy A recorded on B is held there; a round completes the rest.
  const r = JSON.parse((await A.cli(["sync", "--json"])).stdout) as SyncReport;
  expect(r.errors).toEqual([]);
  expect(r.under_replicated + r.missing).toBe(0);
  const placed = hashes(A, "SELECT chunk_hash AS h FROM placements WHERE cell_id = ?", cellIdOf(B));
  const held = hashes(B, "SELECT chunk_hash AS h FROM held WHERE owner = ?", cellIdOf(A));
  expect(placed.size).toBeGreaterThanOrEqual(FILES);
  expect([...placed].filter((h) => !held.has(h))).toEqual([]);
  // The manifests written without an fsync get it once the store is quiet.
  await until("pending manifests settled", () => count(A, "SELECT COUNT(*) AS n FROM manifest_pending") === 0, 20_000);
}, 180_000);
