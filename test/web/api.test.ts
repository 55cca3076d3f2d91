// The local HTTP API, in process (test/helpers/app): auth, upload/download, Range, metadata, delete, and bad input.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { setupCode } from "../helpers/cell.ts";
import { openApp, type TestApp } from "../helpers/app.ts";
import { pseudoRandom } from "../helpers/vault.ts";

let cell: TestApp;
beforeAll(() => {
  cell = openApp({ max_upload_bytes: 8 * 1024 * 1024 });
});
afterAll(() => cell.close());

/** A PUT with the token; HTTP clients (and the URL parser here) normalise `..` segments as a server does. */
const putRaw = async (path: string, body: string) => {
  const r = await cell.api(path, { method: "PUT", body });
  return { status: r.status, text: await r.text() };
};

const homeEntries = () => readdirSync(cell.home, { recursive: true }).map(String).sort();

describe("auth", () => {
  test("no credentials -> 401 with a message; wrong token -> 401", async () => {
    const r = await cell.request("/api/status");
    expect(r.status).toBe(401);
    expect((await r.json()).error).toContain("Bearer");
    const w = await cell.request("/api/files", { headers: { authorization: "Bearer nope" } });
    expect(w.status).toBe(401);
    const put = await cell.request("/api/files/x.txt", { method: "PUT", body: "x" });
    expect(put.status).toBe(401);
    expect(existsSync(join(cell.home, "x.txt"))).toBe(false);
  });
  test("the token works", async () => {
    const r = await cell.api("/api/status");
    expect(r.status).toBe(200);
    expect((await r.json()).id).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("files", () => {
  const data = pseudoRandom(5 * 1024 * 1024 + 3, 33);
  test("PUT streams a raw body in and returns the manifest (201), then 200 when unchanged", async () => {
    const r = await cell.api("/api/files/music/song%20one.flac", { method: "PUT", body: data });
    expect(r.status).toBe(201);
    const j = await r.json();
    expect(j.path).toBe("music/song one.flac");
    expect(j.manifest.total_size).toBe(data.byteLength);
    expect(j.manifest.chunks.length).toBe(2);
    const again = await cell.api("/api/files/music/song%20one.flac", { method: "PUT", body: data });
    expect(again.status).toBe(200);
    expect((await again.json()).created).toBe(false);
  });

  test("GET lists and returns the content with length, type and ETag", async () => {
    const list = await (await cell.api("/api/files")).json();
    expect(list.files).toContainEqual(expect.objectContaining({ path: "music/song one.flac", size: data.byteLength }));
    const r = await cell.api("/api/files/music/song%20one.flac");
    expect(r.status).toBe(200);
    // Bun drops Content-Length on streamed bodies (oven-sh/bun#10507); X-Grove-Length carries it.
    expect(r.headers.get("x-grove-length")).toBe(String(data.byteLength));
    expect(r.headers.get("accept-ranges")).toBe("bytes");
    expect(r.headers.get("etag")).toMatch(/^"[0-9a-f]{64}"$/);
    expect(Buffer.compare(new Uint8Array(await r.arrayBuffer()), data)).toBe(0);
    const head = await cell.api("/api/files/music/song%20one.flac", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(data.byteLength));
  });

  test("Range requests: a middle slice, an open end, a suffix; unsatisfiable -> 416", async () => {
    const cases: [string, number, number][] = [
      ["bytes=4194300-4194400", 4194300, 4194400],
      [`bytes=${data.byteLength - 10}-`, data.byteLength - 10, data.byteLength - 1],
      ["bytes=-5", data.byteLength - 5, data.byteLength - 1],
      ["bytes=0-0", 0, 0],
    ];
    for (const [h, s, e] of cases) {
      const r = await cell.api("/api/files/music/song%20one.flac", { headers: { range: h } });
      expect(r.status).toBe(206);
      expect(r.headers.get("content-range")).toBe(`bytes ${s}-${e}/${data.byteLength}`);
      expect(Buffer.compare(new Uint8Array(await r.arrayBuffer()), data.subarray(s, e + 1))).toBe(0);
    }
    const bad = await cell.api("/api/files/music/song%20one.flac", { headers: { range: `bytes=${data.byteLength}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("content-range")).toBe(`bytes */${data.byteLength}`);
  });

  test("?meta returns the manifest and the versions; DELETE moves the file to history", async () => {
    await cell.api("/api/files/music/song%20one.flac", { method: "PUT", body: "v2" });
    const meta = await (await cell.api("/api/files/music/song%20one.flac?meta")).json();
    expect(meta.manifest.total_size).toBe(2);
    expect(meta.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    const del = await cell.api("/api/files/music/song%20one.flac", { method: "DELETE" });
    expect(del.status).toBe(200);
    expect((await cell.api("/api/files/music/song%20one.flac")).status).toBe(404);
    expect(existsSync(join(cell.home, "music", "song one.flac"))).toBe(false);
    const after = await (await cell.api("/api/files/music/song%20one.flac?meta")).json();
    expect(after.deleted).toBe(true);
    expect(after.versions[0].deleted).toBe(true);
    const v1 = await cell.api("/api/files/music/song%20one.flac?version=1");
    expect(Buffer.compare(new Uint8Array(await v1.arrayBuffer()), data)).toBe(0);
    expect((await cell.api("/api/files/music/song%20one.flac", { method: "DELETE" })).status).toBe(404);
  });
});

describe("bad input: a clear 4xx, and nothing written", () => {
  test("traversal, absolute paths, NUL, bad encoding, over-long names", async () => {
    const before = homeEntries();
    const cases: [string, number][] = [
      ["/api/files/../../etc/passwd", 400], // normalised by HTTP to PUT /etc/passwd: not a route
      ["/api/files/a/../../../x", 400],
      ["/api/files/..%2f..%2fescape.txt", 400],
      ["/api/files/%2e%2e%2fescape.txt", 400],
      ["/api/files//etc/passwd", 400],
      ["/api/files/a%00b.txt", 400],
      ["/api/files/bad%zzencoding", 400],
      ["/api/files/" + "n".repeat(300), 400],
      ["/api/files/" + ("d".repeat(200) + "/").repeat(6) + "f", 400],
      ["/api/files/dir/.grove-upload-x", 400],
    ];
    for (const [path, status] of cases) {
      const r = await putRaw(path, "evil");
      expect({ path, status: r.status }).toEqual({ path, status });
      expect(r.text).toContain('"error"');
    }
    expect(homeEntries()).toEqual(before);
    expect(existsSync("/etc/passwd.grove")).toBe(false);
    const list = await (await cell.api("/api/files")).json();
    expect(list.files.some((f: { path: string }) => /escape|passwd|evil/.test(f.path))).toBe(false);
  });

  test("oversized uploads: 413 from Content-Length, and 413 for a streamed body that grows too big", async () => {
    const big = await cell.api("/api/files/big.bin", { method: "PUT", body: pseudoRandom(9 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect((await big.json()).error).toContain("max_upload_bytes");
    const chunks = [pseudoRandom(4 * 1024 * 1024, 1), pseudoRandom(5 * 1024 * 1024, 2)];
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next);
        else c.close();
      },
    });
    const streamed = await cell.api("/api/files/big2.bin", { method: "PUT", body: stream, duplex: "half" } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(existsSync(join(cell.home, "big.bin"))).toBe(false);
    expect(existsSync(join(cell.home, "big2.bin"))).toBe(false);
    expect(homeEntries().some((f) => f.includes(".grove-upload-"))).toBe(false);
  });

  test("bad query values and unknown routes", async () => {
    await cell.api("/api/files/q.txt", { method: "PUT", body: "q" });
    expect((await cell.api("/api/files/q.txt?version=abc")).status).toBe(400);
    expect((await cell.api("/api/files/q.txt?version=9")).status).toBe(404);
    expect((await cell.api("/api/nope")).status).toBe(404);
    expect((await cell.api("/api/nope", { method: "POST", body: "{" })).status).toBe(400);
    expect((await cell.api("/api/files?prefix=../x")).status).toBe(400);
  });

  test("a path that is a folder cannot be overwritten by a file (409)", async () => {
    await cell.api("/api/files/folder/inside.txt", { method: "PUT", body: "in" });
    const r = await cell.api("/api/files/folder", { method: "PUT", body: "x" });
    expect(r.status).toBe(409);
  });

  test("refusals are logged", () => {
    expect(cell.logs()).toContain("refused PUT");
  });
});

describe("local transfers (/api/local)", () => {
  test("the cell reads a local file and writes one back, answering in NDJSON", async () => {
    const { mkdtempSync, writeFileSync, readFileSync } = await import("node:fs");
    const dir = mkdtempSync(join(cell.root, "local-"));
    const data = pseudoRandom(4 * 1024 * 1024 + 9, 12);
    writeFileSync(join(dir, "in.bin"), data);
    const put = await cell.api("/api/local/put", {
      method: "POST",
      body: JSON.stringify({ source: join(dir, "in.bin"), path: "local/in.bin" }),
    });
    expect(put.headers.get("content-type")).toContain("ndjson");
    const lines = (await put.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.at(-1).result).toMatchObject({ path: "local/in.bin", created: true });
    const get = await cell.api("/api/local/get", {
      method: "POST",
      body: JSON.stringify({ path: "local/in.bin", dest: join(dir, "out.bin") }),
    });
    const last = JSON.parse((await get.text()).trim().split("\n").at(-1)!);
    expect(last.result.bytes).toBe(data.byteLength);
    expect(Buffer.compare(readFileSync(join(dir, "out.bin")), data)).toBe(0);
  });

  test("bad requests are refused before anything happens", async () => {
    const post = (body: string) => cell.api("/api/local/put", { method: "POST", body });
    expect((await post("{not json")).status).toBe(400);
    expect((await post(JSON.stringify({ source: "relative.txt", path: "x" }))).status).toBe(400);
    expect((await post(JSON.stringify({ source: "/nonexistent/file", path: "x" }))).status).toBe(400);
    expect((await post(JSON.stringify({ source: "/etc", path: "x" }))).status).toBe(400);
    expect((await post(JSON.stringify({ source: "/etc/hostname", path: "../x" }))).status).toBe(400);
    expect((await post(JSON.stringify({ source: "/etc/hostname", path: "x", extra: 1 }))).status).toBe(400);
    // A destination that does not exist yet, in a folder that does (not a fixed /tmp path another program may hold).
    const get = await cell.api("/api/local/get", {
      method: "POST",
      body: JSON.stringify({ path: "nope", dest: join(cell.root, "nope-out") }),
    });
    expect(get.status).toBe(404);
    const noDir = await cell.api("/api/local/get", { method: "POST", body: JSON.stringify({ path: "q.txt", dest: "/nonexistent-dir/x" }) });
    expect(noDir.status).toBe(400);
    const intoState = await cell.api("/api/local/get", {
      method: "POST",
      body: JSON.stringify({ path: "q.txt", dest: join(cell.dir, "root.key") }),
    });
    expect(intoState.status).toBe(400);
    expect((await intoState.json()).error).toContain("state folder");
  });
});

describe("dashboard session", () => {
  test("cookie requests that change state need the CSRF token", async () => {
    // First-run setup from loopback: form token cookie + password.
    const page = await cell.request("/setup");
    const formCookie = page.headers.get("set-cookie")!.split(";")[0]!;
    const formToken = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const noToken = await cell.request("/setup", {
      method: "POST",
      redirect: "manual",
      headers: { cookie: formCookie, "content-type": "application/x-www-form-urlencoded" },
      body: "password=correct-horse&confirm=correct-horse",
    });
    expect(noToken.status).toBe(403);
    const set = await cell.request("/setup", {
      method: "POST",
      redirect: "manual",
      headers: { cookie: formCookie, "content-type": "application/x-www-form-urlencoded" },
      body: `_csrf=${formToken}&code=${setupCode(cell)}&password=correct-horse&confirm=correct-horse`,
    });
    expect(set.status).toBe(303);
    expect(existsSync(join(cell.dir, "setup_code"))).toBe(false); // used up
    const setCookie = set.headers.get("set-cookie")!;
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    const session = setCookie.split(";")[0]!;
    expect(existsSync(join(cell.dir, "dashboard_auth"))).toBe(true);

    const files = await cell.request("/files", { headers: { cookie: session } });
    expect(files.status).toBe(200);
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(await files.text())![1]!;
    const forged = await cell.request("/api/files/c.txt", { method: "PUT", headers: { cookie: session }, body: "c" });
    expect(forged.status).toBe(403);
    expect(existsSync(join(cell.home, "c.txt"))).toBe(false);
    const ok = await cell.request("/api/files/c.txt", { method: "PUT", headers: { cookie: session, "x-csrf-token": csrf }, body: "c" });
    expect(ok.status).toBe(201);
    // A browser session may never name files on the disk, even with the CSRF token.
    const local = await cell.request("/api/local/put", {
      method: "POST",
      headers: { cookie: session, "x-csrf-token": csrf },
      body: JSON.stringify({ source: "/etc/hostname", path: "h" }),
    });
    expect(local.status).toBe(403);
    // Reads with the cookie need no token.
    expect(await (await cell.request("/api/files/c.txt", { headers: { cookie: session } })).text()).toBe("c");
    // Setup is closed once a password exists.
    const again = await cell.request("/setup", { redirect: "manual" });
    expect(again.status).toBe(302);
  });
});
