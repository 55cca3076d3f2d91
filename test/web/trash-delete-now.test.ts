/**
 * The Trash's deleted files in process (views/trash, web/files-pages, trash/deleted-files; issue
 * 22 point 3): each says when the collection would take it (version_retention_s plus
 * trash_retention_s after its last content version; "when you delete it" without retention),
 * "Delete now" removes one file's whole history for good (with the chunks only it used), "Empty
 * trash now" removes every deleted file and purged version; both behind the in-page
 * confirmation; a bad request answers a 4xx, says why and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openApp, type TestApp } from "../helpers/app.ts";
import { firstRunSession } from "../helpers/cell.ts";
import { deletedCollectAfter } from "../../src/trash/deleted-files.ts";

const DAY = 86_400;
let cell: TestApp;
let session = "";
let csrf = "";

const post = (path: string, form: Record<string, string>, withCsrf = true) =>
  cell.request(path, {
    method: "POST",
    headers: {
      cookie: session,
      ...(withCsrf ? { "x-csrf-token": csrf } : {}),
      "content-type": "application/x-www-form-urlencoded",
      "hx-request": "true",
    },
    body: new URLSearchParams(form).toString(),
  });
const put = async (path: string, body: string) =>
  expect((await cell.api(`/api/files/${encodeURI(path)}`, { method: "PUT", body })).status).toBe(201);
const del = async (path: string) => expect((await cell.api(`/api/files/${encodeURI(path)}`, { method: "DELETE" })).status).toBe(200);
const versions = (path: string) =>
  (cell.rt.cell.db.db.query("SELECT COUNT(*) AS n FROM file_versions WHERE path = ?").get(path) as { n: number }).n;
const trashPage = async () => (await cell.request("/files/trash", { headers: { cookie: session } })).text();
const chunkFiles = () => (cell.rt.cell.db.db.query("SELECT COUNT(*) AS n FROM chunks").get() as { n: number }).n;

beforeAll(async () => {
  cell = openApp({ name: "cell-a", version_retention_s: 30 * DAY, trash_retention_s: 7 * DAY });
  ({ cookie: session, csrf } = await firstRunSession((path, init) => cell.request(path, init), cell.dir));
});

afterAll(() => cell.close());

describe("deleted files in the Trash", () => {
  test("each says when the collection takes it: its last content version, plus version and trash retention", async () => {
    await put("old/one.txt", "first");
    await put("old/one.txt", "second");
    await del("old/one.txt");
    const last = (
      cell.rt.cell.db.db
        .query("SELECT MAX(at) AS at FROM file_versions WHERE path = ? AND manifest_hash IS NOT NULL")
        .get("old/one.txt") as {
        at: number;
      }
    ).at;
    const after = deletedCollectAfter(cell.rt.cell.db.db, cell.rt.cell.config);
    expect(after.get("old/one.txt")).toBe(last + 37 * DAY * 1000);
    expect(deletedCollectAfter(cell.rt.cell.db.db, { trash_retention_s: 7 * DAY, version_retention_s: 0 }).get("old/one.txt")).toBeNull();
    const html = await trashPage();
    const row = html.slice(html.indexOf('data-path="old/one.txt"'), html.indexOf("</tr>", html.indexOf('data-path="old/one.txt"')));
    expect(row).toContain('data-label="Deleted for good"');
    expect(row).toContain("in 37 days");
    expect(row).toContain('hx-post="/files/trash/delete-file-now"');
    expect(row).toContain('hx-confirm="Delete one.txt and its whole history for good now? It cannot be brought back."');
    expect(html).toContain('id="empty-trash"');
    expect(html).toContain("Empty the trash now? 1 deleted file with its history will be deleted for good");
  });

  test("Delete now: the file's whole history goes for good, with the chunks only it used; a bad one is refused, nothing changed", async () => {
    await put("keep/shared.txt", "same bytes");
    await put("gone/shared.txt", "same bytes");
    await put("gone/own.txt", "only here");
    await del("gone/own.txt");
    await del("gone/shared.txt");
    const before = chunkFiles();

    // Refusals: not a deleted file (a live one, an unknown one), a bad path, no CSRF token.
    const live = await post("/files/trash/delete-file-now", { path: "keep/shared.txt" });
    expect(live.status).toBe(404);
    expect(await live.text()).toContain("is not a deleted file in the trash");
    expect(versions("keep/shared.txt")).toBe(1);
    expect((await post("/files/trash/delete-file-now", { path: "../etc/passwd" })).status).toBe(400);
    expect((await post("/files/trash/delete-file-now", { path: "gone/own.txt" }, false)).status).toBe(403);
    expect(versions("gone/own.txt")).toBe(2);

    const res = await post("/files/trash/delete-file-now", { path: "gone/own.txt" });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("gone/own.txt and its history are deleted for good.");
    expect(html).not.toContain('data-path="gone/own.txt"');
    expect(versions("gone/own.txt")).toBe(0);
    expect(chunkFiles()).toBe(before - 1); // its own chunk; none shared
    expect((await cell.api("/api/trash")).status).toBe(200);
    const trash = (await (await cell.api("/api/trash")).json()) as { versions: { path: string }[] };
    expect(trash.versions.filter((v) => v.path === "gone/own.txt")).toEqual([]);

    // The other deleted file's content is still needed by a live file: deleting it now keeps the chunk.
    expect((await post("/files/trash/delete-file-now", { path: "gone/shared.txt" })).status).toBe(200);
    expect(versions("gone/shared.txt")).toBe(0);
    expect(await (await cell.api("/api/files/keep/shared.txt")).text()).toBe("same bytes");
  });

  test("Empty trash now: every deleted file and purged version goes for good; live files stay", async () => {
    await put("e/a.txt", "a1");
    await put("e/a.txt", "a2");
    expect((await cell.api("/api/files/e/a.txt?purge=1", { method: "DELETE" })).status).toBe(200);
    await put("e/b.txt", "b1");
    await del("e/b.txt");
    expect((await post("/files/trash/empty", {}, false)).status).toBe(403);
    expect(versions("e/b.txt")).toBe(2);

    const html = await (await post("/files/trash/empty", {})).text();
    expect(html).toMatch(/Trash emptied: \d+ deleted files? and \d+ purged versions? deleted for good/);
    expect(html).not.toContain('id="empty-trash"'); // nothing left to empty
    expect(html).toContain("No deleted files.");
    expect(html).toContain("No purged versions.");
    expect(versions("e/b.txt")).toBe(0);
    expect(versions("old/one.txt")).toBe(0);
    expect(await (await cell.api("/api/files/e/a.txt")).text()).toBe("a2");
    const trash = (await (await cell.api("/api/trash")).json()) as { versions: unknown[]; chunks: { local: boolean }[] };
    expect(trash.versions).toEqual([]);
    expect(trash.chunks.filter((c) => c.local)).toEqual([]);
  });
});
