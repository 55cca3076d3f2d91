// ingest/settler on a real placement.db and manifests/ folder: what a store left for later (a
// manifest's file) is written once the store has been quiet, within maxWaitMs even when stores
// never pause, and never after stop().
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FileHash, ManifestHash } from "../../src/core/types.ts";
import { Settler } from "../../src/ingest/settler.ts";
import { PlacementDb } from "../../src/store/placement-db.ts";

let dir: string;
let manifests: string;
let home: string;
let db: PlacementDb;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "grove-settler-"));
  manifests = join(dir, "manifests");
  home = join(dir, "home");
  mkdirSync(manifests);
  mkdirSync(home);
  db = new PlacementDb(join(dir, "placement.db"));
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A version recorded with its manifest's file pending, as a store leaves it. */
function storePending(n: number): { rel: string; body: string } {
  const fileHash = n.toString(16).padStart(64, "0") as FileHash;
  const rel = `s/n${n}.txt.${fileHash.slice(0, 8)}.json`;
  const body = `{"n":${n}}\n`;
  db.addVersion({
    path: `s/n${n}.txt`,
    manifestHash: (n + 5000).toString(16).padStart(64, "0") as ManifestHash,
    manifestFile: rel,
    fileHash,
    totalSize: 0,
    owner: "a".repeat(64),
    chunks: [],
    createdAt: 1_700_000_000_000 + n,
    pendingBody: body,
  });
  return { rel, body };
}

test("a manifest's file is written once the store has been quiet", async () => {
  const settler = new Settler(db, { manifests, home }, 50, 10_000);
  const m = storePending(1);
  settler.soon();
  expect(existsSync(join(manifests, m.rel))).toBe(false);
  // Written by the timer alone (no call to now(), which would settle it whatever the timer did).
  const end = Date.now() + 5000;
  while (db.pendingManifestBody(m.rel) !== null && Date.now() < end) await Bun.sleep(20);
  expect(readFileSync(join(manifests, m.rel), "utf8")).toBe(m.body);
  expect(db.pendingManifestBody(m.rel)).toBeNull();
  settler.stop();
});

test("stores that never pause put it off at most maxWaitMs", async () => {
  const settler = new Settler(db, { manifests, home }, 200, 400);
  const m = storePending(2);
  // A store every 50 ms for 1.5 s: never 200 ms of quiet.
  let written: number | null = null;
  const t0 = Date.now();
  try {
    while (Date.now() - t0 < 1500) {
      settler.soon();
      if (written === null && existsSync(join(manifests, m.rel))) written = Date.now() - t0;
      await Bun.sleep(50);
    }
  } finally {
    settler.stop();
  }
  expect(written).not.toBeNull(); // without the cap it waits for the first quiet moment
  expect(readFileSync(join(manifests, m.rel), "utf8")).toBe(m.body);
});

test("after stop(), soon() settles nothing (the database may be closed)", async () => {
  const settler = new Settler(db, { manifests, home }, 20, 40);
  settler.stop();
  const m = storePending(3);
  settler.soon();
  await Bun.sleep(200);
  expect(existsSync(join(manifests, m.rel))).toBe(false);
  expect(db.pendingManifestBody(m.rel)).toBe(m.body);
});
