/**
 * The Files tab as a file manager, in process (web/files-edit-pages, web/files-pages; issue 22
 * point 2): New folder (kept while empty), rename and move of a file or a folder (kept as a move
 * in history: the old path ends with a deletion, the new one starts with the same manifest),
 * "Move selected" into a folder, "Delete selected" with one Undo for all, a folder's Delete; each refusal (a taken name, `..`, a
 * control character, nothing there, no CSRF token) changes nothing. A file's page previews text
 * (escaped), images, audio and video (players on the API's Range answers) and PDF (an <iframe> of
 * the API's answer, inline, framed only by the dashboard's origin, and a link to open it in a tab).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openApp, type TestApp } from "../helpers/app.ts";
import { firstRunSession } from "../helpers/cell.ts";

let cell: TestApp;
let session = "";
let csrf = "";

const post = (path: string, form: Record<string, string | string[]>, opts: { csrf?: boolean; htmx?: boolean } = {}) => {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
  return cell.request(path, {
    method: "POST",
    redirect: "manual",
    headers: {
      cookie: session,
      ...(opts.csrf === false ? {} : { "x-csrf-token": csrf }),
      "content-type": "application/x-www-form-urlencoded",
      ...(opts.htmx === false ? {} : { "hx-request": "true" }),
    },
    body: body.toString(),
  });
};

/** The toast an answer carries in HX-Trigger, or null. */
function toastOf(res: Response): { message: string; kind: string } | null {
  const raw = res.headers.get("hx-trigger");
  return raw ? ((JSON.parse(raw) as Record<string, { message: string; kind: string }>)["grove:toast"] ?? null) : null;
}

const put = async (path: string, body: string | Uint8Array<ArrayBuffer>) =>
  expect((await cell.api(`/api/files/${encodeURI(path)}`, { method: "PUT", body })).status).toBe(201);
const text = async (path: string) => {
  const r = await cell.api(`/api/files/${encodeURI(path)}`);
  return r.status === 200 ? r.text() : null;
};
type Meta = { deleted: boolean; versions: { version: number; manifest_hash: string | null; deleted: boolean }[] };
const meta = async (path: string) => (await (await cell.api(`/api/files/${encodeURI(path)}?meta`)).json()) as Meta;
const rows = (html: string) => [...html.matchAll(/<tr(?: class="dir")? data-path="([^"]+)"/g)].map((m) => m[1]);
const listOf = async (dir: string) =>
  rows(await (await cell.request(`/files/list?dir=${encodeURIComponent(dir)}`, { headers: { cookie: session } })).text());

beforeAll(async () => {
  cell = openApp({ name: "cell-a" });
  ({ cookie: session, csrf } = await firstRunSession((path, init) => cell.request(path, init), cell.dir));
  await put("notes/a.txt", "alpha");
  await put("notes/b.txt", "bravo");
  await put("notes/c.txt", "charlie");
  await put("pics/red.png", Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  await put("pics/page.html", "<script>alert(1)</script><b>bold</b>");
  await put("pics/blob.bin", "binary");
});

afterAll(() => cell.close());

describe("New folder", () => {
  test("makes an empty folder, listed, in GROVE_HOME too; the list comes back with a toast", async () => {
    const res = await post("/files/mkdir", { dir: "notes", name: " Empty one " });
    expect(res.status).toBe(200);
    expect(toastOf(res)).toEqual({ message: "Folder Empty one made.", kind: "ok" });
    expect(rows(await res.text())).toContain("notes/Empty one");
    expect(await listOf("notes")).toContain("notes/Empty one");
    expect(existsSync(join(cell.home, "notes", "Empty one"))).toBe(true);
    // Without JavaScript: back to the folder.
    const plain = await post("/files/mkdir", { dir: "", name: "top" }, { htmx: false });
    expect(plain.status).toBe(303);
    expect(plain.headers.get("location")).toBe("/files");
    expect(await listOf("")).toContain("top");
  });

  test("a taken name, '..', a control character, an empty name, no CSRF token: refused, nothing made", async () => {
    const taken = await post("/files/mkdir", { dir: "notes", name: "a.txt" });
    expect(taken.status).toBe(409);
    expect(toastOf(taken)).toEqual({ message: "No folder made: 'notes/a.txt' is taken by a file: choose another name", kind: "error" });
    expect((await post("/files/mkdir", { dir: "notes", name: "Empty one" })).status).toBe(409);
    const up = await post("/files/mkdir", { dir: "notes", name: "../escape" });
    expect(up.status).toBe(400);
    expect(toastOf(up)?.message).toContain("'..' segment");
    const ctl = await post("/files/mkdir", { dir: "", name: "bad\u0007name" });
    expect(ctl.status).toBe(400);
    expect(toastOf(ctl)?.message).toContain("control character");
    expect((await post("/files/mkdir", { dir: "", name: "  " })).status).toBe(400);
    expect((await post("/files/mkdir", { dir: "", name: "nocsrf" }, { csrf: false })).status).toBe(403);
    expect(await listOf("")).not.toContain("nocsrf");
    expect(await listOf("")).not.toContain("escape");
    expect(existsSync(join(cell.root, "escape"))).toBe(false);
  });
});

describe("Rename or move", () => {
  test("a rename is a move in history: the old path deleted, the new one starting with the same manifest", async () => {
    const before = await meta("notes/a.txt");
    const res = await post("/files/move", { from: "notes/a.txt", to: "notes/alpha.txt", dir: "notes" });
    expect(res.status).toBe(200);
    expect(toastOf(res)).toEqual({ message: "Renamed a.txt to alpha.txt.", kind: "ok" });
    const listed = rows(await res.text());
    expect(listed).toContain("notes/alpha.txt");
    expect(listed).not.toContain("notes/a.txt");
    expect(await text("notes/alpha.txt")).toBe("alpha");
    const old = await meta("notes/a.txt");
    expect(old.deleted).toBe(true);
    expect(old.versions[0]?.deleted).toBe(true); // newest first
    const now = await meta("notes/alpha.txt");
    expect(now.versions.at(-1)?.manifest_hash).toBe(before.versions[0]!.manifest_hash);
    expect(existsSync(join(cell.home, "notes", "alpha.txt"))).toBe(true);
    expect(existsSync(join(cell.home, "notes", "a.txt"))).toBe(false);
  });

  test("into another folder, and a whole folder", async () => {
    const res = await post("/files/move", { from: "notes/b.txt", to: "notes/Empty one/b.txt", dir: "notes" });
    expect(res.status).toBe(200);
    expect(toastOf(res)?.message).toBe("Moved b.txt to notes/Empty one.");
    expect(await text("notes/Empty one/b.txt")).toBe("bravo");
    expect((await meta("notes/b.txt")).deleted).toBe(true);
    const folder = await post("/files/move", { from: "notes/Empty one", to: "archive/kept", dir: "notes" });
    expect(folder.status).toBe(200);
    expect(toastOf(folder)?.message).toBe("Moved Empty one into the new folder archive as kept.");
    expect(await text("archive/kept/b.txt")).toBe("bravo");
    expect(await text("notes/Empty one/b.txt")).toBeNull();
    expect(await listOf("notes")).not.toContain("notes/Empty one");
  });

  test("a taken name, '..', a missing file, itself, a folder into itself, no CSRF token: refused, nothing changed", async () => {
    const taken = await post("/files/move", { from: "notes/c.txt", to: "notes/alpha.txt", dir: "notes" });
    expect(taken.status).toBe(409);
    expect(toastOf(taken)).toEqual({ message: "Not moved: 'notes/alpha.txt' is taken by a file: choose another name", kind: "error" });
    const up = await post("/files/move", { from: "notes/c.txt", to: "notes/../c.txt", dir: "notes" });
    expect(up.status).toBe(400);
    expect(toastOf(up)?.message).toContain("'..' segment");
    expect((await post("/files/move", { from: "notes/c.txt", to: "notes/c\u0001.txt", dir: "notes" })).status).toBe(400);
    expect((await post("/files/move", { from: "notes/c.txt", to: "notes/alpha.txt/c.txt", dir: "notes" })).status).toBe(409);
    expect((await post("/files/move", { from: "notes/none.txt", to: "notes/x.txt", dir: "notes" })).status).toBe(404);
    expect((await post("/files/move", { from: "notes/c.txt", to: "notes/c.txt", dir: "notes" })).status).toBe(400);
    expect((await post("/files/move", { from: "archive", to: "archive/kept/inner", dir: "" })).status).toBe(400);
    expect((await post("/files/move", { from: "notes/c.txt", to: "notes/d.txt", dir: "notes" }, { csrf: false })).status).toBe(403);
    expect(await text("notes/c.txt")).toBe("charlie");
    expect(await text("notes/d.txt")).toBeNull();
    expect(await text("notes/alpha.txt")).toBe("alpha");
    expect((await meta("notes/c.txt")).versions.length).toBe(1);
  });
});

describe("Move selected", () => {
  test("the files ticked go into a folder, as moves; a taken name or a bad folder moves none of them", async () => {
    await put("sel/one.txt", "1");
    await put("sel/two.txt", "2");
    await put("sel/dest/two.txt", "there already");
    const taken = await post("/files/move-many", { path: ["sel/one.txt", "sel/two.txt"], to_dir: "sel/dest", dir: "sel" });
    expect(taken.status).toBe(409);
    expect(toastOf(taken)?.message).toBe("Nothing moved: 'sel/dest/two.txt' is taken by a file: choose another name");
    expect(await text("sel/one.txt")).toBe("1");
    expect((await post("/files/move-many", { path: ["sel/one.txt"], to_dir: "../up", dir: "sel" })).status).toBe(400);
    expect((await post("/files/move-many", { path: ["sel/one.txt"], to_dir: "sel", dir: "sel" })).status).toBe(400);
    expect((await post("/files/move-many", { path: ["sel/one.txt"], to_dir: "x" }, { csrf: false })).status).toBe(403);
    const ok = await post("/files/move-many", { path: ["sel/one.txt"], to_dir: "/sel/dest/", dir: "sel" });
    expect(ok.status).toBe(200);
    expect(toastOf(ok)).toEqual({ message: "1 file moved to sel/dest.", kind: "ok" });
    expect(await text("sel/dest/one.txt")).toBe("1");
    expect((await meta("sel/one.txt")).versions[0]?.deleted).toBe(true);
    const top = await post("/files/move-many", { path: ["sel/two.txt", "sel/dest/one.txt"], to_dir: "", dir: "sel" });
    expect(toastOf(top)?.message).toBe("2 files moved to the top folder.");
    expect(await text("two.txt")).toBe("2");
    expect(await text("one.txt")).toBe("1");
    // Into a folder that is not there yet: the move makes it, and says so.
    const fresh = await post("/files/move-many", { path: ["two.txt", "one.txt"], to_dir: "fresh/new", dir: "" });
    expect(toastOf(fresh)?.message).toBe("2 files moved into the new folder fresh/new.");
    expect(await text("fresh/new/one.txt")).toBe("1");
    expect(rows(await fresh.text())).toContain("fresh");
  });
});

describe("Rename or move on a file's own page", () => {
  const detail = async (path: string) =>
    (await cell.request(`/files/detail?path=${encodeURIComponent(path)}`, { headers: { cookie: session } })).text();

  test("the page offers it; done, it goes to the file's new page with the toast; refused, nothing changed", async () => {
    await put("page/report.txt", "report");
    const html = await detail("page/report.txt");
    expect(html).toContain('aria-label="Rename or move report.txt"');
    expect(html).toContain('<input type="hidden" name="then" value="page"/>');
    expect(html).toContain(`<input type="hidden" name="_csrf" value="${csrf}"/>`);
    // With htmx: HX-Redirect to the new page, the toast carried in HX-Trigger.
    const res = await post("/files/move", { from: "page/report.txt", to: "page/final.txt", dir: "page", then: "page" });
    expect(res.status).toBe(200);
    expect(res.headers.get("hx-redirect")).toBe("/files/detail?path=page%2Ffinal.txt");
    expect(toastOf(res)).toEqual({ message: "Renamed report.txt to final.txt.", kind: "ok" });
    expect(await text("page/final.txt")).toBe("report");
    // A plain form post: sent to the new page.
    const plain = await post("/files/move", { from: "page/final.txt", to: "done/final.txt", dir: "page", then: "page" }, { htmx: false });
    expect(plain.status).toBe(303);
    expect(plain.headers.get("location")).toBe("/files/detail?path=done%2Ffinal.txt");
    expect(await text("done/final.txt")).toBe("report");
    // Refused: an error toast, no redirect, nothing moved.
    await put("done/other.txt", "other");
    const taken = await post("/files/move", { from: "done/final.txt", to: "done/other.txt", dir: "done", then: "page" });
    expect(taken.status).toBe(409);
    expect(taken.headers.get("hx-redirect")).toBeNull();
    expect(toastOf(taken)?.kind).toBe("error");
    expect(await text("done/final.txt")).toBe("report");
    expect(await text("done/other.txt")).toBe("other");
    // A deleted file's page offers no rename.
    expect(await detail("page/report.txt")).not.toContain("Rename or move report.txt");
  });
});

describe("Delete selected, and a folder's Delete", () => {
  test("several files to the Trash, one toast with one Undo for all of them", async () => {
    await put("bulk/one.txt", "1");
    await put("bulk/two.txt", "2");
    await put("bulk/three.txt", "3");
    const res = await post("/files/delete-many", { path: ["bulk/one.txt", "bulk/two.txt"], dir: "bulk" });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("2 files moved to the Trash.");
    expect(html).toContain('hx-post="/files/undelete"');
    expect(rows(html)).toEqual(["bulk/three.txt"]);
    expect((await meta("bulk/one.txt")).deleted).toBe(true);
    const undo = await post("/files/undelete", { path: ["bulk/one.txt", "bulk/two.txt"], dir: "bulk" });
    expect(await undo.text()).toContain("2 files are back.");
    expect(await text("bulk/one.txt")).toBe("1");
    expect(await text("bulk/two.txt")).toBe("2");
  });

  test("the Undo of a file kept elsewhere, attacked: a ../ or control-byte path, an unknown or malformed manifest, no CSRF token: nothing put back", async () => {
    const before = cell.rt.cell.tree.size;
    const known = "a".repeat(64);
    expect((await post("/files/undelete", { away: `${known}:../outside.txt`, dir: "" })).status).toBe(400);
    expect((await post("/files/undelete", { away: `${known}:bad\u0001name.txt`, dir: "" })).status).toBe(400);
    for (const away of [`${known}:away/unknown.txt`, "not-a-hash:away/bad.txt", "away/no-colon.txt"]) {
      const r = await post("/files/undelete", { away, dir: "away" });
      expect(r.status).toBe(200); // said in the toast, for each file
      expect(await r.text()).toContain("could not be brought back");
    }
    expect((await post("/files/undelete", { away: `${known}:away/x.txt`, dir: "away" }, { csrf: false })).status).toBe(403);
    expect(cell.rt.cell.tree.size).toBe(before);
    expect(cell.rt.cell.tree.current().has("away/unknown.txt")).toBe(false);
  });

  test("a missing file, none ticked, no CSRF token: refused, nothing deleted", async () => {
    expect((await post("/files/delete-many", { path: ["bulk/one.txt", "bulk/nope.txt"], dir: "bulk" })).status).toBe(404);
    expect((await post("/files/delete-many", { dir: "bulk" })).status).toBe(400);
    expect((await post("/files/delete-many", { path: ["bulk/../x"], dir: "bulk" })).status).toBe(400);
    expect((await post("/files/delete-many", { path: ["bulk/one.txt"], dir: "bulk" }, { csrf: false })).status).toBe(403);
    expect(await text("bulk/one.txt")).toBe("1");
  });

  test("a folder's Delete sends what it holds to the Trash, with Undo", async () => {
    const res = await post("/files/delete-folder", { path: "bulk", dir: "" });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Folder bulk deleted: 3 files moved to the Trash.");
    expect(rows(html)).not.toContain("bulk");
    expect(await text("bulk/three.txt")).toBeNull();
    expect((await post("/files/delete-folder", { path: "bulk", dir: "" })).status).toBe(404);
    // An empty folder goes too.
    await post("/files/mkdir", { dir: "", name: "void" });
    expect((await post("/files/delete-folder", { path: "void", dir: "" })).status).toBe(200);
    expect(await listOf("")).not.toContain("void");
  });
});

describe("a file's page previews it", () => {
  const detail = async (path: string) =>
    (await cell.request(`/files/detail?path=${encodeURIComponent(path)}`, { headers: { cookie: session } })).text();

  test("text inline (escaped), an image from the API, nothing for an unknown type", async () => {
    const txt = await detail("notes/c.txt");
    expect(txt).toContain('<pre class="preview-text">charlie</pre>');
    const html = await detail("pics/page.html");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<script>alert(1)");
    const img = await detail("pics/red.png");
    expect(img).toContain('<img class="preview-img" src="/api/files/pics/red.png"');
    expect(await detail("pics/blob.bin")).not.toContain('class="card file-preview"');
    // Audio and video in the browser's player (streamed from the API by Range), a PDF in the browser's viewer.
    await put("media/song.mp3", "ID3-not-really");
    await put("media/clip.mp4", "not-really-a-video");
    await put("media/paper.pdf", "%PDF-1.4");
    expect(await detail("media/song.mp3")).toContain(
      '<audio class="preview-media" controls="" preload="metadata" src="/api/files/media/song.mp3"',
    );
    expect(await detail("media/clip.mp4")).toContain(
      '<video class="preview-media" controls="" preload="metadata" src="/api/files/media/clip.mp4"',
    );
    // WAV, FLAC and M4A too (Bun names them audio/x-wav, audio/x-flac, audio/x-m4a): registered types, inline.
    for (const [name, type] of [
      ["tone.wav", "audio/wav"],
      ["tone.flac", "audio/flac"],
      ["tone.m4a", "audio/mp4"],
    ] as const) {
      await put(`media/${name}`, "RIFF-not-really");
      expect(await detail(`media/${name}`)).toContain(
        `<audio class="preview-media" controls="" preload="metadata" src="/api/files/media/${name}"`,
      );
      const r = await cell.request(`/api/files/media/${name}`, { headers: { cookie: session, range: "bytes=0-3" } });
      expect(r.status).toBe(206);
      expect(r.headers.get("content-type")).toBe(type);
      expect(r.headers.get("content-disposition")).toStartWith(`inline; filename="${name}"`);
      expect(await r.text()).toBe("RIFF");
    }
    const pdf = await detail("media/paper.pdf");
    // Its breadcrumb links each folder above it.
    expect(pdf).toContain('<a href="/files">Home</a> / <a href="/files?dir=media">media</a> / <span aria-current="page">paper.pdf</span>');
    expect(pdf).toContain('<iframe class="preview-pdf" src="/api/files/media/paper.pdf" title="PDF preview of paper.pdf"');
    expect(pdf).toContain('href="/api/files/media/paper.pdf" target="_blank"');
    // The PDF itself: inline, typed, by Range, sandboxed, and framed by the dashboard's origin only.
    const head = await cell.request("/api/files/media/paper.pdf", { headers: { cookie: session, range: "bytes=0-3" } });
    expect(head.status).toBe(206);
    expect(await head.text()).toBe("%PDF");
    expect(head.headers.get("content-type")).toBe("application/pdf");
    expect(head.headers.get("content-disposition")).toStartWith('inline; filename="paper.pdf"');
    expect(head.headers.get("x-content-type-options")).toBe("nosniff");
    expect(head.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'self'; sandbox");
    // The image itself, by Range, with the session: inline and sandboxed.
    const part = await cell.request("/api/files/pics/red.png", { headers: { cookie: session, range: "bytes=0-3" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-security-policy")).toContain("sandbox");
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(Uint8Array.from([0x89, 0x50, 0x4e, 0x47]));
  });
});
