/**
 * /dav/ on a cell's app, in process (test/helpers/app): who may mount it (the API token as a Basic
 * password or a bearer token; never a dashboard session), streamed and empty PUTs, Range and
 * entity tags, folders (MKCOL, kept empty, deleted with their files to history), a MOVE kept in
 * history as a move and a COPY naming the same manifest (no re-sealing), GROVE_HOME following,
 * macOS's `._name` and `.DS_Store` not stored, locks and the If header, and the body limits.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { openApp, type TestApp } from "../helpers/app.ts";
import { SessionStore } from "../../src/web/sessions.ts";

const MAX = 2 * 1024 * 1024;
let cell: TestApp;
let basic: string;
beforeAll(() => {
  cell = openApp({ max_upload_bytes: MAX });
  basic = "Basic " + Buffer.from(`anyone:${cell.token}`).toString("base64");
});
afterAll(() => cell.close());

function dav(method: string, path: string, init: { headers?: Record<string, string>; body?: BodyInit | null } = {}): Promise<Response> {
  const headers = { authorization: basic, ...(init.headers ?? {}) };
  return cell.request(path, {
    method,
    headers,
    body: init.body ?? undefined,
    ...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
}

/** A body of `n` bytes in pieces, as a client streaming with Transfer-Encoding: chunked sends it (no length). */
function chunked(bytes: Uint8Array, piece = 7000): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, (at += piece)));
    },
  });
}

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);
const api = async (path: string) => (await cell.api(path)).json();
const hrefs = (xml: string) => [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => decodeURIComponent(m[1]!));

describe("who may mount /dav/", () => {
  test("without credentials: 401 with a Basic challenge; a wrong token: 401", async () => {
    const r = await cell.request("/dav/", { method: "PROPFIND", headers: { depth: "0" } });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe('Basic realm="Grove", charset="UTF-8"');
    const w = await cell.request("/dav/", {
      method: "PROPFIND",
      headers: { depth: "0", authorization: "Basic " + Buffer.from("me:wrong").toString("base64") },
    });
    expect(w.status).toBe(401);
  });

  test("a dashboard session is not enough (no CSRF protection there), even with its CSRF token", async () => {
    const s = new SessionStore(cell.rt.cell.db.db).create();
    const headers = { cookie: `grove_session=${s.token}`, "x-csrf-token": s.csrf };
    expect((await cell.request("/api/status", { headers })).status).toBe(200); // the session is real
    for (const method of ["PROPFIND", "GET", "PUT", "DELETE", "MKCOL"]) {
      const r = await cell.request("/dav/session-test", { method, headers, body: method === "PUT" ? "x" : undefined });
      expect(r.status).toBe(401);
    }
  });

  test("the token as the Basic password (any user name) or as a bearer token; the Host check still applies", async () => {
    expect((await dav("OPTIONS", "/dav/")).headers.get("dav")).toBe("1, 2");
    const b = await cell.request("/dav/", { method: "PROPFIND", headers: { depth: "0", authorization: `Bearer ${cell.token}` } });
    expect(b.status).toBe(207);
    const foreign = await dav("PROPFIND", "/dav/", { headers: { depth: "0", host: "rebind.attacker.test" } });
    expect(foreign.status).toBe(403);
  });
});

describe("files", () => {
  test("a chunked PUT with no Content-Length is stored, then read back whole and by range", async () => {
    const data = bytes(300_000);
    const put = await dav("PUT", "/dav/big%20file.bin", { body: chunked(data) });
    expect(put.status).toBe(201);
    const etag = put.headers.get("etag")!;
    const get = await dav("GET", "/dav/big%20file.bin");
    expect(get.headers.get("etag")).toBe(etag);
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(data);
    const part = await dav("GET", "/dav/big%20file.bin", { headers: { range: "bytes=1000-1999" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 1000-1999/300000");
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(data.slice(1000, 2000));
    const head = await dav("HEAD", "/dav/big%20file.bin");
    expect(head.headers.get("content-length")).toBe("300000");
    expect((await dav("GET", "/dav/big%20file.bin", { headers: { "if-none-match": etag } })).status).toBe(304);
    expect(readFileSync(join(cell.home, "big file.bin"))).toEqual(Buffer.from(data));
    const meta = await api("/api/files/big%20file.bin?meta");
    expect(etag).toBe(`"${Buffer.from(meta.current.file_hash, "hex").toString("base64url")}"`);
  });

  test("an empty PUT first, then the content (as Finder and davfs2 do): two versions, 201 then 204", async () => {
    expect((await dav("PUT", "/dav/note.txt", { body: "" })).status).toBe(201);
    expect((await dav("GET", "/dav/note.txt")).headers.get("content-length")).toBe("0");
    expect((await dav("PUT", "/dav/note.txt", { body: chunked(new TextEncoder().encode("hello")) })).status).toBe(204);
    expect(await (await dav("GET", "/dav/note.txt")).text()).toBe("hello");
    expect((await api("/api/files/note.txt?meta")).versions.length).toBe(2);
  });

  test("a streamed PUT past max_upload_bytes is refused (413) and stores nothing; If-Match / If-None-Match are honoured", async () => {
    const r = await dav("PUT", "/dav/too-big.bin", { body: chunked(bytes(MAX + 10_000), 64 * 1024) });
    expect(r.status).toBe(413);
    expect((await dav("GET", "/dav/too-big.bin")).status).toBe(404);
    expect((await dav("PUT", "/dav/note.txt", { body: "x", headers: { "if-match": '"nope"' } })).status).toBe(412);
    expect((await dav("PUT", "/dav/note.txt", { body: "x", headers: { "if-none-match": "*" } })).status).toBe(412);
    expect((await dav("PUT", "/dav/fresh.txt", { body: "x", headers: { "if-none-match": "*" } })).status).toBe(201);
    expect(await (await dav("GET", "/dav/note.txt")).text()).toBe("hello");
  });

  test("PUT and MKCOL need the parent folder (409); MKCOL with a body is 415", async () => {
    expect((await dav("PUT", "/dav/nowhere/x.txt", { body: "x" })).status).toBe(409);
    expect((await dav("MKCOL", "/dav/nowhere/deeper/")).status).toBe(409);
    expect((await dav("MKCOL", "/dav/withbody/", { body: "abc", headers: { "content-type": "x/y" } })).status).toBe(415);
  });
});

describe("folders, moves and copies", () => {
  test("MKCOL keeps an empty folder: listed at Depth 1, made in GROVE_HOME; Depth infinity on a folder is refused", async () => {
    expect((await dav("MKCOL", "/dav/Empty%20%C3%A9t%C3%A9/")).status).toBe(201);
    expect((await dav("MKCOL", "/dav/Empty%20%C3%A9t%C3%A9/")).status).toBe(405);
    const list = await dav("PROPFIND", "/dav/", { headers: { depth: "1" } });
    expect(list.status).toBe(207);
    const xml = await list.text();
    expect(hrefs(xml)).toContain("/dav/Empty été/");
    expect(xml).toContain("<D:resourcetype><D:collection/></D:resourcetype>");
    expect(statSync(join(cell.home, "Empty été")).isDirectory()).toBe(true);
    const inf = await dav("PROPFIND", "/dav/", { headers: { depth: "infinity" } });
    expect(inf.status).toBe(403);
    expect(await inf.text()).toContain("propfind-finite-depth");
  });

  test("a MOVE is kept as a move: a deletion at the old path, the same manifest at the new one; GROVE_HOME and properties follow", async () => {
    await dav("MKCOL", "/dav/docs/");
    await dav("PUT", "/dav/docs/a.txt", { body: "alpha" });
    const patch = await dav("PROPPATCH", "/dav/docs/a.txt", {
      body: `<?xml version="1.0"?><propertyupdate xmlns="DAV:"><set><prop><c:color xmlns:c="urn:test">blue</c:color></prop></set></propertyupdate>`,
    });
    expect(patch.status).toBe(207);
    expect(await patch.text()).toContain("HTTP/1.1 200 OK");
    const before = await api("/api/files/docs/a.txt?meta");
    const mv = await dav("MOVE", "/dav/docs/a.txt", { headers: { destination: "http://127.0.0.1:5678/dav/Empty%20%C3%A9t%C3%A9/b.txt" } });
    expect(mv.status).toBe(201);
    const old = await api("/api/files/docs/a.txt?meta");
    expect(old.deleted).toBe(true);
    expect(old.versions[0].deleted).toBe(true);
    const moved = await api("/api/files/Empty%20%C3%A9t%C3%A9/b.txt?meta");
    expect(moved.versions.length).toBe(1);
    expect(moved.current.manifest_hash).toBe(before.current.manifest_hash);
    expect(existsSync(join(cell.home, "docs", "a.txt"))).toBe(false);
    expect(readFileSync(join(cell.home, "Empty été", "b.txt"), "utf8")).toBe("alpha");
    // The folder it left stays (a collection does not vanish with its last member).
    expect((await dav("PROPFIND", "/dav/docs/", { headers: { depth: "0" } })).status).toBe(207);
    const props = await dav("PROPFIND", "/dav/Empty%20%C3%A9t%C3%A9/b.txt", {
      headers: { depth: "0" },
      body: `<propfind xmlns="DAV:"><prop><c:color xmlns:c="urn:test"/></prop></propfind>`,
    });
    expect(await props.text()).toContain(`<g:color xmlns:g="urn:test">blue</g:color>`);
  });

  test("COPY of a folder (Depth infinity) names the same manifests; Overwrite: F onto an existing one is 412; DELETE of a folder sends its files to history", async () => {
    await dav("PUT", "/dav/docs/one.txt", { body: "1" });
    await dav("MKCOL", "/dav/docs/sub/");
    await dav("PUT", "/dav/docs/sub/two.txt", { body: "22" });
    expect((await dav("COPY", "/dav/docs/", { headers: { destination: "/dav/copy/" } })).status).toBe(201);
    expect((await dav("COPY", "/dav/docs/", { headers: { destination: "/dav/copy/", overwrite: "F" } })).status).toBe(412);
    const src = await api("/api/files/docs/sub/two.txt?meta");
    const dst = await api("/api/files/copy/sub/two.txt?meta");
    expect(dst.current.manifest_hash).toBe(src.current.manifest_hash);
    expect(readFileSync(join(cell.home, "copy", "sub", "two.txt"), "utf8")).toBe("22");
    expect((await dav("DELETE", "/dav/copy/")).status).toBe(204);
    expect((await dav("PROPFIND", "/dav/copy/", { headers: { depth: "0" } })).status).toBe(404);
    const gone = await api("/api/files/copy/sub/two.txt?meta");
    expect(gone.deleted).toBe(true);
    expect(gone.versions.map((v: { deleted: boolean }) => v.deleted)).toEqual([true, false]);
    expect(existsSync(join(cell.home, "copy"))).toBe(false);
  });
});

describe("macOS metadata, locks, limits", () => {
  test("`._name` and `.DS_Store` are accepted and not stored", async () => {
    for (const name of ["._big%20file.bin", ".DS_Store", "docs/._one.txt"]) {
      expect((await dav("PUT", `/dav/${name}`, { body: chunked(bytes(5000)) })).status).toBe(201);
      expect((await dav("GET", `/dav/${name}`)).status).toBe(404);
      expect((await dav("DELETE", `/dav/${name}`)).status).toBe(204);
    }
    const files = (await api("/api/files")).files.map((f: { path: string }) => f.path);
    expect(files.filter((p: string) => p.includes("._") || p.includes(".DS_Store"))).toEqual([]);
    expect(existsSync(join(cell.home, ".DS_Store"))).toBe(false);
  });

  test("a LOCK on an unmapped URL makes an empty locked file; writes need its token (If header); UNLOCK frees it", async () => {
    const lockinfo = `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>test</D:owner></D:lockinfo>`;
    const l = await dav("LOCK", "/dav/locked.txt", { headers: { depth: "0", timeout: "Second-600" }, body: lockinfo });
    expect(l.status).toBe(201);
    const token = l.headers.get("lock-token")!.slice(1, -1);
    expect(token).toStartWith("urn:uuid:");
    expect(await l.text()).toContain("<D:timeout>Second-600</D:timeout>");
    expect((await dav("PUT", "/dav/locked.txt", { body: "no token" })).status).toBe(423);
    expect((await dav("DELETE", "/dav/locked.txt")).status).toBe(423);
    expect((await dav("MOVE", "/dav/locked.txt", { headers: { destination: "/dav/elsewhere.txt" } })).status).toBe(423);
    expect((await dav("LOCK", "/dav/locked.txt", { body: lockinfo })).status).toBe(423);
    expect((await dav("PUT", "/dav/locked.txt", { body: "with token", headers: { if: `(<${token}>)` } })).status).toBe(204);
    expect((await dav("PUT", "/dav/locked.txt", { body: "x", headers: { if: "(<DAV:no-lock>)" } })).status).toBe(412);
    expect((await dav("UNLOCK", "/dav/locked.txt", { headers: { "lock-token": "<urn:uuid:bogus>" } })).status).toBe(409);
    expect((await dav("UNLOCK", "/dav/locked.txt", { headers: { "lock-token": `<${token}>` } })).status).toBe(204);
    expect((await dav("PUT", "/dav/locked.txt", { body: "free" })).status).toBe(204);
    expect(await (await dav("GET", "/dav/locked.txt")).text()).toBe("free");
  });

  test("XML bodies are bounded (64 KiB) and must be well-formed", async () => {
    expect((await dav("PROPFIND", "/dav/", { headers: { depth: "0" }, body: "<a>" + "x".repeat(70_000) + "</a>" })).status).toBe(413);
    expect((await dav("PROPFIND", "/dav/", { headers: { depth: "0" }, body: "<foo>" })).status).toBe(400);
  });
});
