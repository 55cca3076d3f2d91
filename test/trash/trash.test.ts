// Safe deletion on one in-process cell: purge -> trash -> collection, with every reference that
// must keep a chunk (another version, another file with the same content, an active grant, a
// record kept for another owner, a version waiting in the trash), the trash restore, the
// chunks kept for others, crash leftovers and the writer guard.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, utimesSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { ingest } from "../../src/ingest/ingest.ts";
import { removeFile } from "../../src/ingest/remove.ts";
import { safePath } from "../../src/ingest/home-path.ts";
import type { CellId, ChunkHash } from "../../src/core/types.ts";
import { purgeVersions, restorePurged } from "../../src/trash/history.ts";
import { collect, collectContextOf, collectIntervalMs, type CollectContext } from "../../src/trash/collector.ts";
import { trashListing } from "../../src/trash/listing.ts";
import { DeleteOutbox } from "../../src/trash/outbox.ts";
import { isFileNeeded, isLiveChunk } from "../../src/store/references.ts";
import { openTempCell, pseudoRandom, streamOf } from "../helpers/vault.ts";

type TempCell = ReturnType<typeof openTempCell>;
let cell: TempCell;
const RETENTION_S = 100;
const T0 = Date.now();
const later = (s: number) => T0 + s * 1000;

beforeEach(() => {
  cell = openTempCell();
});
afterEach(() => cell.destroy());

const put = async (p: string, data: Uint8Array) =>
  (await ingest(cell.vault, safePath(p), streamOf(data), { maxBytes: 1 << 30 })).manifest.chunks.map((c) => c.hash as ChunkHash);
const has = (h: string) => cell.store.has(h as ChunkHash);
const ctx = (over: Partial<CollectContext> = {}): CollectContext => ({
  ...collectContextOf(cell),
  trashRetentionS: RETENTION_S,
  versionRetentionS: 0,
  ...over,
});
const purge = (p: string, which: number | "all", now = T0) => purgeVersions(cell.db.db, p, which, { now, trashRetentionS: RETENTION_S });
const rows = (sql: string, ...args: string[]) => cell.db.db.query(sql).all(...args);

describe("purge and collection of our own chunks", () => {
  test("a purged version waits in the trash; after the trash time its unshared chunks leave the disk", async () => {
    const v1 = await put("a.bin", pseudoRandom(300_000, 1));
    const v2 = await put("a.bin", pseudoRandom(300_000, 2));
    const r = purge("a.bin", 1);
    expect(r.purged).toEqual([1]);
    expect(r.trashed_chunks).toBe(1);
    expect(r.collect_after).toBe(T0 + RETENTION_S * 1000);
    expect(cell.db.versions("a.bin").map((v) => v.version)).toEqual([2]);
    expect(trashListing(cell.db.db, cell.config).versions.map((v) => v.version)).toEqual([1]);

    // Not yet due: nothing goes.
    const early = collect(ctx(), later(RETENTION_S / 2));
    expect(early.files_deleted).toBe(0);
    expect(has(v1[0]!)).toBe(true);

    const due = collect(ctx(), later(RETENTION_S + 1));
    expect(due.versions_collected).toBe(1);
    expect(due.manifests_removed).toBe(1);
    expect(due.chunks_collected).toBe(1);
    expect(has(v1[0]!)).toBe(false);
    expect(has(v2[0]!)).toBe(true);
    expect(rows("SELECT * FROM chunk_trash")).toEqual([]);
    expect(rows("SELECT * FROM chunks WHERE hash = ?", v1[0]!)).toEqual([]);
    // The restore is no longer possible: the purge is final.
    expect(() => restorePurged(cell.db.db, cell.store, "a.bin")).toThrow(/nothing of 'a.bin' is in the trash/);
    // Version numbers are not reused: the next one is 3.
    await put("a.bin", pseudoRandom(1000, 3));
    expect(cell.db.versions("a.bin").map((v) => v.version)).toEqual([3, 2]);
  });

  test("a chunk used by another version, or by another file with the same content, is never trashed", async () => {
    const same = pseudoRandom(200_000, 9);
    const a1 = await put("a.bin", same);
    await put("a.bin", pseudoRandom(200_000, 10));
    const a3 = await put("a.bin", same); // A -> B -> A: version 3 reuses version 1's manifest
    expect(a3).toEqual(a1);
    // The same bytes under another path: same file hash, same key, so the same chunks.
    const copy = await put("copy-of-a.bin", pseudoRandom(200_000, 9));
    expect(copy).toEqual(a1);
    expect(purge("a.bin", 1).trashed_chunks).toBe(0);
    expect(purge("a.bin", 2).trashed_chunks).toBe(1);
    collect(ctx(), later(RETENTION_S + 1));
    expect(has(a1[0]!)).toBe(true);
    expect(copy.every(has)).toBe(true);
    expect(isLiveChunk(cell.db.db, a1[0]!)).toBe(true);
  });

  test("the current version cannot be purged; --all keeps it on a live file and takes everything of a deleted one", async () => {
    await put("d.txt", new TextEncoder().encode("one"));
    await put("d.txt", new TextEncoder().encode("two"));
    await put("d.txt", new TextEncoder().encode("three"));
    expect(() => purge("d.txt", 3)).toThrow(/current version/);
    expect(() => purge("d.txt", 9)).toThrow(/has no version 9/);
    expect(purge("d.txt", "all").purged).toEqual([1, 2]);
    expect(purge("d.txt", "all").purged).toEqual([]);
    await removeFile(cell.vault, safePath("d.txt"));
    expect(purge("d.txt", "all").purged).toEqual([3, 4]);
    expect(cell.db.versions("d.txt")).toEqual([]);
    expect(() => purge("d.txt", "all")).toThrow(/no file at 'd.txt' \(its versions are in the trash/);
  });

  test("trash restore brings purged versions back (current unchanged) and takes their chunks out of the trash", async () => {
    const v1 = await put("r.bin", pseudoRandom(100_000, 21));
    await put("r.bin", pseudoRandom(100_000, 22));
    await removeFile(cell.vault, safePath("r.bin"));
    expect(purge("r.bin", "all").purged).toEqual([1, 2, 3]);
    expect(rows("SELECT hash FROM chunk_trash").length).toBe(2);
    const back = restorePurged(cell.db.db, cell.store, "r.bin");
    expect(back.restored).toEqual([1, 2, 3]);
    expect(cell.db.current("r.bin")).toBeNull(); // still deleted: the deletion came back too
    expect(cell.db.versions("r.bin").map((v) => v.version)).toEqual([3, 2, 1]);
    expect(rows("SELECT hash FROM chunk_trash")).toEqual([]);
    collect(ctx(), later(RETENTION_S * 3));
    expect(has(v1[0]!)).toBe(true);
  });

  test("a chunk shared by an active grant stays until the grant is revoked, then goes after the trash time", async () => {
    const v1 = await put("s.bin", pseudoRandom(50_000, 31));
    await put("s.bin", pseudoRandom(50_000, 32));
    const m1 = cell.db.versions("s.bin").find((v) => v.version === 1)!.manifest_hash!;
    cell.db.db
      .query(
        `INSERT INTO grants (id, direction, peer, path, filename, file_type, size, manifest_hash, granted_at, expires_at, grant_json, pass_json)
         VALUES ('g1', 'out', ?, 's.bin', 's.bin', 'application/octet-stream', 50000, ?, ?, NULL, '{}', '{}')`,
      )
      .run("ab".repeat(32), m1, T0);
    expect(purge("s.bin", 1).trashed_chunks).toBe(0);
    collect(ctx(), later(RETENTION_S * 2));
    expect(has(v1[0]!)).toBe(true);
    expect(rows("SELECT manifest_hash FROM manifests WHERE manifest_hash = ?", m1).length).toBe(1); // kept for the grant
    cell.db.db.query("UPDATE grants SET revoked_at = ? WHERE id = 'g1'").run(later(RETENTION_S * 2));
    const r = collect(ctx(), later(RETENTION_S * 2 + 1));
    expect(r.chunks_trashed).toBe(1);
    expect(has(v1[0]!)).toBe(true); // in the trash now, not yet due
    collect(ctx(), later(RETENTION_S * 3 + 2));
    expect(has(v1[0]!)).toBe(false);
  });

  test("version_retention_s purges old versions (never the current one) through the same trash", async () => {
    await put("old.txt", new TextEncoder().encode("v1"));
    await put("old.txt", new TextEncoder().encode("v2"));
    const r = collect(ctx({ versionRetentionS: 10 }), later(20));
    expect(r.versions_expired).toBe(1);
    expect(cell.db.versions("old.txt").map((v) => v.version)).toEqual([2]);
    expect(trashListing(cell.db.db, cell.config).versions.map((v) => v.version)).toEqual([1]);
    expect(collect(ctx({ versionRetentionS: 10 }), later(40)).versions_expired).toBe(0); // the current one stays
  });

  test("a trashed chunk still held by a peer keeps its trash row until the peer acknowledges the DeleteRequest", async () => {
    const v1 = await put("p.bin", pseudoRandom(10_000, 41));
    await put("p.bin", pseudoRandom(10_000, 42));
    const peer = "cd".repeat(32) as CellId;
    cell.placements.confirm(peer, v1[0]!, 10_016);
    purge("p.bin", 1);
    const outbox = new DeleteOutbox(cell.db.db);
    expect(outbox.pendingFor(peer)).toEqual([v1[0]!]);
    collect(ctx(), later(RETENTION_S + 1));
    expect(has(v1[0]!)).toBe(false); // the local copy went
    expect(trashListing(cell.db.db, cell.config).chunks).toEqual([expect.objectContaining({ hash: v1[0], local: false, peers: 1 })]);
    expect(outbox.pendingFor(peer)).toEqual([v1[0]!]); // still asked of the peer
    outbox.acknowledged(peer, [v1[0]!]);
    expect(outbox.pendingFor(peer)).toEqual([]);
    collect(ctx(), later(RETENTION_S + 2));
    expect(rows("SELECT * FROM chunk_trash")).toEqual([]);
  });
});

describe("chunks kept for other cells", () => {
  const owner = "11".repeat(32) as CellId;
  const other = "22".repeat(32) as CellId;
  const chunk = () => {
    const bytes = randomBytes(1000);
    return { bytes, hash: createHash("sha256").update(bytes).digest("hex") as ChunkHash };
  };

  test("the owner's DeleteRequest trashes only its records; a file another owner keeps stays; the rest goes after the trash time", async () => {
    const a = chunk();
    const shared = chunk();
    await cell.held.putChunk(owner, a.hash, a.bytes);
    await cell.held.putChunk(owner, shared.hash, shared.bytes);
    await cell.held.putChunk(other, shared.hash, shared.bytes);
    const before = cell.held.totalBytes();
    const r = cell.held.trash(owner, [a.hash, shared.hash, "33".repeat(32) as ChunkHash], T0);
    expect(r).toEqual({ trashed: 2, not_held: 1 });
    expect(cell.held.trash(owner, [a.hash], T0)).toEqual({ trashed: 1, not_held: 0 }); // idempotent
    // No longer kept for the owner: not listed, not counted, not served.
    expect(cell.held.has(owner, a.hash)).toBe(false);
    expect(cell.held.chunksOf(owner)).toEqual([]);
    expect(cell.held.totalBytes()).toBe(before - 2000);
    expect(cell.held.has(other, shared.hash)).toBe(true);
    expect(trashListing(cell.db.db, cell.config).held.length).toBe(2);

    collect(ctx(), later(RETENTION_S / 2));
    expect(has(a.hash)).toBe(true);
    const r2 = collect(ctx(), later(RETENTION_S + 1));
    expect(r2.held_collected).toBe(2);
    expect(has(a.hash)).toBe(false);
    expect(has(shared.hash)).toBe(true); // still kept for the other owner
    expect(cell.held.has(other, shared.hash)).toBe(true);
  });

  test("a push of a trashed chunk by its owner keeps it again", async () => {
    const a = chunk();
    await cell.held.putChunk(owner, a.hash, a.bytes);
    cell.held.trash(owner, [a.hash], T0);
    expect(await cell.held.putChunk(owner, a.hash, a.bytes)).toBe(true);
    expect(cell.held.has(owner, a.hash)).toBe(true);
    collect(ctx(), later(RETENTION_S * 2));
    expect(has(a.hash)).toBe(true);
  });
});

describe("crash safety", () => {
  test("a chunk no row needs (a crash between commit and delete), as a file or a row, is removed once old enough; a needed one never", async () => {
    const mine = await put("keep.bin", pseudoRandom(10_000, 51));
    // A small chunk is a row of placement.db (store/chunk-store): one left by a crash before its version's commit.
    const orphanRow = randomBytes(100);
    const rowName = createHash("sha256").update(orphanRow).digest("hex") as ChunkHash;
    await cell.store.commit([{ hash: rowName, inline: orphanRow }]);
    expect(cell.store.has(rowName)).toBe(true);
    const orphan = randomBytes(64);
    const name = createHash("sha256").update(orphan).digest("hex");
    const p = join(cell.layout.chunks, name.slice(0, 2), name);
    mkdirSync(join(cell.layout.chunks, name.slice(0, 2)), { recursive: true });
    writeFileSync(p, orphan);
    const tmp = join(cell.layout.chunks, name.slice(0, 2), `.${name}.tmp-0123456789ab`);
    writeFileSync(tmp, orphan);
    expect(isFileNeeded(cell.db.db, name as ChunkHash)).toBe(false);
    // Young: left alone (a pull in the sync Worker writes the file just before its row).
    expect(collect(ctx(), Date.now()).orphans_removed).toBe(0);
    const old = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(p, old, old);
    utimesSync(tmp, old, old);
    cell.db.db.query("UPDATE inline_chunks SET stored_at = ?").run(old * 1000); // mine's row too
    expect(mine.every((h) => !existsSync(cell.store.path(h)))).toBe(true); // rows, not files
    // A manifest file whose row went (a crash before its file did), and the live one.
    const ghost = join(cell.layout.manifests, "gone", "ghost.txt.abcdef12.json");
    mkdirSync(join(cell.layout.manifests, "gone"), { recursive: true });
    writeFileSync(ghost, "{}");
    utimesSync(ghost, old, old);
    await cell.vault.settler!.now(); // the live manifest's file written (store/manifest-settle)
    const live = join(cell.layout.manifests, cell.db.manifest(cell.db.current("keep.bin")!.manifest_hash)!.manifest_file);
    utimesSync(live, old, old);
    const r = collect(ctx(), Date.now());
    expect(r.orphans_removed).toBe(4);
    expect(cell.store.has(rowName)).toBe(false);
    expect(existsSync(p)).toBe(false);
    expect(existsSync(tmp)).toBe(false);
    expect(existsSync(ghost)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(mine.every(has)).toBe(true);
  });

  test("nothing is collected while a writer runs", async () => {
    const v1 = await put("w.bin", pseudoRandom(10_000, 61));
    await put("w.bin", pseudoRandom(10_000, 62));
    purge("w.bin", 1);
    let release!: () => void;
    const writer = cell.store.writing(() => new Promise<void>((r) => (release = r)));
    expect(collect(ctx(), later(RETENTION_S * 2)).skipped).toBe("busy");
    expect(has(v1[0]!)).toBe(true);
    release();
    await writer;
    expect(collect(ctx(), later(RETENTION_S * 2)).skipped).toBeNull();
    expect(has(v1[0]!)).toBe(false);
  });

  test("nothing is collected while a recovered cell waits for its manifests", () => {
    writeFileSync(cell.layout.recovering, "{}");
    expect(collect(ctx(), later(1)).skipped).toBe("recovering");
  });

  test("the periodic pass runs at half the shorter retention, between 1 s and 1 h", () => {
    expect(collectIntervalMs(604800, 0)).toBe(3600_000);
    expect(collectIntervalMs(2, 0)).toBe(1000);
    expect(collectIntervalMs(604800, 600)).toBe(300_000);
  });
});
