// One fleet, one tree, with real cells on loopback. A ("laptop") and B ("pi") are my cells in
// home_mode "mirror", C ("phone") is mine "on-demand"; B and C joined with invites made by
// `grove invite --mine`. F is a friend's cell, paired with a plain invite. C is offline while A and
// B change things, and converges when it starts; then C is removed and receives nothing new.
import { chunkNames } from "../helpers/chunks.ts";
import { untilSettled } from "../helpers/settled.ts";
import { until } from "../helpers/until.ts";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { cliJson, destroyCell, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";
import { loadKeys } from "../../src/cell/state-dir.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { callPeerRaw } from "../../src/net/peer-client.ts";
import type { CellId } from "../../src/core/types.ts";

interface Listed {
  path: string;
  size: number;
  local: boolean;
  cells: string[];
  conflict_of?: string;
}

let A: TestCell, B: TestCell, C: TestCell, F: TestCell;
const work = tempRoot("grove-one-tree-");
// Rounds only when asked: what a cell lists and reads here comes from the tree, not from replication.
const config = { sync_interval_s: 3600 };
const movie = new Uint8Array(randomBytes(9 * 1024 * 1024 + 77)); // three chunks
const big = new Uint8Array(randomBytes(6 * 1024 * 1024 + 5));

const ls = (c: TestCell) => cliJson<Listed[]>(c, ["ls"]);
const paths = async (c: TestCell) => (await ls(c)).map((f) => f.path);
const file = (name: string, bytes: Uint8Array | string) => {
  const p = join(work, name);
  writeFileSync(p, bytes);
  return p;
};
const put = async (c: TestCell, bytes: Uint8Array | string, as: string) => {
  const r = await c.cli(["put", file(`${as.replaceAll("/", "_")}-${Math.random()}`, bytes), "--as", as]);
  if (r.code !== 0) throw new Error(r.stderr);
};
const chunkCount = (c: TestCell) => chunkNames(c.dir).length;
const homeHas = (c: TestCell, p: string, bytes: Uint8Array | string) => {
  const f = join(c.home, p);
  return existsSync(f) && Buffer.compare(readFileSync(f), Buffer.from(bytes)) === 0;
};
const dav = (c: TestCell, p: string, init: RequestInit = {}) =>
  fetch(`${c.url}/dav/${p}`, { ...init, headers: { ...(init.headers ?? {}), authorization: `Basic ${btoa(`me:${c.token}`)}` } });
const api = (c: TestCell, p: string, init?: RequestInit) => c.api(`/api/files/${p}`, init);

beforeAll(async () => {
  mkdirSync(work, { recursive: true });
  [A, B, C, F] = await Promise.all([
    startCell({ config: { ...config, name: "laptop" } }),
    startCell({ config: { ...config, name: "pi" } }),
    startCell({ config: { ...config, name: "phone", home_mode: "on-demand" } }),
    startCell({ config: { ...config, name: "friend" } }),
  ]);
  // Both A and B stored this path before they knew each other: neither version saw the other.
  await put(A, "notes from the laptop\n", "notes.txt");
  await put(B, "notes from the pi\n", "notes.txt");
  for (const joiner of [B, C]) {
    const invite = await cliJson<{ token: string; kind: string }>(A, ["invite", "--mine"]);
    expect(invite.kind).toBe("mine");
    const joined = await joiner.cli(["join", invite.token]);
    expect(joined.code).toBe(0);
    expect(joined.stdout).toMatch(/as one of your cells/);
  }
  expect((await A.cli(["join", (await F.cli(["invite"])).stdout.trim()])).code).toBe(0);
  await until("C to list notes.txt", async () => (await paths(C)).includes("notes.txt"));
  // A answering a join does not poke the joiner, which does not know A until it has the answer.
  const refusedPoke = `not a known peer path=/peer/tree/poke reason=unknown_cell from=${cellIdOf(A).slice(0, 8)}`;
  for (const joiner of [B, C]) expect(joiner.output()).not.toContain(refusedPoke);
  await C.stop(); // C is away for everything until "C converges when it starts"
}, 60_000);

afterAll(async () => {
  await Promise.all([A, B, C, F].map(destroyCell));
});

test("grove peers shows my cells as mine and a friend's cell not; the keys came sealed, each cell keeps its own id", async () => {
  const onA = await cliJson<{ id: string; mine: boolean }[]>(A, ["peers"]);
  expect(onA.find((p) => p.id === cellIdOf(B))?.mine).toBe(true);
  expect(onA.find((p) => p.id === cellIdOf(C))?.mine).toBe(true);
  expect(onA.find((p) => p.id === cellIdOf(F))?.mine).toBe(false);
  expect((await cliJson<{ id: string; mine: boolean }[]>(B, ["peers"])).find((p) => p.id === cellIdOf(A))?.mine).toBe(true);
  expect((await A.cli(["peers"])).stdout).toMatch(/mine/);
  const ring = JSON.parse(readFileSync(join(B.dir, "keyring.json"), "utf8")) as { legacy: Record<string, string> };
  expect(Object.keys(ring.legacy)).toContain(cellIdOf(A));
  expect(new Set([cellIdOf(A), cellIdOf(B), cellIdOf(C)]).size).toBe(3);
  // A friend learns nothing: no keyring, and F's tree is its own.
  expect(existsSync(join(F.dir, "keyring.json"))).toBe(false);
});

test("a put on A is listed on B within 10 s and present, byte-identical, in B's GROVE_HOME (mirror)", async () => {
  const t0 = performance.now();
  await put(A, movie, "videos/movie.bin");
  const listed = await until("videos/movie.bin on B", async () => (await ls(B)).find((f) => f.path === "videos/movie.bin"));
  const listedMs = performance.now() - t0;
  await until("movie.bin in B's GROVE_HOME", () => homeHas(B, "videos/movie.bin", movie));
  const homeMs = performance.now() - t0;
  console.log(
    `grove put on A (a process start included) to listed on B: ${Math.round(listedMs)} ms; to in B's GROVE_HOME: ${Math.round(homeMs)} ms`,
  );
  expect(listed.size).toBe(movie.byteLength);
  expect(listed.cells).toContain(cellIdOf(A));
  expect((await ls(B)).find((f) => f.path === "videos/movie.bin")?.local).toBe(true);
  // Written by the tree, not taken back as a change of B's: A's tree still has one event for it.
  await Bun.sleep(1500); // past the watcher's debounce on B
  const meta = (await (await api(A, "videos/movie.bin?meta")).json()) as { versions: unknown[] };
  expect(meta.versions.length).toBe(1);
});

test("the same path stored on A and B before they met: one current, the other a visible conflict copy; both survive on both", async () => {
  const copy = await until("a conflict copy on A", async () => (await ls(A)).find((f) => f.conflict_of === "notes.txt"));
  expect(copy.path).toMatch(/^notes \(conflict (laptop|pi) \d{4}-\d\d-\d\d \d{6}\)\.txt$/);
  expect((await ls(B)).find((f) => f.conflict_of === "notes.txt")?.path).toBe(copy.path);
  const texts = new Set<string>();
  for (const p of ["notes.txt", copy.path]) {
    const [ta, tb] = await Promise.all([A, B].map(async (c) => (await api(c, encodeURIComponent(p))).text()));
    expect(ta).toBe(tb!);
    texts.add(ta!);
  }
  expect([...texts].sort()).toEqual(["notes from the laptop\n", "notes from the pi\n"]);
  // Mirrors hold both files in GROVE_HOME.
  for (const c of [A, B]) await until(`both notes in ${c === A ? "A" : "B"}'s GROVE_HOME`, () => existsSync(join(c.home, copy.path)));
});

test("a put on B is sealed under the owner's key, listed and read on A, and mirrored into A's GROVE_HOME", async () => {
  await put(B, "written on the pi\n", "docs/from-pi.txt");
  const listed = await until("docs/from-pi.txt on A", async () => (await ls(A)).find((f) => f.path === "docs/from-pi.txt"));
  expect(listed.cells).toContain(cellIdOf(B));
  expect(await (await api(A, "docs/from-pi.txt")).text()).toBe("written on the pi\n");
  await until("from-pi.txt in A's GROVE_HOME", () => homeHas(A, "docs/from-pi.txt", "written on the pi\n"));
  await untilSettled(B.dir); // the settler writes the manifests' files once B's store is quiet
  const manifests = readdirSync(join(B.dir, "manifests", "docs")).map((f) =>
    JSON.parse(readFileSync(join(B.dir, "manifests", "docs", f), "utf8")),
  );
  expect(manifests.find((m) => m.source_path === "docs/from-pi.txt")?.encryption.key_id).toMatch(/^[0-9a-f]{16}$/);
});

test("a file edited in B's GROVE_HOME appears edited in A's within seconds, and never echoes back as another version", async () => {
  await put(B, "first draft\n", "edit-me.txt");
  await until("edit-me.txt in A's GROVE_HOME", () => homeHas(A, "edit-me.txt", "first draft\n"));
  const versions = async (c: TestCell) => ((await (await api(c, "edit-me.txt?meta")).json()) as { versions: unknown[] }).versions.length;
  const [beforeA, beforeB] = [await versions(A), await versions(B)];
  writeFileSync(join(B.home, "edit-me.txt"), "second draft, edited in place\n");
  const t0 = performance.now();
  await until("the edit in A's GROVE_HOME", () => homeHas(A, "edit-me.txt", "second draft, edited in place\n"));
  console.log(
    `an edit in B's GROVE_HOME reached A's in ${Math.round(performance.now() - t0)} ms (B's watcher waits 1 s for the file to settle)`,
  );
  await Bun.sleep(2500); // past both watchers' debounce: an echo would be a third version by now
  expect(await versions(A)).toBe(beforeA + 1);
  expect(await versions(B)).toBe(beforeB + 1);
  expect(readFileSync(join(B.home, "edit-me.txt"), "utf8")).toBe("second draft, edited in place\n");
});

test("a move on A (WebDAV MOVE) is a move on B; a delete on B removes the file everywhere and A keeps it in history", async () => {
  const moved = await dav(A, "docs/from-pi.txt", { method: "MOVE", headers: { destination: `${A.url}/dav/docs/renamed.txt` } });
  expect(moved.status).toBeLessThan(300);
  await until("the move on B", async () => {
    const p = await paths(B);
    return p.includes("docs/renamed.txt") && !p.includes("docs/from-pi.txt");
  });
  await until(
    "B's GROVE_HOME follows the move",
    () => homeHas(B, "docs/renamed.txt", "written on the pi\n") && !existsSync(join(B.home, "docs/from-pi.txt")),
  );

  const del = await B.cli(["rm", "videos/movie.bin"]);
  expect(del.code).toBe(0);
  await until("the deletion on A", async () => !(await paths(A)).includes("videos/movie.bin"));
  await until("movie.bin gone from A's GROVE_HOME", () => !existsSync(join(A.home, "videos/movie.bin")));
  const meta = (await (await api(A, "videos/movie.bin?meta")).json()) as { deleted: boolean; versions: { deleted: boolean }[] };
  expect(meta.deleted).toBe(true);
  expect(meta.versions.map((v) => v.deleted)).toEqual([true, false]); // newest first: the deletion, then the content
  const old = await A.cli(["get", "videos/movie.bin", "--version", "1", "-o", join(work, "movie-v1.bin")]);
  expect(old.code).toBe(0);
  expect(Buffer.compare(readFileSync(join(work, "movie-v1.bin")), Buffer.from(movie))).toBe(0);
});

test("C, offline during all of this, converges when it starts; it reads a large file through its WebDAV holding no chunk of it", async () => {
  await put(A, big, "videos/big.bin");
  await until("big.bin on B", async () => (await paths(B)).includes("videos/big.bin"));
  const chunksBefore = chunkCount(C);
  C = await startCell({ root: C.root, config: { ...config, name: "phone", home_mode: "on-demand" } });
  const want = (await paths(A)).sort();
  await until("C's tree to equal A's", async () => JSON.stringify((await paths(C)).sort()) === JSON.stringify(want));
  expect(want).toContain("docs/renamed.txt");
  expect(want).not.toContain("videos/movie.bin");
  // On demand: nothing of my other cells' files was written into C's GROVE_HOME or its store.
  expect(existsSync(join(C.home, "videos/big.bin"))).toBe(false);
  expect(chunkCount(C)).toBe(chunksBefore);
  const t0 = performance.now();
  const res = await dav(C, "videos/big.bin");
  expect(res.status).toBe(200);
  const got = new Uint8Array(await res.arrayBuffer());
  console.log(`C read 6 MiB on demand through WebDAV in ${Math.round(performance.now() - t0)} ms`);
  expect(Buffer.compare(got, big)).toBe(0);
  const ranged = await dav(C, "videos/big.bin", { headers: { range: "bytes=4194300-4194310" } });
  expect(ranged.status).toBe(206);
  expect(Buffer.compare(new Uint8Array(await ranged.arrayBuffer()), big.subarray(4194300, 4194311))).toBe(0);
  expect(chunkCount(C)).toBe(chunksBefore);
  expect((await ls(C)).find((f) => f.path === "videos/big.bin")?.local).toBe(false);
}, 60_000);

test("a cell that holds the file going away is replaced by another without an error; with none left the message names them", async () => {
  // C joined A only; A introduced B to it (and it to B), so C knows B as one of mine.
  await until("C to pair with B, introduced by A", async () =>
    (await cliJson<{ id: string; mine: boolean }[]>(C, ["peers"])).some((p) => p.id === cellIdOf(B) && p.mine),
  );
  await A.stop(); // B mirrors big.bin: C reads it from B
  const res = await dav(C, "videos/big.bin");
  expect(res.status).toBe(200);
  expect(Buffer.compare(new Uint8Array(await res.arrayBuffer()), big)).toBe(0);
  await B.stop();
  const none = await api(C, "videos/big.bin");
  expect(none.status).toBe(503);
  const msg = ((await none.json()) as { error: string }).error;
  expect(msg).toMatch(/'videos\/big\.bin' is not on this cell, and laptop is not reachable now/);
  expect(msg).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/); // what happened and what to do, not the socket's error
  [A, B] = await Promise.all(
    [A, B].map((c, i) =>
      startCell({ root: c.root, config: { ...config, name: ["laptop", "pi"][i] }, listen: { host: "127.0.0.1", port: c.port } }),
    ),
  );
}, 60_000);

test("grove pin on the on-demand cell writes a folder into its GROVE_HOME; unpin takes it out again and deletes nothing anywhere", async () => {
  const pinned = await C.cli(["pin", "videos"]);
  expect(pinned.code).toBe(0);
  expect(pinned.stdout).toMatch(/pinned videos: 1 file, 1 written/);
  expect(homeHas(C, "videos/big.bin", big)).toBe(true);
  expect((await ls(C)).find((f) => f.path === "videos/big.bin")?.local).toBe(true);
  // A change on A reaches a pinned file on C.
  await put(A, "a new file in a pinned folder\n", "videos/new.txt");
  await until("the new file of the pinned folder in C's GROVE_HOME", () => homeHas(C, "videos/new.txt", "a new file in a pinned folder\n"));
  expect(existsSync(join(C.home, "docs/renamed.txt"))).toBe(false); // not pinned: still on demand

  const unpinned = await C.cli(["unpin", "videos"]);
  expect(unpinned.code).toBe(0);
  expect(unpinned.stdout).toMatch(/2 files left GROVE_HOME/);
  expect(existsSync(join(C.home, "videos/big.bin"))).toBe(false);
  await Bun.sleep(1500); // C's watcher saw the files go: that must not be a deletion
  expect((await ls(C)).find((f) => f.path === "videos/big.bin")?.local).toBe(false);
  expect(await paths(A)).toContain("videos/big.bin");
  expect(homeHas(A, "videos/big.bin", big)).toBe(true);
  expect(Buffer.compare(new Uint8Array(await (await api(C, "videos/big.bin")).arrayBuffer()), big)).toBe(0);
  // A mirror has nothing to unpin, and says what to do instead.
  const onB = await B.cli(["unpin", "videos"]);
  expect(onB.code).not.toBe(0);
  expect(onB.stderr).toMatch(/home_mode "mirror"/);
}, 60_000);

test("a friend's cell sees none of this: its listing is its own, and signed tree requests from it get 403", async () => {
  expect(await paths(F)).toEqual([]);
  const fKeys = loadKeys(resolveLayout({ GROVE_DIR: F.dir, GROVE_HOME: F.home }));
  for (const [path, body] of [
    ["/peer/tree/pull", { vector: {} }],
    ["/peer/tree/chunk", { hash: "0".repeat(64) }],
    ["/peer/tree/keys", {}],
    ["/peer/tree/poke", {}],
  ] as const) {
    const ans = await callPeerRaw(fKeys, A.peerUrl, cellIdOf(A) as CellId, "POST", path, body);
    expect(ans.status).toBe(403);
    expect(new TextDecoder().decode(ans.body)).toMatch(/only with its owner's other cells/);
  }
});

test("a cell of mine handing in forged or malformed tree data: refused, nothing kept, nothing written outside", async () => {
  const bKeys = loadKeys(resolveLayout({ GROVE_DIR: B.dir, GROVE_HOME: B.home }));
  const aId = cellIdOf(A) as CellId;
  const call = (path: string, body: unknown) => callPeerRaw(bKeys, A.peerUrl, aId, "POST", path, body);
  const event = (path: string, manifest: string) => ({
    origin: cellIdOf(B),
    by: "pi",
    seq: 999_999,
    at: { wall: Date.now(), n: 0 },
    kind: "put",
    path,
    manifest,
    replaces: [],
  });
  const fake = "ab".repeat(32);
  const manifestBody = JSON.stringify({ format: 1, filename: "x", source_path: "forged.txt", total_size: 0, file_hash: "cd".repeat(32) });
  // A manifest that does not hash to its name, a path leaving the tree, control bytes, a stamp a year ahead.
  for (const pushed of [
    { events: [event("forged.txt", fake)], manifests: { [fake]: manifestBody }, more: false },
    { events: [event("../escape.txt", fake)], manifests: {}, more: false },
    { events: [event("bad\u0007name.txt", fake)], manifests: {}, more: false },
    { events: [{ ...event("future.txt", fake), at: { wall: Date.now() + 365 * 86_400_000, n: 0 } }], manifests: {}, more: false },
  ]) {
    const ans = await call("/peer/tree/poke", pushed);
    expect(ans.status).toBe(202); // a poke is an invitation to pull; what it carries is checked before anything is kept
  }
  const pull = await call("/peer/tree/pull", { vector: "everything" });
  expect(pull.status).toBe(400);
  const chunk = await call("/peer/tree/chunk", { hash: "../../root.key" });
  expect(chunk.status).toBe(400);
  await Bun.sleep(300);
  const onA = await paths(A);
  for (const p of ["forged.txt", "escape.txt", "future.txt"]) expect(onA.some((x) => x.endsWith(p))).toBe(false);
  expect(existsSync(join(A.root, "escape.txt"))).toBe(false);
  expect(existsSync(join(A.home, "forged.txt"))).toBe(false);
});

test("a removed cell receives nothing new, every cell of mine refuses it, and files stored after use a key it never had", async () => {
  const cId = cellIdOf(C);
  const r = await A.cli(["peers", "remove", "--mine", cId.slice(0, 12)]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/removed .* from your cells/);
  // B hears of it from A (a poke, then the keys it pulls) and drops C as well.
  await until("B to drop C", async () => !(await cliJson<{ id: string }[]>(B, ["peers"])).some((p) => p.id === cId));
  const ringA = JSON.parse(readFileSync(join(A.dir, "keyring.json"), "utf8")) as { current: string; epoch: number };
  const ringB = JSON.parse(readFileSync(join(B.dir, "keyring.json"), "utf8")) as { current: string };
  const ringC = JSON.parse(readFileSync(join(C.dir, "keyring.json"), "utf8")) as { keys: Record<string, string> };
  expect(ringA.epoch).toBe(1);
  await until("B to take the new key", () => JSON.parse(readFileSync(join(B.dir, "keyring.json"), "utf8")).current === ringA.current);
  expect(ringB).toBeDefined();
  expect(ringC.keys[ringA.current]).toBeUndefined();

  await put(A, "after the phone was lost\n", "after.txt");
  await until("after.txt on B", async () => (await paths(B)).includes("after.txt"));
  await untilSettled(A.dir); // the settler writes the manifest's file once A's store is quiet
  const m = readdirSync(join(A.dir, "manifests")).filter((f) => f.startsWith("after.txt"));
  expect(JSON.parse(readFileSync(join(A.dir, "manifests", m[0]!), "utf8")).encryption.key_id).toBe(ringA.current);
  await Bun.sleep(1500);
  expect(await paths(C)).not.toContain("after.txt");
  // C's own requests are refused by both (it is no peer of theirs any more).
  const cKeys = loadKeys(resolveLayout({ GROVE_DIR: C.dir, GROVE_HOME: C.home }));
  for (const cell of [A, B]) {
    const ans = await callPeerRaw(cKeys, cell.peerUrl, cellIdOf(cell) as CellId, "POST", "/peer/tree/pull", { vector: {} });
    expect(ans.status).toBe(401);
  }
}, 30_000);
