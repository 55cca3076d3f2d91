// The Trash and Undo in the dashboard (views/trash, web/files-pages), on a real cell: a deletion
// in the Files tab shows a toast whose Undo brings the file back; the Trash lists deleted files
// (Restore, Delete now) and purged versions with when they go for good (Restore, Delete now), and
// Empty trash now (at 390 px). First the
// requests alone (session + CSRF; a refusal says why and changes nothing), then clicked in
// headless Chromium at 1280 and 390 px (skipped when /usr/bin/chromium is absent).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, launchChromium, setupOrLogIn } from "../helpers/browser.ts";
import { seriousViolations, settled, sidewaysProblems } from "../helpers/axe.ts";
import { cliJson, dashboardSession, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import type { TrashListing } from "../../src/trash/listing.ts";

const PASSWORD = "correct horse battery";
let plain: TestCell | undefined;
let cell: TestCell | undefined;
let browser: Browser | undefined;
const errors: string[] = [];

const put = async (c: TestCell, path: string, text: string) =>
  expect((await c.api(`/api/files/${path}`, { method: "PUT", body: text })).status).toBe(201);
const current = async (c: TestCell, path: string) => {
  const r = await c.api(`/api/files/${path}`);
  return r.status === 200 ? await r.text() : null;
};

beforeAll(async () => {
  [plain, cell, browser] = await Promise.all([startCell(), startCell(), HAVE_CHROMIUM ? launchChromium() : Promise.resolve(undefined)]);
}, 30_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(plain), destroyCell(cell)]);
}, 120_000);

describe("trash and undo", () => {
  test("the requests: delete answers a toast with Undo; undelete, trash restore and delete-now act; a bad one says why", async () => {
    const c = plain!;
    await put(c, "docs/a.txt", "alpha");
    const { cookie } = await dashboardSession(c);
    const page = await (await fetch(c.url + "/files", { headers: { cookie } })).text();
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)![1]!;
    const post = (path: string, form: Record<string, string>) =>
      fetch(c.url + path, {
        method: "POST",
        headers: { cookie, "content-type": "application/x-www-form-urlencoded", "hx-request": "true", "x-csrf-token": csrf },
        body: new URLSearchParams(form).toString(),
      });

    const del = await (await post("/files/delete", { path: "docs/a.txt", dir: "docs" })).text();
    expect(del).toContain('id="toast"');
    expect(del).toContain("Deleted a.txt.");
    expect(del).toContain('hx-post="/files/undelete"');
    expect(await current(c, "docs/a.txt")).toBeNull();
    const trashPage = await (await fetch(c.url + "/files/trash", { headers: { cookie } })).text();
    expect(trashPage).toContain("docs/a.txt");

    const undo = await (await post("/files/undelete", { path: "docs/a.txt", dir: "docs" })).text();
    expect(undo).toContain("a.txt is back.");
    expect(await current(c, "docs/a.txt")).toBe("alpha");
    // Undo twice: said in the toast, nothing changes.
    const again = await (await post("/files/undelete", { path: "docs/a.txt", dir: "docs" })).text();
    expect(again).toContain("could not be brought back");
    expect(again).toContain('class="toast error"');

    // A purged version: listed with when it goes for good, restored, purged again, deleted now.
    await put(c, "b.txt", "one");
    await put(c, "b.txt", "two");
    expect((await c.api("/api/files/b.txt?purge=1", { method: "DELETE" })).status).toBe(200);
    const list = await (await fetch(c.url + "/files/trash", { headers: { cookie } })).text();
    expect(list).toContain('data-path="b.txt" data-version="1"');
    expect(list).toContain("Deleted for good");
    const restored = await (await post("/files/trash/restore", { path: "b.txt" })).text();
    expect(restored).toContain("1 version of b.txt back in its history.");
    expect((await cliJson<TrashListing>(c, ["trash"])).versions).toEqual([]);
    expect((await c.api("/api/files/b.txt?purge=1", { method: "DELETE" })).status).toBe(200);
    const gone = await (await post("/files/trash/delete-now", { path: "b.txt", version: "1" })).text();
    expect(gone).toContain("Version 1 of b.txt is deleted for good.");
    const after = await cliJson<TrashListing>(c, ["trash"]);
    expect(after.versions).toEqual([]);
    expect(after.chunks).toEqual([]); // the chunk only version 1 used is deleted too, not left waiting
    // Refusals answer a 4xx with why (the page toasts it), and change nothing.
    const nothing = await post("/files/trash/restore", { path: "b.txt" });
    expect(nothing.status).toBe(404);
    expect(await nothing.text()).toContain("nothing of &#39;b.txt&#39; is in the trash");
    const nine = await post("/files/trash/delete-now", { path: "b.txt", version: "9" });
    expect(nine.status).toBe(404);
    expect(await nine.text()).toContain("version 9 of &#39;b.txt&#39; is not in the trash");
    expect(await current(c, "b.txt")).toBe("two");

    // Without the CSRF token: refused, nothing deleted.
    const forged = await fetch(c.url + "/files/delete", {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: "path=docs%2Fa.txt&dir=docs",
    });
    expect(forged.status).toBe(403);
    expect(await current(c, "docs/a.txt")).toBe("alpha");
  });

  for (const width of [1280, 390])
    test.skipIf(!HAVE_CHROMIUM)(
      `in a browser at ${width} px: Delete, Undo; delete, Trash, Restore; purge, Delete now; a deleted file's Delete now`,
      async () => {
        const c = cell!;
        const name = `w${width}`;
        await put(c, `${name}/keep.txt`, "kept");
        await put(c, `${name}/note.txt`, "note v1");
        const { page } = await cellPage(browser!, c, errors);
        await page.setViewportSize({ width, height: 800 });
        await setupOrLogIn(page, PASSWORD);
        await page.goto(`/files?dir=${name}`);
        const row = page.locator(`tr[data-path="${name}/note.txt"]`);
        await row.locator("button.danger").click();
        await row.waitFor({ state: "detached" });
        const toast = page.locator("#toast");
        await toast.getByText("Deleted note.txt.").waitFor();
        expect(await current(c, `${name}/note.txt`)).toBeNull();
        await toast.getByRole("button", { name: "Undo" }).click();
        await row.waitFor();
        await toast.getByText("note.txt is back.").waitFor();
        expect(await current(c, `${name}/note.txt`)).toBe("note v1");

        // Deleted again; the Trash lists it; Restore brings it back.
        await row.locator("button.danger").click();
        await row.waitFor({ state: "detached" });
        await page.locator("a.trash-link").click();
        await page.waitForURL("**/files/trash");
        const trashed = page.locator(`#trash-list tr[data-path="${name}/note.txt"]`);
        await trashed.getByRole("button", { name: "Restore note.txt" }).click();
        await page.getByText(`${name}/note.txt is back in your files.`).waitFor();
        expect(await current(c, `${name}/note.txt`)).toBe("note v1");

        // A purged version: Delete now (confirmed) deletes it for good.
        await put(c, `${name}/note.txt`, "note v3");
        expect((await c.api(`/api/files/${name}/note.txt?purge=1`, { method: "DELETE" })).status).toBe(200);
        await page.reload();
        const purged = page.locator(`#trash-list tr[data-path="${name}/note.txt"][data-version="1"]`);
        // Restore (clicked) puts the purged version back into the file's history.
        await purged.getByRole("button", { name: "Restore the purged versions of note.txt" }).click();
        await page
          .getByText(new RegExp(`^\\d+ versions? of ${name}/note\\.txt back in its history\\.$`))
          .first()
          .waitFor();
        await purged.waitFor({ state: "detached" });
        expect((await cliJson<TrashListing>(c, ["trash"])).versions.filter((v) => v.path === `${name}/note.txt`)).toEqual([]);
        expect(await current(c, `${name}/note.txt`)).toBe("note v3");
        expect(await (await c.api(`/api/files/${name}/note.txt?version=1`)).text()).toBe("note v1");
        // Purged again: Delete now (confirmed) deletes it for good.
        expect((await c.api(`/api/files/${name}/note.txt?purge=1`, { method: "DELETE" })).status).toBe(200);
        await page.reload();
        await purged.getByRole("button", { name: "Delete now: version 1 of note.txt" }).click();
        await page.getByRole("dialog").getByRole("button", { name: "Delete now" }).click();
        await purged.waitFor({ state: "detached" });
        const left = (await cliJson<TrashListing>(c, ["trash"])).versions.filter((v) => v.path === `${name}/note.txt`);
        expect(left).toEqual([]);
        // A deleted file: Delete now (confirmed) takes its whole history for good.
        expect((await c.api(`/api/files/${name}/keep.txt`, { method: "DELETE" })).status).toBe(200);
        await page.reload();
        const deleted = page.locator(`#trash-list tr[data-path="${name}/keep.txt"]`);
        expect(await deleted.locator('td[data-label="Deleted for good"]').textContent()).toBe("when you delete it");
        await settled(page);
        expect(await seriousViolations(page)).toEqual([]);
        await deleted.getByRole("button", { name: "Delete now: keep.txt" }).click();
        await page.getByRole("dialog").getByText("Delete keep.txt and its whole history for good now?").waitFor();
        await page.getByRole("dialog").getByRole("button", { name: "Delete now" }).click();
        await deleted.waitFor({ state: "detached" });
        expect((await c.api(`/api/files/${name}/keep.txt?meta`)).status).toBe(404);
        if (width === 390) {
          // Empty trash now (confirmed): nothing is left in it.
          await put(c, `${name}/last.txt`, "last");
          expect((await c.api(`/api/files/${name}/last.txt`, { method: "DELETE" })).status).toBe(200);
          await page.reload();
          await page.getByRole("button", { name: "Empty trash now" }).click();
          await page.getByRole("dialog").getByRole("button", { name: "Empty trash" }).click();
          await page.getByText(/^Trash emptied: /).waitFor();
          await page.getByText("No deleted files.").waitFor();
          expect((await cliJson<TrashListing>(c, ["trash"])).versions).toEqual([]);
          expect((await c.api(`/api/files/${name}/last.txt?meta`)).status).toBe(404);
        }
        // Nothing scrolls sideways, here or in the Files tab.
        expect(await sidewaysProblems(page)).toEqual([]);
        await page.goto(`/files?dir=${name}`);
        expect(await sidewaysProblems(page)).toEqual([]);
        expect(errors).toEqual([]);
      },
    );
});
