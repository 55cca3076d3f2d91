// Small files stored together (ingest/ingest-batch) on a real in-process cell: what one group
// commit stores must read back exactly as a file stored alone would, and files that changed,
// vanished or did not change are reported and leave nothing recorded.
import { chunkNames } from "../helpers/chunks.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, statSync, writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { ingestBatch, type SmallFile } from "../../src/ingest/ingest-batch.ts";
import { ingest } from "../../src/ingest/ingest.ts";
import { restoreStream, verifyFile } from "../../src/ingest/restore.ts";
import { findPendingManifests, manifestText, readManifest } from "../../src/store/manifest.ts";
import { safePath } from "../../src/ingest/home-path.ts";
import { openTempCell, pseudoRandom, readAll, streamOf } from "../helpers/vault.ts";
import { openCell } from "../../src/cell/cell.ts";
import { readFileSync, truncateSync, rmSync as removeFile } from "node:fs";

let cell: ReturnType<typeof openTempCell>;
beforeAll(() => {
  cell = openTempCell();
});
afterAll(() => cell.destroy());

/** Write `bytes` at `rel` in GROVE_HOME and describe it as the watcher would once it settled. */
function drop(rel: string, bytes: Uint8Array): SmallFile {
  const abs = join(cell.layout.home, rel);
  mkdirSync(join(abs, ".."), { recursive: true });
  writeFileSync(abs, bytes);
  const st = statSync(abs);
  return { path: safePath(rel), abs, size: st.size, mtimeMs: st.mtimeMs };
}

const countChunks = () => chunkNames(cell.layout.dir).length;

describe("ingest batch", () => {
  test("many small files, one group: each reads back verified and byte for byte", async () => {
    const datas = Array.from({ length: 40 }, (_, i) => pseudoRandom(4096 + i * 997, 100 + i));
    const files = datas.map((d, i) => drop(`batch/${i % 3}/f${i}.bin`, d));
    const before = countChunks();
    const out = await ingestBatch(cell.vault, files);
    expect(out.every((o) => o.stored)).toBe(true);
    expect(countChunks() - before).toBe(40);
    for (let i = 0; i < files.length; i++) {
      const cur = cell.db.current(files[i]!.path)!;
      expect(cur.version).toBe(1);
      const m = readManifest(cell.layout.manifests, cell.db.manifest(cur.manifest_hash)!.manifest_file);
      expect(m.chunks.length).toBe(1);
      expect(m.total_size).toBe(datas[i]!.byteLength);
      expect(Buffer.compare(Buffer.from(await readAll(await restoreStream(cell.vault, m))), Buffer.from(datas[i]!))).toBe(0);
      expect(await verifyFile(cell.vault, m)).toEqual([]);
    }
  });

  test("the same bytes as a file stored alone: the same chunk and file hash (one format)", async () => {
    const d = pseudoRandom(30_000, 9);
    const alone = await ingest(cell.vault, safePath("alone/x.bin"), streamOf(d), { maxBytes: 1 << 30 });
    const [o] = await ingestBatch(cell.vault, [drop("together/x.bin", d)]);
    expect(o!.stored).toBe(true);
    const cur = cell.db.current(safePath("together/x.bin"))!;
    const m = readManifest(cell.layout.manifests, cell.db.manifest(cur.manifest_hash)!.manifest_file);
    expect(m.file_hash).toBe(alone.manifest.file_hash);
    expect(m.chunks.map((c) => c.hash)).toEqual(alone.manifest.chunks.map((c) => c.hash));
  });

  test("two equal files in one batch: one chunk; an empty file: no chunk", async () => {
    const d = pseudoRandom(5000, 77);
    const before = countChunks();
    const out = await ingestBatch(cell.vault, [drop("twins/a", d), drop("twins/b", d), drop("twins/empty", new Uint8Array(0))]);
    expect(out.map((o) => o.stored)).toEqual([true, true, true]);
    expect(countChunks() - before).toBe(1);
    const empty = cell.db.current(safePath("twins/empty"))!;
    expect(empty.size).toBe(0);
  });

  test("unchanged, changed since it settled, and vanished: reported, nothing recorded for them", async () => {
    const same = drop("mixed/same", pseudoRandom(1000, 1));
    await ingestBatch(cell.vault, [same]);
    const changed = drop("mixed/changed", pseudoRandom(1000, 2));
    writeFileSync(changed.abs, pseudoRandom(1001, 3)); // written again after the watcher's look
    const gone = drop("mixed/gone", pseudoRandom(1000, 4));
    unlinkSync(gone.abs);
    const fine = drop("mixed/fine", pseudoRandom(1000, 5));
    const out = await ingestBatch(cell.vault, [{ ...same, mtimeMs: statSync(same.abs).mtimeMs }, changed, gone, fine]);
    expect(out.map((o) => (o.stored ? "stored" : o.why))).toEqual(["unchanged", "changed", "gone", "stored"]);
    expect(cell.db.current(safePath("mixed/same"))!.version).toBe(1);
    expect(cell.db.current(safePath("mixed/changed"))).toBeNull();
    expect(cell.db.current(safePath("mixed/gone"))).toBeNull();
  });

  test("a new content at a stored path is its next version; history keeps the first", async () => {
    const f = drop("ver/doc.txt", new TextEncoder().encode("first"));
    await ingestBatch(cell.vault, [f]);
    const g = drop("ver/doc.txt", new TextEncoder().encode("second, longer"));
    const [o] = await ingestBatch(cell.vault, [g]);
    expect(o).toMatchObject({ stored: true, version: 2 });
    expect(cell.db.versions(safePath("ver/doc.txt")).length).toBe(2);
  });

  test("manifests of a batch: pending in placement.db, no file written by the store; a crash that tore their files is repaired at open", async () => {
    const files = Array.from({ length: 6 }, (_, i) => drop(`crash/f${i}.txt`, pseudoRandom(2000 + i, 300 + i)));
    await ingestBatch(cell.vault, files);
    const pending = cell.db.pendingManifests(100).filter((r) => r.manifest_file.startsWith("crash/"));
    expect(pending.length).toBe(6);
    for (const r of pending) {
      expect(existsSync(join(cell.layout.manifests, r.manifest_file))).toBe(false); // the settler writes it
      expect(manifestText(cell.layout.manifests, r.manifest_file)).toBe(r.body); // readers find its text
    }

    // As a crash while the settler wrote them could leave them: three intact (not fsynced), one
    // torn, one empty, one not written yet.
    mkdirSync(join(cell.layout.manifests, "crash"), { recursive: true });
    for (const r of pending) writeFileSync(join(cell.layout.manifests, r.manifest_file), r.body);
    truncateSync(join(cell.layout.manifests, pending[0]!.manifest_file), 17);
    truncateSync(join(cell.layout.manifests, pending[1]!.manifest_file), 0);
    removeFile(join(cell.layout.manifests, pending[2]!.manifest_file));
    const again = openCell(cell.layout).cell; // what the next start does first
    try {
      for (const r of pending) expect(manifestText(again.layout.manifests, r.manifest_file)).toBe(r.body);
      // The two torn ones were written again, durably, and forgotten; the others wait for the settler.
      for (const r of pending.slice(0, 2)) expect(readFileSync(join(cell.layout.manifests, r.manifest_file), "utf8")).toBe(r.body);
      expect(again.db.pendingManifests(100).filter((r) => r.manifest_file.startsWith("crash/")).length).toBe(4);
      await again.vault.settler!.now();
      expect(again.db.pendingManifests(100).length).toBe(0);
      for (const r of pending) expect(readFileSync(join(cell.layout.manifests, r.manifest_file), "utf8")).toBe(r.body);
      for (const f of files) {
        const cur = again.db.current(f.path)!;
        const m = readManifest(again.layout.manifests, again.db.manifest(cur.manifest_hash)!.manifest_file);
        expect(await verifyFile(again.vault, m)).toEqual([]);
      }
    } finally {
      again.close();
      // Readers of this folder ask `cell`'s database again (the second opening pointed them at its own).
      findPendingManifests(cell.layout.manifests, (rel) => cell.db.pendingManifestBody(rel));
    }
  });

  test("settling a batch's manifests (one group: syncfs on Linux) writes their files from their texts and forgets the rows", async () => {
    const files = Array.from({ length: 40 }, (_, i) => drop(`settle/f${i}.txt`, pseudoRandom(1500 + i, 700 + i)));
    await ingestBatch(cell.vault, files);
    const pending = cell.db.pendingManifests(1000).filter((r) => r.manifest_file.startsWith("settle/"));
    expect(pending.length).toBe(40);
    await cell.vault.settler!.now();
    expect(cell.db.pendingManifests(1000).filter((r) => r.manifest_file.startsWith("settle/"))).toEqual([]);
    for (const r of pending) expect(readFileSync(join(cell.layout.manifests, r.manifest_file), "utf8")).toBe(r.body);
  });

  test("a group commit refused, then tried again: stored once, its manifest pending until the settler writes it", async () => {
    const f = drop("retry/again.bin", pseudoRandom(3000, 77));
    const addVersions = cell.db.addVersions.bind(cell.db);
    cell.db.addVersions = () => {
      throw new Error("database is locked"); // what the busy database answered (test/ingest/watcher-retry does it for real)
    };
    try {
      const [first] = await ingestBatch(cell.vault, [f]);
      expect(first).toMatchObject({ stored: false, why: "error" });
      expect(cell.db.current("retry/again.bin")).toBeNull();
    } finally {
      cell.db.addVersions = addVersions;
    }
    const [second] = await ingestBatch(cell.vault, [f]);
    expect(second).toMatchObject({ stored: true, version: 1 });
    // The recorded manifest's text is kept until store/manifest-settle has written its file durably.
    const cur = cell.db.current("retry/again.bin")!;
    const file = cell.db.manifest(cur.manifest_hash)!.manifest_file;
    const pending = cell.db.pendingManifests(Number.MAX_SAFE_INTEGER).filter((r) => r.manifest_file === file);
    expect(pending).toHaveLength(1);
    expect(await verifyFile(cell.vault, readManifest(cell.layout.manifests, file))).toEqual([]);
    await cell.vault.settler!.now();
    expect(pending[0]!.body).toBe(readFileSync(join(cell.layout.manifests, file), "utf8"));
    expect(cell.db.pendingManifestBody(file)).toBeNull();
  });
});
