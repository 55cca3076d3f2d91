/**
 * POST /peer/sync/audit against a real keeping cell, by peers that attack it: an audit reads each
 * challenged chunk into a reused buffer (web/peer-sync-api), so two owners auditing at once, and
 * an owner challenging another owner's chunk, must each get proofs of their own chunks only; a
 * chunk damaged on disk is answered "damaged" and dropped, while every other proof stays right.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { hasChunk, rotChunk } from "../helpers/chunks.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import { toHex, type CellId, type ChunkHash } from "../../src/core/types.ts";
import { PeerLink } from "../../src/sync/peer-link.ts";
import { auditProof } from "../../src/sync/wire.ts";

let keeper: TestCell, b: TestCell, c: TestCell;
let linkB: PeerLink, linkC: PeerLink;

const sha = (x: Uint8Array) => createHash("sha256").update(x).digest("hex") as ChunkHash;
const keysOf = (cell: TestCell) => loadKeys(resolveLayout({ GROVE_DIR: cell.dir, GROVE_HOME: cell.home }));
/** Chunks kept as files (over 64 KiB: not rows), each with its own bytes. */
const large = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array(randomBytes(300 * 1024 + i * 4099)));
const nonce = () => randomBytes(16).toString("hex");
const heldFor = (owner: TestCell) => {
  const db = new Database(join(keeper.dir, "placement.db"), { readonly: true });
  try {
    const id = keysOf(owner).id;
    return new Set((db.query("SELECT chunk_hash FROM held WHERE owner = ?").all(id) as { chunk_hash: string }[]).map((r) => r.chunk_hash));
  } finally {
    db.close();
  }
};

let ofB: Uint8Array[], ofC: Uint8Array[];

beforeAll(async () => {
  [keeper, b, c] = await Promise.all([startCell({ config: { sync_interval_s: 3600 } }), startCell(), startCell()]);
  for (const joiner of [b, c]) {
    const token = (await keeper.cli(["invite"])).stdout.trim();
    expect((await joiner.cli(["join", token])).code).toBe(0);
  }
  const k = keysOf(keeper);
  const id = k.id as CellId;
  const x = toHex(k.x25519Public);
  linkB = new PeerLink({ keys: keysOf(b), relay: null }, id, keeper.url, x);
  linkC = new PeerLink({ keys: keysOf(c), relay: null }, id, keeper.url, x);
  ofB = large(3);
  ofC = large(2);
  for (const bytes of ofB) expect(await linkB.putChunk(sha(bytes), bytes)).toBe(true);
  for (const bytes of ofC) expect(await linkC.putChunk(sha(bytes), bytes)).toBe(true);
  for (const bytes of [...ofB, ...ofC]) expect(hasChunk(keeper.dir, sha(bytes))).toBe(true);
}, 120_000);

afterAll(async () => {
  await Promise.all([keeper, b, c].map(destroyCell));
});

/** Audit `link` for `chunks` (and `foreign`, which it does not own); check every answer. */
async function auditAndCheck(link: PeerLink, chunks: Uint8Array[], foreign: Uint8Array[]): Promise<void> {
  const mine = chunks.map((bytes) => ({ bytes, hash: sha(bytes), nonce: nonce() }));
  const theirs = foreign.map((bytes) => ({ hash: sha(bytes), nonce: nonce() }));
  const ans = await link.audit({ challenges: [...mine, ...theirs].map(({ hash, nonce }) => ({ hash, nonce })) });
  expect(ans.proofs.length).toBe(mine.length + theirs.length);
  mine.forEach((m, i) => expect(ans.proofs[i]).toEqual({ hash: m.hash, proof: auditProof(m.nonce, m.bytes) }));
  theirs.forEach((t, i) => expect(ans.proofs[mine.length + i]).toEqual({ hash: t.hash, proof: null, reason: "not held" }));
}

test("two owners auditing at once, each also challenging the other's chunks, get proofs of their own chunks only", async () => {
  for (let round = 0; round < 5; round++)
    await Promise.all([auditAndCheck(linkB, ofB, ofC), auditAndCheck(linkC, ofC, ofB), auditAndCheck(linkB, [...ofB].reverse(), [])]);
  // Nothing was dropped by being audited.
  expect(heldFor(b).size).toBe(3);
  expect(heldFor(c).size).toBe(2);
});

test("a chunk damaged on the keeper's disk is answered 'damaged' and dropped; the proofs around it stay right", async () => {
  const victim = ofB[1]!;
  rotChunk(keeper.dir, sha(victim), 1234);
  const n = [nonce(), nonce(), nonce()];
  const [ansB] = await Promise.all([
    linkB.audit({ challenges: ofB.map((bytes, i) => ({ hash: sha(bytes), nonce: n[i]! })) }),
    auditAndCheck(linkC, ofC, []),
  ]);
  expect(ansB.proofs[0]).toEqual({ hash: sha(ofB[0]!), proof: auditProof(n[0]!, ofB[0]!) });
  expect(ansB.proofs[1]).toEqual({ hash: sha(victim), proof: null, reason: "damaged" });
  expect(ansB.proofs[2]).toEqual({ hash: sha(ofB[2]!), proof: auditProof(n[2]!, ofB[2]!) });
  expect(heldFor(b).has(sha(victim))).toBe(false);
  expect(hasChunk(keeper.dir, sha(victim))).toBe(false);
  expect(keeper.output()).toContain("audit: a chunk kept for a peer is missing or damaged; dropped");
});
