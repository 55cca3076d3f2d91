// Ingest and restore on a real (in-process) cell: chunking, sealing, dedup, versions, ranges, corruption.
import { chunkNames } from "../helpers/chunks.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { ingest } from "../../src/ingest/ingest.ts";
import { restoreStream, verifyFile } from "../../src/ingest/restore.ts";
import { removeFile } from "../../src/ingest/remove.ts";
import { safePath } from "../../src/ingest/home-path.ts";
import { IntegrityError } from "../../src/core/errors.ts";
import { CHUNK_SIZE, toHex, type ChunkHash } from "../../src/core/types.ts";
import { deriveFileKey } from "../../src/crypto/keys.ts";
import { chunkNonce } from "../../src/crypto/index.ts";
import { openTempCell, pseudoRandom, readAll, streamOf } from "../helpers/vault.ts";

let cell: ReturnType<typeof openTempCell>;
beforeAll(() => {
  cell = openTempCell();
});
afterAll(() => cell.destroy());

const put = (p: string, data: Uint8Array) => ingest(cell.vault, safePath(p), streamOf(data), { maxBytes: 1 << 30 });
const countChunks = () => chunkNames(cell.layout.dir).length;

describe("ingest", () => {
  const data = pseudoRandom(2 * CHUNK_SIZE + 12345, 7);

  test("splits into 4 MiB chunks sealed exactly as docs/design.md (Data) says", async () => {
    const r = await put("docs/report.bin", data);
    expect(r.created).toBe(true);
    expect(r.version).toBe(1);
    const m = r.manifest;
    expect(m.chunks.map((c) => c.size)).toEqual([CHUNK_SIZE + 16, CHUNK_SIZE + 16, 12345 + 16]);
    expect(String(m.file_hash)).toBe(toHex(cell.suite.sha256(data)));
    expect(m.total_size).toBe(data.byteLength);
    expect(m.owner).toBe(cell.keys.id);
    // Recompute chunk 1 independently: file key from the master key, nonce = index, name = SHA-256 of sealed bytes.
    const key = deriveFileKey(cell.keys.masterKey, m.file_hash);
    const sealed = cell.suite.seal(key, chunkNonce(1), data.subarray(CHUNK_SIZE, 2 * CHUNK_SIZE));
    expect(String(m.chunks[1]!.hash)).toBe(toHex(cell.suite.sha256(sealed)));
    const onDisk = readFileSync(join(cell.layout.chunks, m.chunks[1]!.hash.slice(0, 2), m.chunks[1]!.hash));
    expect(Buffer.compare(onDisk, sealed)).toBe(0);
    // No plaintext on disk in the store.
    expect(onDisk.subarray(0, 64).equals(Buffer.from(data.subarray(CHUNK_SIZE, CHUNK_SIZE + 64)))).toBe(false);
    // Manifest file named {filename}.{hash8}.json, written by the settler; the file lands in GROVE_HOME.
    expect(existsSync(join(cell.layout.manifests, "docs", `report.bin.${m.file_hash.slice(0, 8)}.json`))).toBe(false);
    await cell.vault.settler!.now();
    expect(existsSync(join(cell.layout.manifests, "docs", `report.bin.${m.file_hash.slice(0, 8)}.json`))).toBe(true);
    expect(Buffer.compare(readFileSync(join(cell.layout.home, "docs", "report.bin")), data)).toBe(0);
  });

  test("an announced size only sizes the spool: a body longer or shorter than announced is stored whole", async () => {
    for (const [size, announced] of [
      [300_000, 4096], // longer than announced: the 64 KiB spool buffer is written many times
      [5000, 1 << 20],
      [0, 10],
    ] as const) {
      const body = pseudoRandom(size, size + 3);
      const r = await ingest(cell.vault, safePath(`announced/${size}.bin`), streamOf(body), { maxBytes: 1 << 30, expectedSize: announced });
      expect(r.manifest.total_size).toBe(size);
      expect(Buffer.compare(readFileSync(join(cell.layout.home, "announced", `${size}.bin`)), body)).toBe(0);
    }
  });

  test("re-uploading the same content writes no chunk and no version", async () => {
    const before = countChunks();
    const again = await put("docs/report.bin", data);
    expect(again.created).toBe(false);
    expect(again.version).toBe(1);
    expect(again.new_chunks).toBe(0);
    const elsewhere = await put("copy/of-report.bin", data);
    expect(elsewhere.new_chunks).toBe(0);
    expect(countChunks()).toBe(before);
  });

  test("new content at a path keeps the old version in history; A -> B -> A reuses A's manifest", async () => {
    const b = pseudoRandom(1000, 99);
    const v2 = await put("docs/report.bin", b);
    expect(v2.version).toBe(2);
    const versions = cell.db.versions("docs/report.bin");
    expect(versions.map((v) => v.version)).toEqual([2, 1]);
    const old = cell.db.manifest(versions[1]!.manifest_hash!)!;
    expect(old.total_size).toBe(data.byteLength);
    const v3 = await put("docs/report.bin", data);
    expect(v3.version).toBe(3);
    expect(v3.new_chunks).toBe(0);
    expect(v3.manifest_hash).toBe(versions[1]!.manifest_hash!);
  });

  test("an empty file is a file with zero chunks", async () => {
    const r = await put("empty.txt", new Uint8Array(0));
    expect(r.manifest.chunks.length).toBe(0);
    expect((await readAll(await restoreStream(cell.vault, r.manifest))).byteLength).toBe(0);
  });

  test("over max bytes: refused, nothing recorded, no temp file left", async () => {
    await expect(ingest(cell.vault, safePath("big/too.bin"), streamOf(pseudoRandom(5000)), { maxBytes: 4096 })).rejects.toThrow(
      /max_upload_bytes/,
    );
    expect(cell.db.current("big/too.bin")).toBeNull();
    expect(readdirSync(join(cell.layout.home, "big"))).toEqual([]);
  });

  // A watched file (inPlace) is stored with no temp file: pass 2 reads the file again.
  test("a file stored in place is read twice, no temp file: same chunks as a streamed upload, nothing placed in GROVE_HOME", async () => {
    const bytes = pseudoRandom(CHUNK_SIZE + 5000, 21);
    const dir = join(cell.root, "watched-a");
    mkdirSync(dir);
    const src = join(dir, "a.bin");
    writeFileSync(src, bytes);
    const watched = await ingest(cell.vault, safePath("local/a.bin"), streamOf(bytes), { maxBytes: 1 << 30, inPlace: src });
    const streamed = await put("local/a-streamed.bin", bytes);
    expect(watched.manifest.chunks.map((c) => c.hash)).toEqual(streamed.manifest.chunks.map((c) => c.hash));
    expect(readdirSync(dir)).toEqual(["a.bin"]);
    expect(readdirSync(join(cell.layout.home, "local"))).toEqual(["a-streamed.bin"]);
  });

  test("a file stored in place that changes between the two passes: refused (409), nothing recorded", async () => {
    const first = pseudoRandom(CHUNK_SIZE + 5000, 22);
    const later = pseudoRandom(CHUNK_SIZE + 5000, 23);
    const src = join(cell.root, "source-b.bin");
    writeFileSync(src, later); // pass 1 hashes `first`; pass 2 reads what the file holds now
    const opts = { maxBytes: 1 << 30, inPlace: src };
    await expect(ingest(cell.vault, safePath("local/b.bin"), streamOf(first), opts)).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining("changed while it was being stored"),
    });
    writeFileSync(src, Buffer.concat([first, Buffer.from("more")])); // grew
    await expect(ingest(cell.vault, safePath("local/b.bin"), streamOf(first), opts)).rejects.toMatchObject({ status: 409 });
    writeFileSync(src, first.subarray(0, 100)); // shrank
    await expect(ingest(cell.vault, safePath("local/b.bin"), streamOf(first), opts)).rejects.toMatchObject({ status: 409 });
    expect(cell.db.current("local/b.bin")).toBeNull();
  });

  // A local `grove put` (reread): pass 2 reads the source again (from the page cache), not the temp file.
  test("a local file read again in pass 2: same chunks as a streamed upload, and its copy lands in GROVE_HOME", async () => {
    const bytes = pseudoRandom(2 * CHUNK_SIZE + 77, 24);
    const src = join(cell.root, "source-c.bin");
    writeFileSync(src, bytes);
    const local = await ingest(cell.vault, safePath("local/c.bin"), streamOf(bytes), { maxBytes: 1 << 30, reread: src });
    const streamed = await put("local/c-streamed.bin", bytes);
    expect(local.manifest.chunks.map((c) => c.hash)).toEqual(streamed.manifest.chunks.map((c) => c.hash));
    expect(Buffer.compare(readFileSync(join(cell.layout.home, "local", "c.bin")), bytes)).toBe(0);
    expect(Buffer.compare(await readAll(await restoreStream(cell.vault, local.manifest)), bytes)).toBe(0);
  });

  test("a local file that changes between the passes: the copy pass 1 took is stored, as hashed", async () => {
    const first = pseudoRandom(CHUNK_SIZE + 5000, 25);
    const src = join(cell.root, "source-d.bin");
    for (const [name, now] of [
      ["d1", pseudoRandom(CHUNK_SIZE + 5000, 26)],
      ["d2", first.subarray(0, 100)],
      ["d3", Buffer.concat([first, Buffer.from("more")])],
    ] as const) {
      writeFileSync(src, now); // pass 1 hashes `first`; pass 2 finds the file changed, shrunk or grown
      const r = await ingest(cell.vault, safePath(`local/${name}.bin`), streamOf(first), { maxBytes: 1 << 30, reread: src });
      expect(r.created).toBe(true);
      expect(r.manifest.total_size).toBe(first.byteLength);
      expect(Buffer.compare(await readAll(await restoreStream(cell.vault, r.manifest)), first)).toBe(0);
      expect(Buffer.compare(readFileSync(join(cell.layout.home, "local", `${name}.bin`)), first)).toBe(0);
    }
  });

  test("a path that is a folder, or under a file, is refused (409)", async () => {
    await expect(put("docs", pseudoRandom(10))).rejects.toMatchObject({ status: 409 });
    await expect(put("empty.txt/inner", pseudoRandom(10))).rejects.toMatchObject({ status: 409 });
  });
});

describe("restore", () => {
  const data = pseudoRandom(3 * CHUNK_SIZE + 777, 3);
  let manifest: Awaited<ReturnType<typeof put>>["manifest"];
  beforeAll(async () => {
    manifest = (await put("media/film.bin", data)).manifest;
  });

  test("streams the file back byte-identical", async () => {
    const back = await readAll(await restoreStream(cell.vault, manifest));
    expect(Buffer.compare(back, data)).toBe(0);
  });

  test("ranges across chunk boundaries read exactly the bytes asked for", async () => {
    for (const [s, e] of [
      [0, 0],
      [CHUNK_SIZE - 3, CHUNK_SIZE + 3],
      [CHUNK_SIZE, 2 * CHUNK_SIZE - 1],
      [100, data.byteLength - 1],
      [data.byteLength - 1, data.byteLength - 1],
    ] as const) {
      const got = await readAll(await restoreStream(cell.vault, manifest, { start: s, end: e }));
      expect(Buffer.compare(got, data.subarray(s, e + 1))).toBe(0);
    }
  });

  test("a corrupt chunk: error names file and chunk, and no wrong byte is emitted", async () => {
    const bad = manifest.chunks[2]!;
    const p = join(cell.layout.chunks, bad.hash.slice(0, 2), bad.hash);
    const original = readFileSync(p);
    const flipped = Buffer.from(original);
    flipped[1000]! ^= 0x40;
    writeFileSync(p, flipped);
    try {
      const s = await restoreStream(cell.vault, manifest);
      const reader = s.getReader();
      const got: Uint8Array[] = [];
      let err: unknown;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          got.push(value);
        }
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as Error).message).toContain("media/film.bin");
      expect((err as Error).message).toContain(bad.hash);
      // Everything emitted before the failure is correct and stops before the bad chunk.
      const emitted = Buffer.concat(got);
      expect(emitted.byteLength).toBe(2 * CHUNK_SIZE);
      expect(Buffer.compare(emitted, data.subarray(0, emitted.byteLength))).toBe(0);
      const problems = await verifyFile(cell.vault, manifest);
      expect(problems.map((x) => x.index)).toEqual([2]);
      expect(problems[0]!.reason).toContain("does not match its name");
    } finally {
      writeFileSync(p, original);
    }
    expect(await verifyFile(cell.vault, manifest)).toEqual([]);
  });

  test("a chunk with a valid name but a forged tag is refused by the tag check", async () => {
    // Replace chunk 0's bytes AND rename them so name == SHA-256(bytes): only Poly1305 can catch it.
    const c0 = manifest.chunks[0]!;
    const p = join(cell.layout.chunks, c0.hash.slice(0, 2), c0.hash);
    const original = readFileSync(p);
    const forged = Buffer.from(original);
    forged[5]! ^= 1;
    const forgedName = toHex(cell.suite.sha256(forged));
    const fake = { ...manifest, chunks: [{ ...c0, hash: forgedName as typeof c0.hash }, ...manifest.chunks.slice(1)] };
    const fp = join(cell.layout.chunks, forgedName.slice(0, 2), forgedName);
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(cell.layout.chunks, forgedName.slice(0, 2)), { recursive: true });
    writeFileSync(fp, forged);
    await expect(restoreStream(cell.vault, fake)).rejects.toThrow(/authentication tag does not verify/);
    unlinkSync(fp);
  });

  test("a missing chunk is reported before any byte is sent", async () => {
    const c = manifest.chunks[3]!; // the short last one: a row of placement.db (store/chunk-store)
    const original = cell.store.readSync(c.hash as ChunkHash);
    expect(cell.store.remove(c.hash as ChunkHash)).toBe(original.byteLength);
    try {
      await expect(restoreStream(cell.vault, manifest)).rejects.toThrow(/chunk 3 .* is missing/);
      // A range that does not touch chunk 3 still works.
      const got = await readAll(await restoreStream(cell.vault, manifest, { start: 0, end: 99 }));
      expect(Buffer.compare(got, data.subarray(0, 100))).toBe(0);
    } finally {
      await cell.store.putStaged(c.hash as ChunkHash, original);
    }
  });
});

describe("delete", () => {
  test("moves a file to history: gone from the listing and GROVE_HOME, versions kept, chunks kept", async () => {
    const data = pseudoRandom(5000, 11);
    const r = await put("tmp/note.txt", data);
    const chunk = r.manifest.chunks[0]!.hash;
    await removeFile(cell.vault, safePath("tmp/note.txt"));
    expect(cell.db.current("tmp/note.txt")).toBeNull();
    expect(cell.db.list().some((f) => f.path === "tmp/note.txt")).toBe(false);
    expect(existsSync(join(cell.layout.home, "tmp", "note.txt"))).toBe(false);
    const versions = cell.db.versions("tmp/note.txt");
    expect(versions.map((v) => v.deleted)).toEqual([true, false]);
    expect(cell.store.size(chunk as ChunkHash)).toBe(5016);
    await expect(removeFile(cell.vault, safePath("tmp/note.txt"))).rejects.toMatchObject({ status: 404 });
  });
});
