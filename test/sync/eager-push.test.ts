/**
 * Push on store (sync/eager-push) with real cells on loopback, R=2, rounds only on demand: a put
 * on A reaches B while it is stored, with no round; small files go in batches; the round after
 * finds nothing left to push. A kill -9 of either cell in the middle of a pipelined push leaves
 * no acknowledged-but-missing chunk (fsck clean), and the next round completes the copies.
 */
import { hasChunk } from "../helpers/chunks.ts";
import { until as untilMs } from "../helpers/until.ts";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Database } from "bun:sqlite";
import { destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";
import type { SyncReport } from "../../src/sync/round.ts";
import type { FsckReport } from "../../src/sync/fsck.ts";

// sync_after_change_s 0: no round after a put (test/helpers/cell), so what B holds came by push on store.
const config = { replication_factor: 2, sync_interval_s: 3600, push_on_store: true };
let A: TestCell, B: TestCell;

const rows = <T>(c: TestCell, sql: string, ...args: string[]): T[] => {
  const db = new Database(join(c.dir, "placement.db"), { readonly: true });
  try {
    return db.query(sql).all(...args) as T[];
  } finally {
    db.close();
  }
};
const chunksOf = async (c: TestCell, path: string) =>
  ((await (await c.api(`/api/files/${path}?meta`)).json()) as { manifest: { chunks: { hash: string }[] } }).manifest.chunks.map(
    (x) => x.hash,
  );
const heldOnB = (owner: TestCell) =>
  new Set(rows<{ chunk_hash: string }>(B, "SELECT chunk_hash FROM held WHERE owner = ?", cellIdOf(owner)).map((r) => r.chunk_hash));
const placedOnB = () =>
  new Set(rows<{ chunk_hash: string }>(A, "SELECT chunk_hash FROM placements WHERE cell_id = ?", cellIdOf(B)).map((r) => r.chunk_hash));
const onDisk = (c: TestCell, h: string) => hasChunk(c.dir, h);

// A put of 48 MiB on a loaded machine: more time than the helper's default, and asked more often.
const until = <T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false) =>
  untilMs(what, fn, 15_000, 25);

const put = async (c: TestCell, path: string, bytes: Uint8Array) => {
  const r = await c.api(`/api/files/${path}`, { method: "PUT", body: bytes as Uint8Array<ArrayBuffer> });
  expect(r.status).toBeLessThan(300);
};

beforeAll(async () => {
  [A, B] = await Promise.all([startCell({ config }), startCell({ config })]);
  await pair(A, B);
  await A.cli(["sync", "--json"]); // probes B: its route is known before the puts
}, 60_000);

afterAll(async () => {
  await Promise.all([A, B].map((c) => destroyCell(c)));
});

test("a put reaches the peer while it is stored, with no round: every chunk acknowledged is durable there", async () => {
  const body = new Uint8Array(randomBytes(20 * 1024 * 1024 + 99));
  await put(A, "big.bin", body);
  const chunks = await chunksOf(A, "big.bin");
  expect(chunks.length).toBe(6);
  await until("every chunk of big.bin placed on B", () => chunks.every((h) => placedOnB().has(h)));
  const held = heldOnB(A);
  for (const h of chunks) {
    expect(held.has(h)).toBe(true);
    expect(onDisk(B, h)).toBe(true);
  }
  // 30 small files: in batches, no round either.
  const small: string[] = [];
  for (let i = 0; i < 30; i++) {
    await put(A, `notes/n${i}.txt`, new Uint8Array(randomBytes(3000 + i)));
    small.push(...(await chunksOf(A, `notes/n${i}.txt`)));
  }
  await until("the 30 small files placed on B", () => small.every((h) => placedOnB().has(h)));
  // The round after has nothing left to push.
  const r = JSON.parse((await A.cli(["sync", "--json"])).stdout) as SyncReport;
  expect(r.errors).toEqual([]);
  expect(r.chunks_pushed).toBe(0);
  expect(r.under_replicated).toBe(0);
});

test("kill -9 of the receiving cell mid-push: nothing acknowledged is missing, and the next round completes", async () => {
  const body = new Uint8Array(randomBytes(48 * 1024 * 1024 + 1));
  const putting = put(A, "killed-peer.bin", body);
  await until("B to take a chunk of it", () => placedOnB().size > 36 + 1); // 6 + 30 from the test before, and one of this file
  B.proc.kill("SIGKILL");
  await putting; // the put itself does not depend on the peer
  await B.proc.exited;
  B = await startCell({ root: B.root });
  // Every copy A recorded is on B's disk and in B's records (durable before it was acknowledged).
  const held = heldOnB(A);
  for (const h of placedOnB()) {
    expect(held.has(h)).toBe(true);
    expect(onDisk(B, h)).toBe(true);
  }
  const fsck = JSON.parse((await A.cli(["fsck", "--json"])).stdout) as FsckReport;
  expect(fsck.problems).toEqual([]);
  const r = JSON.parse((await A.cli(["sync", "--json"])).stdout) as SyncReport;
  expect(r.errors).toEqual([]);
  expect(r.under_replicated + r.missing).toBe(0);
  const chunks = await chunksOf(A, "killed-peer.bin");
  expect(chunks.every((h) => placedOnB().has(h) && onDisk(B, h))).toBe(true);
}, 60_000);

test("kill -9 of the storing cell mid-push: after a restart fsck is clean and a round completes the copies", async () => {
  const body = new Uint8Array(randomBytes(48 * 1024 * 1024 + 7));
  writeFileSync(join(A.root, "killed-owner.bin"), body);
  const before = placedOnB().size;
  const putting = A.cli(["put", join(A.root, "killed-owner.bin"), "--as", "killed-owner.bin"]);
  await until("B to take a chunk of it", () => placedOnB().size > before);
  A.proc.kill("SIGKILL");
  await A.proc.exited;
  await putting.catch(() => {});
  A = await startCell({ root: A.root });
  const held = heldOnB(A);
  for (const h of placedOnB()) expect(held.has(h)).toBe(true);
  const fsck = JSON.parse((await A.cli(["fsck", "--json"])).stdout) as FsckReport;
  expect(fsck.problems).toEqual([]);
  const r = JSON.parse((await A.cli(["sync", "--json"])).stdout) as SyncReport;
  expect(r.errors).toEqual([]);
  expect(r.under_replicated + r.missing).toBe(0);
}, 60_000);

test("a folder of small files dropped in, more than the ring shared with the Worker holds: every chunk is pushed on store, read back by name past the ring", async () => {
  // 13 MiB of 48-64 KiB files: the watcher stores them in one or two group commits, faster than
  // B takes them, so past MAX_HELD_BYTES (8 MiB) they go to the Worker by name (sync/held-ring).
  const n = 240;
  const dir = join(A.home, "drop");
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${i}.bin`), randomBytes(48 * 1024 + ((i * 67) % (16 * 1024))));
  const files = async () => ((await (await A.api("/api/files?prefix=drop")).json()) as { files: { path: string }[] }).files.length;
  await until("the watcher to store them all", async () => (await files().catch(() => 0)) >= n);
  const chunks: string[] = [];
  for (let i = 0; i < n; i++) chunks.push(...(await chunksOf(A, `drop/f${i}.bin`)));
  expect(chunks.length).toBe(n);
  await until("every one placed on B", () => chunks.every((h) => placedOnB().has(h)));
  const held = heldOnB(A);
  for (const h of chunks) expect(held.has(h) && onDisk(B, h)).toBe(true);
  const r = JSON.parse((await A.cli(["sync", "--json"])).stdout) as SyncReport;
  expect(r.errors).toEqual([]);
  expect(r.chunks_pushed).toBe(0); // push on store placed them all, none was left to the round
}, 90_000);
