/**
 * /dav/ attacked as the front door is, against a real cell over real sockets: a foreign Host (DNS
 * rebinding) with the right token, a chunked PUT with no length past max_upload_bytes, traversal
 * and control bytes in the URL, a Destination outside the tree or on another host. Each is
 * refused with a 4xx, and nothing appears: not in the cell's tree, not in GROVE_HOME, not beside it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { request } from "node:http";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";

let c: TestCell;
beforeAll(async () => {
  c = await startCell({ config: { max_upload_bytes: 1024 * 1024 } });
}, 30_000);
afterAll(() => destroyCell(c));

const basic = () => `Basic ${Buffer.from(`anyone:${c.token}`).toString("base64")}`;

/** A raw HTTP request: the path is sent exactly as given (no URL normalisation of `..`). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: AsyncIterable<Uint8Array>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: c.port, method, path, headers }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    // A server that refuses a body early closes the socket while it is still being written (EPIPE):
    // the answer it sent before that is what counts.
    let answered = false;
    req.on("response", () => (answered = true));
    req.on("error", (e) => setTimeout(() => answered || reject(e), 500));
    if (!body) return req.end();
    void (async () => {
      try {
        for await (const piece of body) if (!req.write(piece)) await new Promise((r) => req.once("drain", r));
        req.end();
      } catch {
        req.destroy();
      }
    })();
  });
}

const host = () => `127.0.0.1:${c.port}`;
const homeNames = () => readdirSync(c.home);

describe("attacks on /dav/ against a real cell", () => {
  test("a rebound Host name gets 403 even with the right token, and stores nothing", async () => {
    const r = await raw(
      "PUT",
      "/dav/evil.txt",
      { Host: "rebind.attacker.test", Authorization: basic(), "Content-Length": "4" },
      (async function* () {
        yield new TextEncoder().encode("evil");
      })(),
    );
    expect(r.status).toBe(403);
    expect(homeNames()).not.toContain("evil.txt");
  });

  test("a chunked PUT with no length, past max_upload_bytes, is cut off with 413 and stores nothing", async () => {
    // fetch with a stream body sends Transfer-Encoding: chunked and no Content-Length, and reads the
    // answer even when the cell stops reading the body early.
    const piece = new Uint8Array(64 * 1024);
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent >= 4 * 1024 * 1024) return ctl.close(); // 4 MiB in all, against a 1 MiB limit
        sent += piece.byteLength;
        ctl.enqueue(piece);
      },
    });
    const r = await fetch(`${c.url}/dav/big.bin`, {
      method: "PUT",
      headers: { Authorization: basic() },
      body: endless,
      duplex: "half",
    } as RequestInit);
    expect(r.status).toBe(413);
    expect(homeNames()).not.toContain("big.bin");
    const listed = await raw("PROPFIND", "/dav/big.bin", { Host: host(), Authorization: basic(), Depth: "0" });
    expect(listed.status).toBe(404);
  });

  test.each([
    ["dot-dot", "/dav/../../escape.txt"],
    ["encoded dot-dot", "/dav/a/%2e%2e/%2e%2e/escape.txt"],
    ["encoded slash", "/dav/..%2f..%2fescape.txt"],
    ["NUL", "/dav/esc%00ape.txt"],
    ["ESC", "/dav/esc%1bape.txt"],
    ["a reserved upload name", "/dav/.grove-upload-x"],
  ])("a %s in the path is refused (4xx) and nothing is written anywhere", async (_what, path) => {
    const r = await raw(
      "PUT",
      path,
      { Host: host(), Authorization: basic(), "Content-Length": "1" },
      (async function* () {
        yield new Uint8Array([120]);
      })(),
    );
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.text).not.toContain(c.dir); // no server path in the answer
    expect(existsSync(join(c.home, "..", "escape.txt"))).toBe(false);
    expect(existsSync(join(c.root, "escape.txt"))).toBe(false);
    expect(homeNames().filter((n) => n.includes("esc"))).toEqual([]);
  });

  test("a MOVE whose Destination leaves the tree or names another host is refused; the file stays", async () => {
    const put = await raw(
      "PUT",
      "/dav/keep.txt",
      { Host: host(), Authorization: basic(), "Content-Length": "4" },
      (async function* () {
        yield new TextEncoder().encode("keep");
      })(),
    );
    expect(put.status).toBe(201);
    for (const dest of [
      `http://${host()}/dav/../../moved.txt`,
      `http://${host()}/elsewhere/moved.txt`,
      "http://attacker.test/dav/moved.txt",
    ]) {
      const r = await raw("MOVE", "/dav/keep.txt", { Host: host(), Authorization: basic(), Destination: dest });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(600);
      expect(r.status).not.toBe(500);
    }
    expect(homeNames()).toContain("keep.txt");
    expect(existsSync(join(c.root, "moved.txt"))).toBe(false);
    expect((await raw("GET", "/dav/keep.txt", { Host: host(), Authorization: basic() })).text).toBe("keep");
  });
});
