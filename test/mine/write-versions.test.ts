// Versions my other cells made, written into a mirror cell's GROVE_HOME (mine/write-versions),
// with real cells on loopback: A ("laptop") stores, B ("pi") mirrors it; F is a friend of A.
// Small files come in batches (POST /peer/tree/chunks), their copies and manifests recorded as
// pending and settled later; a kill -9 of B in the middle of a folder loses nothing and never
// turns a torn copy into a version of its own.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { cliJson, destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";
import { until } from "../helpers/until.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { callPeerRaw } from "../../src/net/peer-client.ts";
import { signRequest } from "../../src/protocol/request-auth.ts";
import { decodeChunkBatch } from "../../src/protocol/chunk-frames.ts";
import { sha256Hex } from "../../src/core/sha256.ts";
import type { CellId } from "../../src/core/types.ts";
import type { FsckReport } from "../../src/sync/fsck.ts";

const config = { sync_interval_s: 3600, watch_debounce_ms: 60_000 };
let A: TestCell, B: TestCell, F: TestCell;

const sql = <T>(c: TestCell, q: string, ...args: string[]): T[] => {
  const db = new Database(join(c.dir, "placement.db"), { readonly: true });
  try {
    return db.query(q).all(...args) as T[];
  } finally {
    db.close();
  }
};
const n = (c: TestCell, q: string, ...args: string[]) => sql<{ n: number }>(c, q, ...args)[0]!.n;
const content = (i: number) => pseudoRandom(1000 + ((i * 7919) % 40_000), 5000 + i);
const same = (path: string, bytes: Uint8Array) => existsSync(path) && Buffer.compare(readFileSync(path), Buffer.from(bytes)) === 0;

/** Write `files` into a folder of A's GROVE_HOME at once (moved in whole), then scan it. */
async function dropIn(folder: string, files: Map<string, Uint8Array>): Promise<void> {
  const src = join(A.root, `${folder}-staging`);
  mkdirSync(src);
  for (const [name, bytes] of files) writeFileSync(join(src, name), bytes);
  renameSync(src, join(A.home, folder));
  const r = await A.cli(["scan", folder]);
  expect(r.code).toBe(0);
}

beforeAll(async () => {
  [A, B, F] = await Promise.all([
    startCell({ config: { ...config, name: "laptop" } }),
    startCell({ config: { ...config, name: "pi" } }),
    startCell({ config: { ...config, name: "friend" } }),
  ]);
  const invite = await cliJson<{ token: string }>(A, ["invite", "--mine"]);
  expect((await B.cli(["join", invite.token])).code).toBe(0);
  await pair(A, F);
  await until("B to list A as mine", async () => (await cliJson<{ id: string; mine?: boolean }[]>(B, ["peers"])).some((p) => p.mine));
}, 60_000);

afterAll(async () => {
  await Promise.all([A, B, F].map(destroyCell));
}, 60_000);

test("a folder of 400 small files and a large one on A arrive in B's GROVE_HOME byte for byte; copies and manifests are settled after", async () => {
  const files = new Map<string, Uint8Array>();
  for (let i = 0; i < 400; i++) files.set(`f${i}.bin`, content(i));
  files.set("large.bin", pseudoRandom(5 * 1024 * 1024 + 3, 77)); // two chunks: written on its own
  files.set("empty.txt", new Uint8Array(0));
  await dropIn("batch", files);
  await until(
    "every file in B's GROVE_HOME",
    () => [...files].every(([name, bytes]) => same(join(B.home, "batch", name), bytes)),
    60_000,
    50,
  );
  // Recorded as B's own versions of A's manifests, one each: nothing was stored again from B.
  expect(n(B, "SELECT COUNT(DISTINCT path) AS n FROM file_versions WHERE path LIKE 'batch/%'")).toBe(files.size);
  await Bun.sleep(1500);
  expect(n(A, "SELECT COUNT(*) AS n FROM file_versions WHERE path LIKE 'batch/%'")).toBe(files.size);
  expect(sql<{ origin: string }>(B, "SELECT DISTINCT origin FROM tree_events WHERE body LIKE '%\"batch/%'").map((r) => r.origin)).toEqual([
    cellIdOf(A),
  ]);
  // Written without an fsync on the way in, each recorded as pending; the settler fsyncs them once B is quiet.
  await until(
    "B's pending copies and manifests settled",
    () => n(B, "SELECT COUNT(*) AS n FROM home_pending") + n(B, "SELECT COUNT(*) AS n FROM manifest_pending") === 0,
    20_000,
  );
  const fsck = JSON.parse((await B.cli(["fsck", "--json"])).stdout) as FsckReport;
  expect(fsck.problems).toEqual([]);
  expect(B.output()).not.toMatch(/not written into GROVE_HOME/);
}, 120_000);

test("POST /peer/tree/chunks answers a cell of mine with the chunks held, each under its name; bad requests and other cells are refused", async () => {
  const aId = cellIdOf(A) as CellId;
  const bKeys = loadKeys(resolveLayout({ GROVE_DIR: B.dir, GROVE_HOME: B.home }));
  const call = (body: unknown, keys = bKeys) => callPeerRaw(keys, A.peerUrl, aId, "POST", "/peer/tree/chunks", body);
  const held = sql<{ hash: string }>(A, "SELECT hash FROM chunks WHERE size < 65536 ORDER BY hash LIMIT 3").map((r) => r.hash);
  expect(held.length).toBe(3);
  const unknown = "ab".repeat(32);
  const ans = await call({ hashes: [held[0], unknown, held[1], held[2], held[0]] });
  expect(ans.status).toBe(200);
  const frames = decodeChunkBatch(ans.body, sha256Hex, 16); // each checked against its name
  expect(frames.map((f) => f.hash)).toEqual(held); // in the order asked, each once, the unknown one left out
  expect((await call({ hashes: [unknown] })).body.byteLength).toBe(0);
  // Bad input: a clear 400, nothing answered.
  for (const bad of [{ hashes: [] }, { hashes: ["../../root.key"] }, { hashes: Array(257).fill(held[0]) }, { hash: held[0] }, "hashes"]) {
    const r = await call(bad);
    expect(r.status).toBe(400);
    expect(new TextDecoder().decode(r.body)).toMatch(/bad tree request|must be JSON/);
  }
  // A friend's cell learns nothing of my chunks.
  const fKeys = loadKeys(resolveLayout({ GROVE_DIR: F.dir, GROVE_HOME: F.home }));
  const refused = await call({ hashes: held }, fKeys);
  expect(refused.status).toBe(403);
  // Logged by A (its output comes through a pipe: it may follow the answer by a moment).
  await until("A to log the refusal", () => /tree request from a cell that is not one of mine refused/.test(A.output()), 10_000);
});

test("POST /peer/tree/chunks attacked: a replayed request, a body changed under its signature, a chunked body past the limit, an unsigned one under a foreign Host: refused", async () => {
  const aId = cellIdOf(A) as CellId;
  const bKeys = loadKeys(resolveLayout({ GROVE_DIR: B.dir, GROVE_HOME: B.home }));
  const held = sql<{ hash: string }>(A, "SELECT hash FROM chunks WHERE size < 65536 LIMIT 1").map((r) => r.hash);
  const body = new TextEncoder().encode(JSON.stringify({ hashes: held }));
  const headers = {
    ...signRequest(bKeys.ed25519Secret, bKeys.id, "POST", "/peer/tree/chunks", body, { to: aId }),
    "content-type": "application/json",
  };
  const send = (b: BodyInit, h: Record<string, string> = headers) =>
    fetch(`${A.peerUrl}/peer/tree/chunks`, { method: "POST", headers: h, body: b });
  const first = await send(body);
  expect(first.status).toBe(200);
  expect(decodeChunkBatch(new Uint8Array(await first.arrayBuffer()), sha256Hex, 16).map((f) => f.hash)).toEqual(held);
  // The same signed request again: a replay.
  const again = await send(body);
  expect(again.status).toBe(401);
  expect(((await again.json()) as { reason: string }).reason).toBe("replayed");
  // Another body under a fresh signature of the first one.
  const fresh = {
    ...signRequest(bKeys.ed25519Secret, bKeys.id, "POST", "/peer/tree/chunks", body, { to: aId }),
    "content-type": "application/json",
  };
  const changed = await send(JSON.stringify({ hashes: ["ab".repeat(32)] }), fresh);
  expect(changed.status).toBe(401);
  // 2 MiB sent chunked, with no length: refused before it is all read.
  const big = new Uint8Array(2 * 1024 * 1024).fill(32);
  const chunked = new ReadableStream<Uint8Array>({
    start(c) {
      for (let o = 0; o < big.length; o += 64 * 1024) c.enqueue(big.subarray(o, o + 64 * 1024));
      c.close();
    },
  });
  const signedBig = {
    ...signRequest(bKeys.ed25519Secret, bKeys.id, "POST", "/peer/tree/chunks", big, { to: aId }),
    "content-type": "application/json",
  };
  const tooBig = await send(chunked, signedBig);
  expect(tooBig.status).toBe(413);
  // A foreign Host: /peer is exempt from the Host check (docs/threat-model.md, "Local surfaces"),
  // its authority is the signature alone. Unsigned, under a foreign Host: refused, nothing answered.
  const foreign = await fetch(`${A.url}/peer/tree/chunks`, {
    method: "POST",
    headers: { host: "evil.example", "content-type": "application/json" },
    body,
  });
  expect(foreign.status).toBe(401);
  expect(new TextDecoder().decode(await foreign.arrayBuffer())).not.toContain(held[0]!.slice(0, 16));
});

test("a poke carrying a small file's chunk: B writes it; a carried chunk that does not match its name, or from a friend, changes nothing", async () => {
  // A real poke: one small file put on A reaches B's GROVE_HOME, its chunk carried by the poke.
  const one = pseudoRandom(3000, 77);
  const f = join(A.root, "carried.bin");
  writeFileSync(f, one);
  expect((await A.cli(["put", f, "--as", "carried/one.bin"])).code).toBe(0);
  await until("carried/one.bin in B's home", async () => same(join(B.home, "carried/one.bin"), one), 20_000);
  // Forged: signed by A (a cell of B's), a chunk under a name it does not have. Kept nowhere.
  const aId = cellIdOf(A) as CellId;
  const bId = cellIdOf(B) as CellId;
  const aKeys = loadKeys(resolveLayout({ GROVE_DIR: A.dir, GROVE_HOME: A.home }));
  const name = sha256Hex(pseudoRandom(500, 1));
  const events = () => n(B, "SELECT count(*) AS n FROM tree_events");
  const before = events();
  const forged = await callPeerRaw(aKeys, B.peerUrl, bId, "POST", "/peer/tree/poke", {
    events: [],
    manifests: {},
    more: false,
    chunks: { [name]: Buffer.from(pseudoRandom(500, 2)).toString("base64") },
  });
  expect(forged.status).toBe(202);
  await until("B to say it dropped the chunk", async () => /does not match its name; dropped/.test(B.output()), 10_000);
  // Malformed: refused whole, said.
  await callPeerRaw(aKeys, B.peerUrl, bId, "POST", "/peer/tree/poke", { events: [], manifests: {}, more: false, chunks: "x" });
  await until("B to refuse malformed chunks", async () => /chunks carried by a poke refused/.test(B.output()), 10_000);
  expect(events()).toBe(before);
  // A friend's cell cannot poke at all.
  const fKeys = loadKeys(resolveLayout({ GROVE_DIR: F.dir, GROVE_HOME: F.home }));
  const friend = await callPeerRaw(fKeys, A.peerUrl, aId, "POST", "/peer/tree/poke", {
    events: [],
    manifests: {},
    more: false,
    chunks: {},
  });
  expect(friend.status).toBe(403);
});

test("kill -9 of B while it writes a folder of A's: after a restart every file is there byte for byte, fsck is clean, nothing echoes back", async () => {
  const files = new Map<string, Uint8Array>();
  for (let i = 0; i < 900; i++) files.set(`g${i}.bin`, content(10_000 + i));
  await dropIn("crash", files);
  await until(
    "B to have written some of them",
    () => n(B, "SELECT COUNT(*) AS n FROM file_versions WHERE path LIKE 'crash/%'") > 0,
    60_000,
    5,
  );
  B.proc.kill("SIGKILL");
  await B.proc.exited;
  const atKill = n(B, "SELECT COUNT(*) AS n FROM file_versions WHERE path LIKE 'crash/%'");
  console.log(`B killed with ${atKill} of ${files.size} files recorded`);
  B = await startCell({ root: B.root, config: { ...config, name: "pi" } });
  await until(
    "every file in B's GROVE_HOME after the restart",
    () => [...files].every(([name, bytes]) => same(join(B.home, "crash", name), bytes)),
    90_000,
    100,
  );
  const fsck = JSON.parse((await B.cli(["fsck", "--json"])).stdout) as FsckReport;
  expect(fsck.problems).toEqual([]);
  // No copy, torn or whole, became a version of B's own: A still has one version of each.
  await Bun.sleep(2500); // longer than a watcher's look and a reconcile
  expect(n(A, "SELECT COUNT(*) AS n FROM file_versions WHERE path LIKE 'crash/%'")).toBe(files.size);
  expect(n(B, "SELECT COUNT(*) AS n FROM tree_events WHERE origin = ? AND body LIKE '%\"crash/%'", cellIdOf(B))).toBe(0);
}, 180_000);
