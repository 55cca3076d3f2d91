/**
 * The backup blob (protocol/backup-blob, format 2) and what sync/backup builds on it: only a blob
 * made with the owner's backup key, for that kind, manifest and owner, opens. Tampered bytes, a
 * swapped kind or name, another owner or key, the old HPKE format: refused. Plus the holder's
 * clean-up of format-1 blobs once an owner's format-2 index arrives.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  BACKUP_FORMAT,
  BACKUP_OVERHEAD,
  backupKeys,
  backupName,
  BackupRefusedError,
  LEGACY_BACKUP_FORMAT,
  openBackup,
  sealBackup,
  type BackupKeys,
} from "../../src/protocol/backup-blob.ts";
import { sealTo } from "../../src/protocol/seal.ts";
import { BACKUP_INFO } from "../../src/protocol/labels.ts";
import { deriveIdentity } from "../../src/crypto/keys.ts";
import type { CellId, ManifestHash } from "../../src/core/types.ts";
import { ingest } from "../../src/ingest/ingest.ts";
import { safePath } from "../../src/ingest/home-path.ts";
import {
  currentIndex,
  importManifest,
  manifestBackupName,
  openIndex,
  openManifest,
  sealIndex,
  sealManifest,
  type BackupContext,
} from "../../src/sync/backup.ts";
import { PeerStore } from "../../src/fleet/peer-store.ts";
import { manifestHash, type Manifest } from "../../src/store/manifest.ts";
import { openTempCell, streamOf } from "../helpers/vault.ts";

const enc = new TextEncoder();
const id = (n: number) => n.toString(16).padStart(2, "0").repeat(32) as CellId;
const hashA = "aa".repeat(32);
const hashB = "bb".repeat(32);

const master = new Uint8Array(randomBytes(32));
const keys: BackupKeys = backupKeys(id(1), master);

function refused(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BackupRefusedError);
    expect((e as BackupRefusedError).status).toBe(400);
    expect((e as Error).message).toContain("backup failed its authenticity check");
    return (e as Error).message;
  }
  throw new Error("not refused");
}

describe("the blob", () => {
  const plain = enc.encode(JSON.stringify({ source_path: "notes/today.txt", secret: "words" }));

  test("opens back as what was sealed; layout: version byte, 24-byte nonce, ciphertext and tag", () => {
    const blob = sealBackup(keys, "manifest", hashA, plain);
    expect(blob[0]).toBe(BACKUP_FORMAT);
    expect(blob.byteLength).toBe(plain.byteLength + BACKUP_OVERHEAD);
    expect(Buffer.from(openBackup(keys, "manifest", hashA, blob)).toString()).toBe(Buffer.from(plain).toString());
    expect(Buffer.from(blob).toString("latin1")).not.toContain("today.txt");
    // A fresh nonce each time: the same plaintext never gives the same blob.
    expect(Buffer.compare(blob, sealBackup(keys, "manifest", hashA, plain))).not.toBe(0);
  });

  test("a tampered byte anywhere (version, nonce, ciphertext, tag) is refused", () => {
    const blob = sealBackup(keys, "manifest", hashA, plain);
    for (const at of [0, 1, 24, 25, 25 + Math.floor(plain.byteLength / 2), blob.byteLength - 1]) {
      const bad = blob.slice();
      bad[at]! ^= at === 0 ? 0x07 : 0x01;
      refused(() => openBackup(keys, "manifest", hashA, bad));
    }
    refused(() => openBackup(keys, "manifest", hashA, blob.subarray(0, blob.byteLength - 1)));
    refused(() => openBackup(keys, "manifest", hashA, blob.subarray(0, 10)));
    refused(() => openBackup(keys, "manifest", hashA, new Uint8Array(0)));
    expect(refused(() => openBackup(keys, "manifest", hashA, Uint8Array.of(9, ...blob.subarray(1))))).toContain("unknown backup format 9");
  });

  test("a swapped kind, a swapped name (another manifest), another owner or another key: refused", () => {
    const asManifest = sealBackup(keys, "manifest", hashA, plain);
    const asIndex = sealBackup(keys, "index", "", plain);
    refused(() => openBackup(keys, "index", "", asManifest));
    refused(() => openBackup(keys, "manifest", hashA, asIndex));
    refused(() => openBackup(keys, "manifest", hashB, asManifest));
    // The same master key under another owner id (a blob copied between cells' names).
    refused(() => openBackup(backupKeys(id(2), master), "manifest", hashA, asManifest));
    // A stranger's key: it has the card, not the words.
    const stranger = backupKeys(id(1), new Uint8Array(randomBytes(32)));
    refused(() => openBackup(keys, "manifest", hashA, sealBackup(stranger, "manifest", hashA, plain)));
  });

  test("format 1 (HPKE to the owner's public key, which any card holder can make) is refused", async () => {
    const ident = deriveIdentity(new Uint8Array(randomBytes(32)));
    const legacy = await sealTo(ident.x25519Public, plain, BACKUP_INFO, `${id(1)}/manifest`);
    expect(legacy[0]).toBe(LEGACY_BACKUP_FORMAT);
    expect(refused(() => openBackup(keys, "manifest", hashA, legacy))).toContain("old format 1");
  });

  test("names: 64 hex, keyed (a stranger cannot compute them), distinct per kind and subject, not the manifest hash", () => {
    const n = backupName(keys, "manifest", hashA);
    expect(n).toMatch(/^[0-9a-f]{64}$/);
    expect(n).toBe(backupName(keys, "manifest", hashA));
    expect(n).not.toBe(hashA);
    expect(n).not.toBe(backupName(keys, "index", hashA));
    expect(n).not.toBe(backupName(keys, "manifest", hashB));
    expect(n).not.toBe(backupName(backupKeys(id(1), new Uint8Array(randomBytes(32))), "manifest", hashA));
  });
});

describe("sync/backup on a real (in-process) cell", () => {
  let cell: ReturnType<typeof openTempCell>;
  let ctx: BackupContext;
  let hashes: ManifestHash[] = [];

  beforeAll(async () => {
    cell = openTempCell();
    ctx = { keys: cell.keys, db: cell.db, peers: new PeerStore(cell.db.db), manifestsDir: cell.layout.manifests };
    for (const [p, text] of [
      ["a.txt", "alpha"],
      ["b/b.txt", "beta"],
    ] as const) {
      const r = await ingest(cell.vault, safePath(p), streamOf(enc.encode(text)), { maxBytes: 1 << 20 });
      hashes.push(r.manifest_hash);
    }
  });
  afterAll(() => cell.destroy());

  test("a manifest backup opens under its own name only", () => {
    const [a, b] = hashes as [ManifestHash, ManifestHash];
    const blobA = sealManifest(ctx, a)!;
    expect(openManifest(ctx, a, blobA).source_path).toBe("a.txt");
    expect(manifestBackupName(ctx, a)).not.toBe(a);
    // The peer keeps A's blob under B's name: it does not open as B.
    refused(() => openManifest(ctx, b, blobA));
  });

  test("the index opens; as a manifest it does not", () => {
    const { index } = currentIndex(ctx);
    const blob = sealIndex(ctx, index);
    expect(openIndex(ctx, blob).versions.length).toBe(2);
    refused(() => openManifest(ctx, hashes[0]!, blob));
    refused(() => openIndex(ctx, sealManifest(ctx, hashes[0]!)!));
  });

  test("an index or manifest naming a path outside is refused even when it opens (our own key)", () => {
    const { index } = currentIndex(ctx);
    const evil = { ...index, versions: [["../../evil", 1, hashes[0]!, 1]] };
    expect(() =>
      openIndex(ctx, sealBackup(backupKeys(cell.keys.id, cell.keys.masterKey), "index", "", enc.encode(JSON.stringify(evil)))),
    ).toThrow(/'\.\.'/);
    const m = {
      ...(JSON.parse(JSON.stringify(openManifest(ctx, hashes[0]!, sealManifest(ctx, hashes[0]!)!))) as Manifest),
      source_path: "../../evil",
    };
    const h = manifestHash(m, cell.suite.sha256);
    expect(() =>
      openManifest(ctx, h, sealBackup(backupKeys(cell.keys.id, cell.keys.masterKey), "manifest", h, enc.encode(JSON.stringify(m)))),
    ).toThrow(/'\.\.'/);
    // And importManifest confines the file whatever it is given.
    expect(() => importManifest(ctx, h, m)).toThrow(/leads outside/);
    expect(existsSync(join(cell.root, "evil." + m.file_hash.slice(0, 8) + ".json"))).toBe(false);
  });
});

describe("a holder on this build", () => {
  let cell: ReturnType<typeof openTempCell>;
  beforeAll(() => (cell = openTempCell()));
  afterAll(() => cell.destroy());

  test("drops an owner's format-1 manifest blobs when that owner's format-2 index arrives; others' stay", () => {
    const owner = id(7);
    const other = id(8);
    const v1 = (n: number) => Uint8Array.of(LEGACY_BACKUP_FORMAT, ...randomBytes(40 + n));
    const v2 = (n: number) => Uint8Array.of(BACKUP_FORMAT, ...randomBytes(60 + n));
    cell.held.putBackups(owner, [
      { kind: "manifest", name: "01".repeat(32), blob: v1(1) },
      { kind: "manifest", name: "02".repeat(32), blob: v1(2) },
      { kind: "index", name: "03".repeat(32), blob: v1(3) },
    ]);
    cell.held.putBackups(other, [{ kind: "manifest", name: "01".repeat(32), blob: v1(4) }]);
    // The new manifests first (an index-less batch drops nothing), then the index.
    cell.held.putBackups(owner, [{ kind: "manifest", name: "11".repeat(32), blob: v2(1) }]);
    expect(cell.held.backupsOf(owner).length).toBe(4);
    cell.held.putBackups(owner, [{ kind: "index", name: "13".repeat(32), blob: v2(3) }], { dropFormat: LEGACY_BACKUP_FORMAT });
    expect(cell.held.backupsOf(owner)).toEqual([
      { name: "11".repeat(32), kind: "manifest" },
      { name: "13".repeat(32), kind: "index" },
    ]);
    expect(cell.held.backupsOf(other).length).toBe(1);
    expect(cell.held.totalBytes()).toBe(62 + 64 + 45);
  });
});
