/**
 * Grants under bad input, against a real recipient cell: a forged signature, a grant from a
 * cell that is not a friend, a tampered sealed key, a grant naming an unknown manifest, and an
 * oversized grant are each refused with a reason, and nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { befriend } from "../helpers/friends.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import type { CellKeys } from "../../src/crypto/keys.ts";
import { callPeerRaw } from "../../src/net/peer-client.ts";
import { makeGrant, type Grant } from "../../src/protocol/grant.ts";
import { sealJson } from "../../src/protocol/sealed-json.ts";
import { SHARE_INFO } from "../../src/protocol/labels.ts";
import { canonicalJson } from "../../src/core/canonical-json.ts";
import { sign } from "../../src/crypto/keys.ts";
import { deriveFileKey } from "../../src/crypto/keys.ts";
import { toHex, type CellId, type ManifestHash } from "../../src/core/types.ts";
import type { Manifest } from "../../src/store/manifest.ts";

let a: TestCell, b: TestCell, e: TestCell;
let aKeys: CellKeys, bKeys: CellKeys, eKeys: CellKeys;
let manifest: Manifest, manifestHash: ManifestHash;

const keysOf = (cell: TestCell) => loadKeys(resolveLayout({ GROVE_DIR: cell.dir, GROVE_HOME: cell.home }));

beforeAll(async () => {
  [a, b, e] = await Promise.all([startCell(), startCell(), startCell()]);
  for (const x of [a, e]) {
    const token = (await b.cli(["invite"])).stdout.trim();
    expect((await x.cli(["join", token])).code).toBe(0);
  }
  [aKeys, bKeys, eKeys] = [keysOf(a), keysOf(b), keysOf(e)];
  await befriend(a, b); // A is B's friend, E is not
  const src = join(a.root, "note.txt");
  writeFileSync(src, "a note for b\n");
  expect((await a.cli(["put", src, "--as", "note.txt"])).code).toBe(0);
  const meta = (await (await a.api("/api/files/note.txt?meta")).json()) as { manifest: Manifest; current: { manifest_hash: ManifestHash } };
  manifest = meta.manifest;
  manifestHash = meta.current.manifest_hash;
}, 120_000);

afterAll(async () => {
  await Promise.all([a, b, e].map(destroyCell));
});

async function made(keys: CellKeys = aKeys) {
  return makeGrant({
    creatorSecret: keys.ed25519Secret,
    creator: keys.id,
    recipient: bKeys.id,
    recipientX25519: bKeys.x25519Public,
    manifestHash,
    fileKey: deriveFileKey(keys.masterKey, manifest.file_hash),
    chunks: manifest.chunks.map((c) => c.hash),
    filename: manifest.filename,
    fileType: "text/plain",
    totalSize: manifest.total_size,
    expiresAt: null,
  });
}

/** Re-sign an altered grant with its creator's key (so only the altered part is wrong). */
function resign(g: Grant, keys: CellKeys = aKeys): Grant {
  const { signature: _, ...rest } = g;
  return { ...rest, signature: toHex(sign(keys.ed25519Secret, new TextEncoder().encode(canonicalJson(rest)))) };
}

async function deliver(body: unknown, from: CellKeys = aKeys) {
  const sealed = await sealJson(bKeys.x25519Public, body, SHARE_INFO, from.id);
  const ans = await callPeerRaw(from, b.url, bKeys.id as CellId, "POST", "/peer/share/grant", sealed);
  return { status: ans.status, error: String((JSON.parse(new TextDecoder().decode(ans.body)) as { error?: string }).error ?? "") };
}

async function nothingStored() {
  expect(JSON.parse((await b.cli(["feed", "--json"])).stdout)).toEqual([]);
  expect(existsSync(join(b.dir, "grants")) ? readdirSync(join(b.dir, "grants")).filter((f) => f.endsWith(".json")) : []).toEqual([]);
}

describe("grants under bad input", () => {
  test("a forged signature (the grant altered after signing)", async () => {
    const { grant, pass } = await made();
    const r = await deliver({ grant: { ...grant, filename: "other.txt" }, pass, manifest });
    expect(r.status).toBe(400);
    expect(r.error).toContain("signature does not verify");
    await nothingStored();
  });

  test("a grant from a cell that is not a friend", async () => {
    const { grant, pass } = await made(eKeys);
    const r = await deliver({ grant, pass, manifest: { ...manifest, owner: eKeys.id } }, eKeys);
    expect(r.status).toBe(403);
    expect(r.error).toContain("not a friend");
    await nothingStored();
  });

  test("a tampered sealed key", async () => {
    const { grant, pass } = await made();
    const k = grant.encrypted_file_key;
    const tampered = resign({ ...grant, encrypted_file_key: k.slice(0, 50) + (k[50] === "A" ? "B" : "A") + k.slice(51) });
    const r = await deliver({ grant: tampered, pass, manifest });
    expect(r.status).toBe(400);
    expect(r.error).toContain("file key does not open");
    await nothingStored();
  });

  test("a grant naming an unknown manifest", async () => {
    const { grant, pass } = await made();
    const r = await deliver({ grant: resign({ ...grant, manifest_hash: "ab".repeat(32) }), pass, manifest });
    expect(r.status).toBe(400);
    expect(r.error).toContain("unknown manifest");
    await nothingStored();
  });

  test("an oversized grant", async () => {
    const { grant, pass } = await made();
    const r = await deliver({ grant: { ...grant, filename: "x".repeat(10_000) }, pass, manifest });
    expect(r.status).toBe(413);
    expect(r.error).toContain("larger than");
    const huge = await deliver({ grant, pass, manifest, padding: "y".repeat(2 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    await nothingStored();
  });

  test("the same grant, untouched, is accepted (the cases above fail for their own reason)", async () => {
    const { grant, pass, id } = await made();
    const r = await deliver({ grant, pass, manifest });
    expect(r.status).toBe(200);
    const feed = JSON.parse((await b.cli(["feed", "--json"])).stdout) as { id: string }[];
    expect(feed.map((f) => f.id)).toEqual([id]);
  });
});
