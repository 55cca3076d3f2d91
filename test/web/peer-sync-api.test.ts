/**
 * /peer/sync/* under bad input, against a real cell: every malformed, forged, oversized or
 * misdirected request is refused with a clear 4xx and changes nothing; a peer only ever reaches
 * what is kept for it.
 */
import { chunkNames, hasChunk } from "../helpers/chunks.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import type { CellKeys } from "../../src/crypto/keys.ts";
import { callPeerRaw } from "../../src/net/peer-client.ts";
import { PeerLink } from "../../src/sync/peer-link.ts";
import { sealJson } from "../../src/protocol/sealed-json.ts";
import { encodeBackupBatch, info } from "../../src/sync/wire.ts";
import { toHex, type CellId, type ChunkHash } from "../../src/core/types.ts";
import { CHUNK_SIZE, TAG_SIZE } from "../../src/core/types.ts";

let a: TestCell, b: TestCell, c: TestCell, stranger: TestCell;
let bKeys: CellKeys, cKeys: CellKeys, sKeys: CellKeys, aId: CellId, aX: string;

const keysOf = (cell: TestCell) => loadKeys(resolveLayout({ GROVE_DIR: cell.dir, GROVE_HOME: cell.home }));
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex") as ChunkHash;
const chunk = (n: number, seed = 1) => {
  const x = new Uint8Array(n);
  for (let i = 0; i < n; i++) x[i] = (i * 31 + seed) & 0xff;
  return x;
};
const heldFiles = (cell: TestCell) => chunkNames(cell.dir);
const errorOf = (body: Uint8Array) => JSON.parse(new TextDecoder().decode(body)).error as string;

beforeAll(async () => {
  // A keeps at most 64 KiB for others, so the quota is easy to reach.
  [a, b, c, stranger] = await Promise.all([
    startCell({ config: { max_peer_storage_bytes: 65536, sync_interval_s: 3600 } }),
    startCell(),
    startCell(),
    startCell(),
  ]);
  for (const joiner of [b, c]) {
    const token = (await a.cli(["invite"])).stdout.trim();
    expect((await joiner.cli(["join", token])).code).toBe(0);
  }
  [bKeys, cKeys, sKeys] = [keysOf(b), keysOf(c), keysOf(stranger)];
  const ak = keysOf(a);
  aId = ak.id;
  aX = toHex(ak.x25519Public);
}, 120_000);

afterAll(async () => {
  await Promise.all([a, b, c, stranger].map(destroyCell));
});

const call = (keys: CellKeys, method: string, path: string, body?: unknown) => callPeerRaw(keys, a.url, aId, method, path, body);

describe("peer sync API: bad input changes nothing", () => {
  test("a chunk pushed by its owner is kept and can be fetched back by it only", async () => {
    const link = new PeerLink({ keys: bKeys, relay: null }, aId, a.url, aX);
    const bytes = chunk(1000);
    expect(await link.putChunk(sha(bytes), bytes)).toBe(true);
    expect(await link.putChunk(sha(bytes), bytes)).toBe(false); // already kept
    expect(Buffer.compare(Buffer.from(await link.getChunk(sha(bytes))), Buffer.from(bytes))).toBe(0);
    // Another peer of A cannot fetch it, audit it or release it.
    const other = new PeerLink({ keys: cKeys, relay: null }, aId, a.url, aX);
    await expect(other.getChunk(sha(bytes))).rejects.toThrow(/keeps no such chunk/);
    const audit = await other.audit({ challenges: [{ hash: sha(bytes), nonce: "00".repeat(16) }] });
    expect(audit.proofs).toEqual([{ hash: sha(bytes), proof: null, reason: "not held" }]);
    expect(await other.release([sha(bytes)])).toBe(0);
    expect(await link.getChunk(sha(bytes))).toBeDefined();
  });

  test("bytes that do not match the name (altered or truncated) are refused and not stored", async () => {
    const before = heldFiles(a).length;
    const bytes = chunk(2000, 2);
    const altered = bytes.slice();
    altered[10] ^= 1;
    const r1 = await call(bKeys, "PUT", `/peer/sync/chunks/${sha(bytes)}`, altered);
    expect(r1.status).toBe(400);
    expect(errorOf(r1.body)).toContain("do not match");
    const r2 = await call(bKeys, "PUT", `/peer/sync/chunks/${sha(bytes)}`, bytes.subarray(0, 1500));
    expect(r2.status).toBe(400);
    const r3 = await call(bKeys, "PUT", "/peer/sync/chunks/not-a-hash", bytes);
    expect(r3.status).toBe(400);
    const r4 = await call(bKeys, "PUT", `/peer/sync/chunks/${sha(new Uint8Array(8))}`, new Uint8Array(8));
    expect(r4.status).toBe(400);
    expect(heldFiles(a).length).toBe(before);
  });

  test("an oversized chunk is refused with 413 before it is read", async () => {
    const big = new Uint8Array(CHUNK_SIZE + TAG_SIZE + 1);
    const r = await call(bKeys, "PUT", `/peer/sync/chunks/${sha(big)}`, big);
    expect(r.status).toBe(413);
  });

  test("past max_peer_storage_bytes a chunk is refused with 507 and a reason", async () => {
    const before = heldFiles(a).length;
    const big = chunk(70_000, 3);
    const r = await call(bKeys, "PUT", `/peer/sync/chunks/${sha(big)}`, big);
    expect(r.status).toBe(507);
    expect(errorOf(r.body)).toContain("max_peer_storage_bytes");
    expect(heldFiles(a).length).toBe(before);
    expect(hasChunk(a.dir, sha(big))).toBe(false);
  });

  test("an unknown cell and a forged signature are refused (401)", async () => {
    const bytes = chunk(100, 4);
    const unknown = await call(sKeys, "PUT", `/peer/sync/chunks/${sha(bytes)}`, bytes);
    expect(unknown.status).toBe(401);
    const forged = { ...bKeys, ed25519Secret: sKeys.ed25519Secret };
    const f = await call(forged, "PUT", `/peer/sync/chunks/${sha(bytes)}`, bytes);
    expect(f.status).toBe(401);
    const plain = await fetch(`${a.url}/peer/sync/inventory`, { method: "POST", body: "{}" });
    expect(plain.status).toBe(401);
  });

  test("sealed requests: not sealed, sealed for another purpose, or not matching the schema -> 400", async () => {
    const notSealed = await call(bKeys, "POST", "/peer/sync/inventory", { chunks: "00".repeat(32), backups: "00".repeat(32) });
    expect(notSealed.status).toBe(400);
    expect(errorOf(notSealed.body)).toContain("not a message sealed");
    const ax = Buffer.from(aX, "hex");
    const wrongLabel = await sealJson(ax, { chunks: [], backups: [] }, info("audit"), bKeys.id);
    expect((await call(bKeys, "POST", "/peer/sync/list", wrongLabel)).status).toBe(400);
    const badSchema = await sealJson(ax, { chunks: [999], backups: [] }, info("list"), bKeys.id);
    const r = await call(bKeys, "POST", "/peer/sync/list", badSchema);
    expect(r.status).toBe(400);
    expect(errorOf(r.body)).toContain("bad list request");
    // Sealed by B but sent as C: the additional data names the sender, so it does not open.
    const asB = await sealJson(ax, { chunks: [], backups: [] }, info("list"), bKeys.id);
    expect((await call(cKeys, "POST", "/peer/sync/list", asB)).status).toBe(400);
    const badCard = await sealJson(
      ax,
      { card: { id: "x" }, chunks: "00".repeat(32), backups: "00".repeat(32) },
      info("inventory"),
      bKeys.id,
    );
    const rc = await call(bKeys, "POST", "/peer/sync/inventory", badCard);
    expect(rc.status).toBe(400);
    expect(errorOf(rc.body)).toContain("card");
  });

  test("backups: a peer reads back only its own; a bad name is refused", async () => {
    const ok = await call(
      bKeys,
      "POST",
      "/peer/sync/backups",
      encodeBackupBatch([{ kind: "manifest", name: "ab".repeat(32), blob: new Uint8Array(10).fill(7) }]),
    );
    expect(ok.status).toBe(200);
    const back = await call(bKeys, "GET", `/peer/sync/backup/${"ab".repeat(32)}`);
    expect(back.status).toBe(200);
    expect(Buffer.from(back.body)).toEqual(Buffer.from(new Uint8Array(10).fill(7)));
    expect((await call(cKeys, "GET", `/peer/sync/backup/${"ab".repeat(32)}`)).status).toBe(404);
    expect((await call(cKeys, "GET", "/peer/sync/backup/index")).status).toBe(404);
    const bad = await call(bKeys, "GET", "/peer/sync/backup/..%2F..%2Fconfig.json");
    expect(bad.status).toBe(400);
    expect(errorOf(bad.body)).toContain("64-hex backup name");
  });

  test("backup batches: malformed frames are refused and store nothing; a good batch stores all", async () => {
    const frame = (name: string, blob: Uint8Array, kind: "manifest" | "index" = "manifest") => ({ kind, name, blob });
    const good = encodeBackupBatch([
      frame("c1".repeat(32), new Uint8Array(20).fill(1)),
      frame("c2".repeat(32), new Uint8Array(30).fill(2)),
      frame("c3".repeat(32), new Uint8Array(9).fill(3), "index"),
    ]);
    for (const [bad, why] of [
      [good.subarray(0, good.byteLength - 1), "runs past the end"],
      [good.subarray(0, 10), "truncated"],
      [new Uint8Array([7, ...good.subarray(1)]), "unknown kind"],
      [encodeBackupBatch([frame("c4".repeat(32), new Uint8Array(0))]), "empty blob"],
      [new Uint8Array(0), "no frames"],
    ] as const) {
      const r = await call(bKeys, "POST", "/peer/sync/backups", bad);
      expect(r.status).toBe(400);
      expect(errorOf(r.body)).toContain(why);
    }
    expect((await call(bKeys, "GET", `/peer/sync/backup/${"c1".repeat(32)}`)).status).toBe(404);
    const two = encodeBackupBatch([
      frame("c1".repeat(32), new Uint8Array(20).fill(1)),
      frame("c3".repeat(32), new Uint8Array(9).fill(3), "index"),
      frame("c5".repeat(32), new Uint8Array(9).fill(5), "index"),
    ]);
    expect((await call(bKeys, "POST", "/peer/sync/backups", two)).status).toBe(400); // one index per batch
    const ok = await call(bKeys, "POST", "/peer/sync/backups", good);
    expect(ok.status).toBe(200);
    const got = await call(bKeys, "GET", "/peer/sync/backup/index");
    expect(Buffer.from(got.body)).toEqual(Buffer.from(new Uint8Array(9).fill(3)));
    expect((await call(bKeys, "GET", `/peer/sync/backup/${"c2".repeat(32)}`)).status).toBe(200);
  });

  test("a backup batch may be larger than other peer requests (up to 16 MiB), not more", async () => {
    // A keeps only 64 KiB for others: a 2 MiB batch passes the body limit and meets the quota (507).
    const big = encodeBackupBatch([{ kind: "manifest", name: "d1".repeat(32), blob: new Uint8Array(2 * 1024 * 1024).fill(9) }]);
    const r = await call(bKeys, "POST", "/peer/sync/backups", big);
    expect(r.status).toBe(507);
    const huge = encodeBackupBatch([{ kind: "manifest", name: "d2".repeat(32), blob: new Uint8Array(16 * 1024 * 1024 + 1) }]);
    expect((await call(bKeys, "POST", "/peer/sync/backups", huge)).status).toBe(413);
  });
});
