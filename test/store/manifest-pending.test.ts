// A manifest whose text is committed before its file is written (store/manifest-settle): readers
// find the text in placement.db meanwhile (store/manifest manifestText), its name counts as taken,
// and settling writes the file, makes it durable and forgets the row. On a real placement.db and
// manifests/ folder.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FileHash, ManifestHash } from "../../src/core/types.ts";
import { manifestNameTaken, settlePending } from "../../src/store/manifest-settle.ts";
import { findPendingManifests, manifestText, readManifest } from "../../src/store/manifest.ts";
import { PlacementDb } from "../../src/store/placement-db.ts";

let dir: string;
let manifests: string;
let db: PlacementDb;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "grove-manifest-pending-"));
  manifests = join(dir, "manifests");
  mkdirSync(manifests);
  db = new PlacementDb(join(dir, "placement.db"));
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const OWNER = "a".repeat(64);
/** A manifest body as a store writes it, recorded as a version with its file pending (not written). */
function recordPending(n: number): { rel: string; body: string } {
  const fileHash = n.toString(16).padStart(64, "0") as FileHash;
  const manifest = {
    format: 1,
    filename: `n${n}.txt`,
    source_path: `docs/n${n}.txt`,
    total_size: 0,
    file_hash: fileHash,
    chunks: [],
    encryption: {
      cipher: "chacha20-poly1305-ietf",
      kdf: "hkdf-sha256",
      kdf_info: "grove",
      nonce: "chunk-index-96-be",
      chunk_size: 4 << 20,
    },
    version: 1,
    created_at: new Date(1_700_000_000_000 + n).toISOString(),
    synced_at: null,
    owner: OWNER,
  };
  const body = `${JSON.stringify(manifest, null, 1)}\n`;
  const rel = `docs/n${n}.txt.${fileHash.slice(0, 8)}.json`;
  db.addVersion({
    path: manifest.source_path,
    manifestHash: (n + 1000).toString(16).padStart(64, "0") as ManifestHash,
    manifestFile: rel,
    fileHash,
    totalSize: 0,
    owner: OWNER,
    chunks: [],
    createdAt: Date.parse(manifest.created_at),
    pendingBody: body,
  });
  return { rel, body };
}

test("before its file is written, a committed manifest is read from placement.db; without the lookup it is missing", () => {
  const m = recordPending(1);
  expect(existsSync(join(manifests, m.rel))).toBe(false);
  expect(() => manifestText(manifests, m.rel)).toThrow(/missing/); // nobody told readers where to look
  findPendingManifests(manifests, (rel) => db.pendingManifestBody(rel));
  expect(manifestText(manifests, m.rel)).toBe(m.body);
  expect(readManifest(manifests, m.rel).source_path).toBe("docs/n1.txt");
  expect(() => manifestText(manifests, "docs/none.json")).toThrow(/missing/);
  expect(() => manifestText(manifests, "../escape.json")).toThrow(); // still confined to manifests/
});

test("a pending manifest's name is taken before its file exists", () => {
  const m = recordPending(5);
  expect(existsSync(join(manifests, m.rel))).toBe(false);
  expect(manifestNameTaken(db, manifests, m.rel)).toBe(true);
  expect(manifestNameTaken(db, manifests, "docs/n5.txt.ffffffff.json")).toBe(false);
});

test("settling writes the files stores left unwritten, makes them durable and forgets their rows", async () => {
  // Whatever an earlier test left pending is settled first (written from its text).
  await settlePending(db, manifests);
  const ms = [recordPending(2), recordPending(4)];
  for (const m of ms) expect(existsSync(join(manifests, m.rel))).toBe(false);
  expect(await settlePending(db, manifests)).toBe(2);
  for (const m of ms) {
    expect(readFileSync(join(manifests, m.rel), "utf8")).toBe(m.body);
    expect(db.pendingManifestBody(m.rel)).toBeNull();
    expect(manifestText(manifests, m.rel)).toBe(m.body); // from its file now
  }
  expect(await settlePending(db, manifests)).toBe(0);
});

test("a file that cannot be written stays pending and readable, and settling writes it once it can", async () => {
  const m = recordPending(3);
  // Its folder is a file: the write fails, the row stays.
  const blocker = join(manifests, "blocked");
  await Bun.write(blocker, "not a folder");
  const rel = "blocked/deeper/n3.json";
  db.db.query("UPDATE manifests SET manifest_file = ? WHERE manifest_file = ?").run(rel, m.rel);
  db.db.query("UPDATE manifest_pending SET manifest_file = ? WHERE manifest_file = ?").run(rel, m.rel);
  await expect(settlePending(db, manifests)).rejects.toThrow();
  expect(db.pendingManifestBody(rel)).toBe(m.body);
  expect(manifestText(manifests, rel)).toBe(m.body); // still readable
  // The folder fixed, settling writes the file (and its new folders) from placement.db.
  rmSync(blocker);
  expect(await settlePending(db, manifests)).toBe(1);
  expect(readFileSync(join(manifests, rel), "utf8")).toBe(m.body);
  expect(db.pendingManifestBody(rel)).toBeNull();
});
