// WebDAV COPY and MOVE of files the cell does not keep, with two real cells of mine on loopback:
// A ("laptop", home_mode "mirror") stores the files; C ("phone", "on-demand", joined with
// `grove invite --mine`) lists them and moves and copies them through its WebDAV without holding
// them. Each is a tree event alone (mine/tree-edits): A follows, its history keeps the move, and
// both read the same bytes.
import { chunkNames } from "../helpers/chunks.ts";
import { until } from "../helpers/until.ts";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { cliJson, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";

interface Listed {
  path: string;
  size: number;
  local: boolean;
  cells: string[];
}
interface Meta {
  deleted: boolean;
  versions: { version: number; deleted: boolean }[];
}

let A: TestCell, C: TestCell;
const config = { sync_interval_s: 3600 };
const report = new Uint8Array(randomBytes(5 * 1024 * 1024 + 333)); // two chunks
const small = (s: string): Bytes => new Uint8Array(Buffer.from(s));
type Bytes = Uint8Array<ArrayBuffer>;
const files: Record<string, Bytes> = {
  "docs/report.bin": report,
  "docs/old.txt": small("the old version, overwritten by a move\n"),
  "album/one.txt": small("one, stored on the laptop\n"),
  "album/deep/two.txt": small("two, stored on the laptop\n"),
};

const ls = async (c: TestCell) => ((await (await c.api("/api/files")).json()) as { files: Listed[] }).files;
const paths = async (c: TestCell) => (await ls(c)).map((f) => f.path);
const listed = async (c: TestCell, p: string) => (await ls(c)).find((f) => f.path === p);
const has = (list: string[], yes: string[], no: string[] = []) => yes.every((p) => list.includes(p)) && !no.some((p) => list.includes(p));
const put = async (c: TestCell, p: string, bytes: Bytes) => {
  const r = await c.api(`/api/files/${p}`, { method: "PUT", body: bytes });
  if (r.status >= 300) throw new Error(`PUT ${p}: ${r.status} ${await r.text()}`);
};
const read = async (c: TestCell, p: string) => new Uint8Array(await (await c.api(`/api/files/${p}`)).arrayBuffer());
const meta = async (c: TestCell, p: string) => (await (await c.api(`/api/files/${p}?meta`)).json()) as Meta;
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;
const homeHas = (c: TestCell, p: string, bytes: Uint8Array) => {
  const f = join(c.home, p);
  return existsSync(f) && same(readFileSync(f), bytes);
};
const chunkCount = (c: TestCell) => chunkNames(c.dir).length;
const dav = (c: TestCell, method: string, from: string, to?: string, headers: Record<string, string> = {}) =>
  fetch(`${c.url}/dav/${from}`, {
    method,
    headers: {
      authorization: `Basic ${btoa(`me:${c.token}`)}`,
      ...(to ? { destination: `${c.url}/dav/${to}` } : {}),
      ...headers,
    },
  });

beforeAll(async () => {
  [A, C] = await Promise.all([
    startCell({ config: { ...config, name: "laptop" } }),
    startCell({ config: { ...config, name: "phone", home_mode: "on-demand" } }),
  ]);
  for (const [p, bytes] of Object.entries(files)) await put(A, p, bytes);
  // One file of the album is C's own: a folder of both kinds.
  await put(C, "album/from-phone.txt", small("stored on the phone\n"));
  await put(C, "phone-notes.txt", small("the phone's own notes, overwritten by a file it does not keep\n"));
  const invite = await cliJson<{ token: string }>(A, ["invite", "--mine"]);
  const joined = await C.cli(["join", invite.token]);
  expect(joined.code).toBe(0);
  await until("C to list A's files, and A C's", async () => {
    const [a, c] = await Promise.all([paths(A), paths(C)]);
    const all = [...Object.keys(files), "album/from-phone.txt", "phone-notes.txt"];
    return has(a, all) && has(c, all);
  });
  await until("A to mirror C's files", () => homeHas(A, "album/from-phone.txt", small("stored on the phone\n")));
}, 30_000);

afterAll(async () => {
  await Promise.all([A, C].map(destroyCell));
});

test("a MOVE on C of a file only A keeps is a move on A: new path in its listing and GROVE_HOME, the old one in history", async () => {
  const chunksBefore = chunkCount(C);
  expect((await listed(C, "docs/report.bin"))?.local).toBe(false);
  const r = await dav(C, "MOVE", "docs/report.bin", "docs/moved.bin");
  expect(r.status).toBe(201);
  // On C at once: listed at the new path as A's, read on demand.
  const onC = await listed(C, "docs/moved.bin");
  expect(onC).toMatchObject({ local: false, cells: [cellIdOf(A)], size: report.byteLength });
  expect(await paths(C)).not.toContain("docs/report.bin");
  expect(same(new Uint8Array(await (await dav(C, "GET", "docs/moved.bin")).arrayBuffer()), report)).toBe(true);

  await until("the move on A", async () => has(await paths(A), ["docs/moved.bin"], ["docs/report.bin"]));
  await until(
    "A's GROVE_HOME follows the move",
    () => homeHas(A, "docs/moved.bin", report) && !existsSync(join(A.home, "docs/report.bin")),
  );
  expect((await listed(A, "docs/moved.bin"))?.local).toBe(true);
  const old = await meta(A, "docs/report.bin");
  expect(old.deleted).toBe(true);
  expect(old.versions.map((v) => v.deleted)).toEqual([true, false]); // newest first: the move's deletion, then the content
  expect((await meta(A, "docs/moved.bin")).versions.length).toBe(1); // the same manifest, not a new upload
  // Nothing was written on C: no plaintext, no chunk.
  expect(existsSync(join(C.home, "docs/moved.bin"))).toBe(false);
  expect(chunkCount(C)).toBe(chunksBefore);
}, 20_000);

test("a COPY on C of a file only A keeps is a new path on both, byte-identical; Overwrite F on an existing file is 412", async () => {
  const r = await dav(C, "COPY", "docs/moved.bin", "copies/report-copy.bin");
  expect(r.status).toBe(409); // no folder there: as before
  expect((await dav(C, "MKCOL", "copies")).status).toBe(201);
  expect((await dav(C, "COPY", "docs/moved.bin", "copies/report-copy.bin")).status).toBe(201);
  expect((await dav(C, "COPY", "docs/moved.bin", "docs/old.txt", { overwrite: "F" })).status).toBe(412);
  await until("the copy on A, in its GROVE_HOME", async () => homeHas(A, "copies/report-copy.bin", report));
  expect(await paths(A)).toContain("docs/moved.bin");
  expect(same(await read(A, "copies/report-copy.bin"), report)).toBe(true);
  expect(same(await read(C, "copies/report-copy.bin"), report)).toBe(true);
  expect((await listed(C, "copies/report-copy.bin"))?.local).toBe(false);
  expect(await read(A, "docs/old.txt")).toEqual(files["docs/old.txt"]!);
}, 20_000);

test("overwriting: a remote file moved over another of A's keeps the old one in A's history; over C's own, in C's", async () => {
  const copy = await dav(C, "MOVE", "copies/report-copy.bin", "docs/old.txt"); // Overwrite T by default
  expect(copy.status).toBe(204);
  await until("A to follow the move over old.txt", async () => {
    const m = await meta(A, "docs/old.txt");
    return m.versions.length === 2 && !(await paths(A)).includes("copies/report-copy.bin");
  });
  expect(same(await read(A, "docs/old.txt"), report)).toBe(true);
  const oldOnA = await A.api("/api/files/docs/old.txt?version=1");
  expect(new Uint8Array(await oldOnA.arrayBuffer())).toEqual(files["docs/old.txt"]!);
  await until("old.txt in A's GROVE_HOME is the moved file", () => homeHas(A, "docs/old.txt", report));

  // Over a file C keeps: deleted on C first (its history keeps it), then the tree's file is there.
  const notes = small("the phone's own notes, overwritten by a file it does not keep\n");
  expect((await dav(C, "MOVE", "docs/old.txt", "phone-notes.txt")).status).toBe(204);
  expect(await listed(C, "phone-notes.txt")).toMatchObject({ local: false, size: report.byteLength });
  expect(existsSync(join(C.home, "phone-notes.txt"))).toBe(false);
  const onC = await meta(C, "phone-notes.txt");
  expect(onC.versions.map((v) => v.deleted)).toEqual([true, false]);
  expect(new Uint8Array(await (await C.api("/api/files/phone-notes.txt?version=1")).arrayBuffer())).toEqual(notes);
  expect(same(await read(C, "phone-notes.txt"), report)).toBe(true);
  await until("A to follow", async () => homeHas(A, "phone-notes.txt", report) && !(await paths(A)).includes("docs/old.txt"));
  // A later change of C's reaches A after any event C made for the deletion: none deleted the moved file.
  await put(C, "marker.txt", small("later\n"));
  await until("C's next change on A", async () => (await paths(A)).includes("marker.txt"));
  expect(await paths(A)).toContain("phone-notes.txt");
  expect(await paths(C)).toContain("phone-notes.txt");
}, 20_000);

test("a folder of files kept on A and on C moves and copies as one: both kinds follow on both cells", async () => {
  const album = ["one.txt", "deep/two.txt", "from-phone.txt"];
  const bytesOf = (name: string) => files[`album/${name}`] ?? small("stored on the phone\n");
  const moved = await dav(C, "MOVE", "album", "photos", { depth: "infinity" });
  expect(moved.status).toBe(201);
  const want = album.map((n) => `photos/${n}`);
  const gone = album.map((n) => `album/${n}`);
  expect(has(await paths(C), want, gone)).toBe(true);
  await until("the folder move on A", async () => has(await paths(A), want, gone));
  await until("A's GROVE_HOME follows", () =>
    album.every((n) => homeHas(A, `photos/${n}`, bytesOf(n)) && !existsSync(join(A.home, `album/${n}`))),
  );
  // C's own file moved in C's GROVE_HOME; A's files stay on demand.
  expect(homeHas(C, "photos/from-phone.txt", bytesOf("from-phone.txt"))).toBe(true);
  expect(existsSync(join(C.home, "photos/one.txt"))).toBe(false);
  const old = await meta(A, "album/one.txt");
  // Seen once in a full suite and not reproduced since: say what A showed, to find out why.
  if (!old.deleted) console.error(`album/one.txt on A after the move: ${JSON.stringify(old)}\n--- A ---\n${A.output().slice(-6000)}`);
  expect(old.deleted).toBe(true);

  expect((await dav(C, "COPY", "photos", "photos-copy", { depth: "infinity" })).status).toBe(201);
  const copies = album.map((n) => `photos-copy/${n}`);
  await until("the folder copy on A", async () => has(await paths(A), [...copies, ...want]));
  for (const n of album) {
    expect(await read(C, `photos-copy/${n}`)).toEqual(bytesOf(n));
    await until(`photos-copy/${n} in A's GROVE_HOME`, () => homeHas(A, `photos-copy/${n}`, bytesOf(n)));
  }
  expect(homeHas(C, "photos-copy/from-phone.txt", bytesOf("from-phone.txt"))).toBe(true);
}, 20_000);

test("a copy made on C of content A stored is kept in A's index even on demand, so deleting the source loses nothing", async () => {
  // A becomes on demand (taken live): a path it does not keep is written only when pinned, or when its content is A's own.
  const cfgPath = join(A.dir, "config.json");
  writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, "utf8")), home_mode: "on-demand" }));
  await until("A to take home_mode on-demand", () => /taken at once.*home_mode/.test(A.output()));
  const body = small("A's content, copied by the phone\n");
  await put(A, "keep/source.txt", body);
  await until("keep/source.txt on C", async () => (await paths(C)).includes("keep/source.txt"));
  expect((await dav(C, "COPY", "keep/source.txt", "keep/copy.txt")).status).toBe(201);
  const copy = await until("the copy in A's index", async () => (await listed(A, "keep/copy.txt"))?.local && listed(A, "keep/copy.txt"));
  expect(copy?.cells).toContain(cellIdOf(A));
  await until("the copy in A's GROVE_HOME", () => homeHas(A, "keep/copy.txt", body));
  // The source goes: the copy still names the same content, and A's index keeps it live.
  expect((await A.api("/api/files/keep/source.txt", { method: "DELETE" })).status).toBeLessThan(300);
  await until("the source gone on C", async () => !(await paths(C)).includes("keep/source.txt"));
  expect(same(await read(C, "keep/copy.txt"), body)).toBe(true);
  expect((await meta(A, "keep/copy.txt")).deleted).toBe(false);
});
