/**
 * Chunks in batches (POST /peer/sync/chunks, docs/protocol.md) with real cells on loopback: many
 * small files replicate in a few requests, every chunk durable and recorded on the peer; a peer on
 * a build without batches (404) still gets every chunk, one by one; a malformed batch (altered
 * bytes, a truncated frame, too many chunks) is refused with 400 and nothing of it is kept.
 */
import { hasChunk } from "../helpers/chunks.ts";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { callPeerRaw } from "../../src/net/peer-client.ts";
import { encodeChunkBatch, MAX_BATCH_CHUNKS, MAX_CHUNK_BATCH_BODY } from "../../src/sync/wire.ts";
import { signRequest } from "../../src/protocol/request-auth.ts";
import type { CellId } from "../../src/core/types.ts";
import type { SyncReport } from "../../src/sync/round.ts";

const config = { replication_factor: 3, sync_interval_s: 3600 };
let A: TestCell, B: TestCell, Old: TestCell;
const FILES = 60;

const heldFor = (holder: TestCell, owner: TestCell) => {
  const db = new Database(join(holder.dir, "placement.db"), { readonly: true });
  try {
    return (db.query("SELECT chunk_hash FROM held WHERE owner = ?").values(cellIdOf(owner)) as [string][]).map((r) => r[0]);
  } finally {
    db.close();
  }
};
const ownChunks = (c: TestCell) => {
  const db = new Database(join(c.dir, "placement.db"), { readonly: true });
  try {
    return (db.query("SELECT hash FROM chunks").values() as [string][]).map((r) => r[0]);
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  [A, B, Old] = await Promise.all([startCell({ config }), startCell({ config }), startCell({ config, env: { GROVE_PEER_NO_BATCH: "1" } })]);
  for (let i = 0; i < FILES; i++) {
    const r = await A.api(`/api/files/small/f${i}.txt`, { method: "PUT", body: new Uint8Array(randomBytes(4096 + i * 700)) });
    expect(r.status).toBeLessThan(300);
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([A, B, Old].map(destroyCell));
});

test("a peer on a build without batches (404) gets every chunk one by one", async () => {
  await pair(A, Old);
  const r = JSON.parse((await A.cli(["sync", "--json"])).stdout) as SyncReport;
  expect(r.errors).toEqual([]);
  expect(A.output()).toMatch(/takes chunks one by one/);
  const held = new Set(heldFor(Old, A));
  expect(held.size).toBe(ownChunks(A).length);
  expect(r.chunks_pushed).toBe(held.size);
});

test("60 small files reach a peer that takes batches: every chunk durable there and recorded", async () => {
  await pair(A, B);
  const logged = A.output().length;
  const r = JSON.parse((await A.cli(["sync", "--json"])).stdout) as SyncReport;
  expect(r.errors).toEqual([]);
  const own = ownChunks(A);
  expect(own.length).toBeGreaterThanOrEqual(FILES);
  expect(r.chunks_pushed).toBe(own.length);
  const held = new Set(heldFor(B, A));
  for (const h of own) {
    expect(held.has(h)).toBe(true);
    expect(hasChunk(B.dir, h)).toBe(true);
  }
  expect(A.output().slice(logged)).not.toMatch(/one by one/);
  const fsck = await A.cli(["fsck", "--json"]);
  expect(fsck.code).toBe(0);
});

test("a malformed batch is refused with 400 and nothing of it is kept", async () => {
  const keys = loadKeys(resolveLayout({ GROVE_DIR: A.dir, GROVE_HOME: A.home }));
  const B2 = B; // a cell that takes batches, whose peer A is
  {
    const post = (body: Uint8Array) => callPeerRaw(keys, B2.peerUrl, cellIdOf(B2) as CellId, "POST", "/peer/sync/chunks", body);
    const chunk = () => {
      const bytes = new Uint8Array(randomBytes(2000));
      return { hash: createHash("sha256").update(bytes).digest("hex"), bytes };
    };
    const before = heldFor(B2, A).length;
    const good = chunk();
    const altered = chunk();
    altered.bytes[5]! ^= 1;
    const refused = async (body: Uint8Array, why: RegExp) => {
      const ans = await post(body);
      expect(ans.status).toBe(400);
      expect(new TextDecoder().decode(ans.body)).toMatch(why);
    };
    await refused(encodeChunkBatch([good, altered]), /does not match its name/);
    await refused(encodeChunkBatch([good]).subarray(0, 1000), /runs past the end/);
    await refused(encodeChunkBatch(Array.from({ length: MAX_BATCH_CHUNKS + 1 }, () => chunk())), /more than 256 chunks/);
    await refused(new Uint8Array(0), /no chunks|body/);
    expect(heldFor(B2, A).length).toBe(before);
    expect(hasChunk(B2.dir, good.hash)).toBe(false);
    // The same chunk alone, well formed: stored.
    const ok = await post(encodeChunkBatch([good]));
    expect(ok.status).toBe(200);
    expect(JSON.parse(new TextDecoder().decode(ok.body))).toEqual({ results: ["stored"] });
    expect(heldFor(B2, A).length).toBe(before + 1);
  }
});

test("a batch streamed without a length past the limit gets 413, and a replayed batch 401: nothing of either is kept", async () => {
  const keys = loadKeys(resolveLayout({ GROVE_DIR: A.dir, GROVE_HOME: A.home }));
  const before = heldFor(B, A).length;
  const body = new Uint8Array(randomBytes(MAX_CHUNK_BATCH_BODY + 64 * 1024));
  const headers = signRequest(keys.ed25519Secret, keys.id, "POST", "/peer/sync/chunks", body, { to: cellIdOf(B) as CellId });
  const chunked = new ReadableStream<Uint8Array>({
    start(ctl) {
      for (let o = 0; o < body.byteLength; o += 256 * 1024) ctl.enqueue(body.subarray(o, o + 256 * 1024));
      ctl.close();
    },
  });
  const over = await fetch(`${B.peerUrl}/peer/sync/chunks`, { method: "POST", headers: { ...headers }, body: chunked }).catch(
    (e: Error) => e,
  );
  if (over instanceof Response) expect(over.status).toBe(413);
  else expect(over.message).toMatch(/reset|closed|EPIPE|socket/i); // the cell may close the socket mid-body
  // A good batch, then the same request (same nonce and signature) again.
  const bytes = new Uint8Array(randomBytes(3000));
  const batch = encodeChunkBatch([{ hash: createHash("sha256").update(bytes).digest("hex"), bytes }]);
  const signed = signRequest(keys.ed25519Secret, keys.id, "POST", "/peer/sync/chunks", batch, { to: cellIdOf(B) as CellId });
  const first = await fetch(`${B.peerUrl}/peer/sync/chunks`, {
    method: "POST",
    headers: { ...signed },
    body: batch as Uint8Array<ArrayBuffer>,
  });
  expect(first.status).toBe(200);
  const again = await fetch(`${B.peerUrl}/peer/sync/chunks`, {
    method: "POST",
    headers: { ...signed },
    body: batch as Uint8Array<ArrayBuffer>,
  });
  expect(again.status).toBe(401);
  expect(heldFor(B, A).length).toBe(before + 1);
});
