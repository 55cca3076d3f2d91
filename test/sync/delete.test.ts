/**
 * Safe deletion with real cells on loopback. A keeps its chunks on B (R=2); C keeps its own
 * chunks on B too. Delete -> purge on A -> at A's next round a signed DeleteRequest reaches B ->
 * B moves those chunks to its trash (not deleted) -> with trash_retention_s at 2 s the next
 * collection deletes them from disk, on B and on A. Chunks still referenced (another version,
 * another file with the same content, an active grant, the same chunk kept for another owner)
 * are never collected; forged or mismatched DeleteRequests are refused and change nothing; a
 * purge undone from the trash brings the chunks back to B; restarts (A killed with SIGKILL right
 * after purging, B restarted) keep the state consistent.
 */
import { hasChunk } from "../helpers/chunks.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cliJson, destroyCell, pair, putFile, startCell, type TestCell } from "../helpers/cell.ts";
import { befriend, cellIdOf } from "../helpers/friends.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import { until } from "../helpers/until.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import { deriveIdentity } from "../../src/crypto/keys.ts";
import { toHex, type CellId, type ChunkHash } from "../../src/core/types.ts";
import { PeerLink } from "../../src/sync/peer-link.ts";
import { PeerCallError } from "../../src/net/peer-client.ts";
import { makeDeleteRequest } from "../../src/protocol/delete-request.ts";
import type { SyncReport } from "../../src/sync/round.ts";
import type { TrashListing } from "../../src/trash/listing.ts";
import type { PurgeResult } from "../../src/trash/history.ts";

const LONG = { replication_factor: 2, sync_interval_s: 3600, audit_sample: 0, trash_retention_s: 3600 };
const SHORT = { ...LONG, trash_retention_s: 2 };

let a: TestCell, b: TestCell, c: TestCell;
const ids = new Map<TestCell, string>();
const keysOf = (cell: TestCell) => loadKeys(resolveLayout({ GROVE_DIR: cell.dir, GROVE_HOME: cell.home }));
const holds = (cell: TestCell, h: string) => hasChunk(cell.dir, h);

// Contents: X only in doomed.bin v1; P in doomed.bin v2 and other.bin; Q in twice.bin v1 and v3;
// G in shared.bin v1 (shared with B by an active grant); K in history.bin v1.
const X = pseudoRandom(5 * 1024 * 1024, 101); // two chunks
const P = pseudoRandom(200_000, 102);
const Q = pseudoRandom(150_000, 103);
const R = pseudoRandom(150_000, 104);
const G = pseudoRandom(120_000, 105);
const H = pseudoRandom(120_000, 106);
const K = pseudoRandom(100_000, 107);
const K2 = pseudoRandom(100_000, 108);
const CC = pseudoRandom(80_000, 109);
const chunksOf = new Map<string, string[]>();

/** Set-up: `data` stored as a new version of `path` on `cell` (through its API: `grove put` is tested elsewhere). */
async function put(cell: TestCell, path: string, data: Uint8Array): Promise<void> {
  expect((await putFile(cell, path, data)).created).toBe(true);
}

async function chunksAt(cell: TestCell, path: string, version: number): Promise<string[]> {
  const meta = (await (await cell.api(`/api/files/${path}?meta&version=${version}`)).json()) as {
    manifest: { chunks: { hash: string }[] };
  };
  return meta.manifest.chunks.map((x) => x.hash);
}

const sync = (cell: TestCell) => cliJson<SyncReport>(cell, ["sync"]);
const trashOf = (cell: TestCell) => cliJson<TrashListing>(cell, ["trash"]);

/** B's view of everything it keeps (files on disk and what its trash lists), to show a refused request changed nothing. */
async function holderState(): Promise<string> {
  const t = await trashOf(b);
  const all = [...chunksOf.values()].flat();
  return JSON.stringify({ held: t.held, files: all.map((h) => holds(b, h)) });
}

beforeAll(async () => {
  [a, b, c] = await Promise.all([startCell({ config: LONG }), startCell({ config: LONG }), startCell({ config: LONG })]);
  for (const x of [a, b, c]) ids.set(x, cellIdOf(x));
  await pair(a, b);
  await pair(c, b);
  await befriend(a, b);

  await put(a, "doomed.bin", X);
  await put(a, "doomed.bin", P);
  await put(a, "other.bin", P);
  await put(a, "twice.bin", Q);
  await put(a, "twice.bin", R);
  await put(a, "twice.bin", Q);
  await put(a, "shared.bin", G);
  const s = await a.cli(["share", "shared.bin", "--with", ids.get(b)!.slice(0, 8)]);
  expect(s.code).toBe(0);
  await put(a, "shared.bin", H);
  await put(a, "history.bin", K);
  await put(a, "history.bin", K2);
  await put(c, "c.bin", CC);
  for (const [name, path, v] of [
    ["X", "doomed.bin", 1],
    ["P", "doomed.bin", 2],
    ["Q", "twice.bin", 1],
    ["R", "twice.bin", 2],
    ["G", "shared.bin", 1],
    ["H", "shared.bin", 2],
    ["K", "history.bin", 1],
    ["K2", "history.bin", 2],
  ] as const) {
    chunksOf.set(name, await chunksAt(a, path, v));
  }
  chunksOf.set("CC", await chunksAt(c, "c.bin", 1));
  expect(chunksOf.get("X")!.length).toBe(2);

  const ra = await sync(a);
  expect(ra.errors).toEqual([]);
  expect(ra.under_replicated).toBe(0);
  expect((await sync(c)).errors).toEqual([]);
  for (const h of [...chunksOf.values()].flat()) expect(holds(b, h)).toBe(true);
}, 180_000);

afterAll(async () => {
  await Promise.all([a, b, c].map(destroyCell));
});

describe("DeleteRequests a holder refuses", () => {
  test("forged (signed by another key), mismatched (another owner's request sent by A): 4xx, nothing changes", async () => {
    const before = await holderState();
    const ka = keysOf(a);
    const kb = keysOf(b);
    const kc = keysOf(c);
    const link = new PeerLink({ keys: ka, relay: null }, ids.get(b) as CellId, b.url, toHex(kb.x25519Public));
    const x = chunksOf.get("X") as ChunkHash[];
    const cc = chunksOf.get("CC") as ChunkHash[];

    // Names A as the owner, but signed by a key that is not A's.
    const mallory = deriveIdentity(new Uint8Array(32).fill(7));
    const forged = makeDeleteRequest(mallory.ed25519Secret, ka.id, x);
    const e1 = await link.delete(forged).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(PeerCallError);
    expect((e1 as PeerCallError).status).toBe(400);
    expect((e1 as Error).message).toContain("signature does not verify");

    // A genuine request by C, for C's chunks, but sent by A: refused (a cell deletes only its own).
    const theirs = makeDeleteRequest(kc.ed25519Secret, kc.id, cc);
    const e2 = await link.delete(theirs).catch((e: unknown) => e);
    expect((e2 as PeerCallError).status).toBe(403);

    // Altered after signing: refused.
    const altered = { ...makeDeleteRequest(ka.ed25519Secret, ka.id, x), chunks: [x[0]!] };
    expect(((await link.delete(altered).catch((e: unknown) => e)) as PeerCallError).status).toBe(400);

    expect(await holderState()).toBe(before);

    // A's own, valid request naming C's chunks: accepted, but B keeps nothing of those for A, so nothing moves.
    const ans = await link.delete(makeDeleteRequest(ka.ed25519Secret, ka.id, cc));
    expect(ans).toEqual({ trashed: 0, not_held: cc.length });
    expect(await holderState()).toBe(before);
  });
});

describe("purge -> DeleteRequest -> trash -> collection", () => {
  test("a purge undone from the trash after the DeleteRequest: the next round pushes the chunk back and the holder keeps it again", async () => {
    const k = chunksOf.get("K")!;
    const p = await cliJson<PurgeResult>(a, ["purge", "history.bin", "--version", "1"]);
    expect(p.purged).toEqual([1]);
    expect(p.trashed_chunks).toBe(1);
    const r1 = await sync(a);
    expect(r1.delete_requests).toBe(1);
    expect(r1.chunks_trashed_on_peers).toBe(1);
    expect((await trashOf(b)).held).toEqual([expect.objectContaining({ owner: ids.get(a), hash: k[0] })]);
    expect(holds(b, k[0]!)).toBe(true); // in the trash, not deleted

    const back = await a.cli(["trash", "restore", "history.bin"]);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain("version 1 back in the history");
    const r2 = await sync(a);
    expect(r2.chunks_pushed).toBe(1);
    expect(r2.delete_requests).toBe(0);
    expect((await trashOf(b)).held).toEqual([]);
    expect((await trashOf(a)).chunks).toEqual([]);
    const hist = await cliJson<{ versions: { version: number }[] }>(a, ["history", "history.bin"]);
    expect(hist.versions.map((v) => v.version)).toEqual([2, 1]);
  });

  test("purges: only the chunks no remaining version, other file or active grant uses go to the trash", async () => {
    expect((await a.api("/api/files/doomed.bin", { method: "DELETE" })).status).toBe(200);
    expect((await a.cli(["purge", "other.bin"])).code).toBe(2); // --version N or --all
    const refused = await a.cli(["purge", "other.bin", "--version", "1"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("current version");
    const doomed = await cliJson<PurgeResult>(a, ["purge", "doomed.bin", "--all"]);
    expect(doomed.purged).toEqual([1, 2, 3]);
    expect(doomed.trashed_chunks).toBe(2); // X's two chunks; P stays for other.bin
    expect((await cliJson<PurgeResult>(a, ["purge", "twice.bin", "--version", "1"])).trashed_chunks).toBe(0); // Q: version 3
    expect((await cliJson<PurgeResult>(a, ["purge", "shared.bin", "--version", "1"])).trashed_chunks).toBe(0); // G: the grant
    const t = await trashOf(a);
    expect(t.versions.map((v) => `${v.path}@${v.version}`).sort()).toEqual([
      "doomed.bin@1",
      "doomed.bin@2",
      "doomed.bin@3",
      "shared.bin@1",
      "twice.bin@1",
    ]);
    expect(t.chunks.map((x) => String(x.hash)).sort()).toEqual([...chunksOf.get("X")!].sort());
    expect(t.chunks.every((x) => x.local && x.peers === 1)).toBe(true);
    expect((await a.api("/api/files/doomed.bin?meta")).status).toBe(404);
  });

  test("A killed right after purging: after a restart the trash is intact and the next round sends the DeleteRequest", async () => {
    const before = await trashOf(a);
    a.proc.kill("SIGKILL");
    await a.proc.exited;
    const id = ids.get(a)!;
    a = await startCell({ root: a.root, config: LONG });
    ids.set(a, id);
    const after = await trashOf(a);
    expect(after.versions).toEqual(before.versions);
    // The trashed chunks themselves; how many peers still hold each may already be 0 when the
    // round the cell runs as it starts has sent the DeleteRequest by now.
    const kept = (cs: typeof before.chunks) => cs.map(({ peers: _p, ...c }) => c);
    expect(kept(after.chunks)).toEqual(kept(before.chunks));

    // A cell runs a round as it starts; ours waits for it. Between them, one DeleteRequest went.
    const r = await sync(a);
    expect(r.errors).toEqual([]);
    expect(r.chunks_pushed).toBe(0);
    expect(a.output().match(/delete request acknowledged .*chunks=2 trashed=2 not_held=0/g)?.length).toBe(1);
    const x = chunksOf.get("X")!;
    const held = (await trashOf(b)).held;
    expect(held.map((h) => String(h.hash)).sort()).toEqual([...x].sort());
    expect(held.every((h) => h.owner === ids.get(a))).toBe(true);
    // Acknowledged: A no longer counts B's copies, and asks nothing more.
    expect((await trashOf(a)).chunks.every((c) => c.peers === 0)).toBe(true);
    expect((await sync(a)).delete_requests).toBe(0);
    // In the trash, not deleted, and a collection before the trash time removes nothing.
    for (const h of x) expect(holds(b, h)).toBe(true);
    const early = await cliJson<{ held_collected: number; files_deleted: number }>(b, ["trash", "collect"]);
    expect(early.held_collected).toBe(0);
    expect(early.files_deleted).toBe(0);
    for (const h of x) expect(holds(b, h)).toBe(true);
  });

  test("with trash_retention_s = 2 s (both restarted), the periodic collection deletes them from disk, and only them", async () => {
    await a.stop();
    await b.stop();
    const [ia, ib] = [ids.get(a)!, ids.get(b)!];
    [a, b] = await Promise.all([startCell({ root: a.root, config: SHORT }), startCell({ root: b.root, config: SHORT })]);
    ids.set(a, ia).set(b, ib);
    // B's first pass after the restart (within a second) finds the trashed records it kept
    // across the restart, now past their trash time: had the restart lost them, nothing would go.
    const x = chunksOf.get("X")!;
    const deadline = Date.now() + 20_000;
    while (x.some((h) => holds(b, h) || holds(a, h)) && Date.now() < deadline) await Bun.sleep(250);
    for (const h of x) {
      expect(holds(b, h)).toBe(false);
      expect(holds(a, h)).toBe(false);
    }
    // Everything still referenced stays: another file (P), another version (Q), an active grant (G),
    // the current versions (R, H, K, K2), and C's chunks kept on B.
    for (const name of ["P", "Q", "R", "G", "H", "K", "K2"]) {
      for (const h of chunksOf.get(name)!) {
        expect(holds(a, h)).toBe(true);
        expect(holds(b, h)).toBe(true);
      }
    }
    for (const h of chunksOf.get("CC")!) expect(holds(b, h)).toBe(true);
    // The trash is empty on both sides; the purged versions are gone for good.
    const emptied = async () => {
      const [ta, tb] = await Promise.all([trashOf(a), trashOf(b)]);
      return ta.versions.length + ta.chunks.length + tb.held.length === 0;
    };
    await until("the trash of A and B emptied by the collection", emptied, 15_000, 250).catch(() => {});
    const ta = await trashOf(a);
    expect(ta.versions).toEqual([]);
    expect(ta.chunks).toEqual([]);
    expect((await trashOf(b)).held).toEqual([]);
    const gone = await a.cli(["trash", "restore", "doomed.bin"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("final");
  });

  test("afterwards the fleet is consistent: nothing to push or delete, every remaining file reads back", async () => {
    const r = await sync(a);
    expect(r.errors).toEqual([]);
    expect(r.chunks_pushed + r.delete_requests + r.released).toBe(0);
    expect(r.under_replicated + r.missing).toBe(0);
    const out = join(a.root, "out.bin");
    expect((await a.cli(["get", "other.bin", "-o", out])).code).toBe(0);
    expect(Buffer.from(await Bun.file(out).arrayBuffer()).equals(Buffer.from(P))).toBe(true);
    expect((await a.cli(["get", "twice.bin", "-o", out])).code).toBe(0);
    expect(Buffer.from(await Bun.file(out).arrayBuffer()).equals(Buffer.from(Q))).toBe(true);
    const ls = await cliJson<{ path: string }[] | { files: { path: string }[] }>(a, ["ls"]);
    const paths = (Array.isArray(ls) ? ls : ls.files).map((f) => f.path).sort();
    expect(paths).toEqual(["history.bin", "other.bin", "shared.bin", "twice.bin"]);
  });
});
