// A file's versions on its dashboard page: Restore (an older version becomes current again) and
// Purge (out of the history, into the trash). First with plain HTTP and a dashboard session (the
// htmx request the button makes, CSRF included), then clicking the buttons in headless Chromium
// at 390 px, Restore's toast included (test/web/feedback-browser clicks them at 1280; skipped when /usr/bin/chromium is absent).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { cliJson, dashboardSession, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import type { TrashListing } from "../../src/trash/listing.ts";
import { sidewaysProblems } from "../helpers/axe.ts";

const PASSWORD = "correct horse battery";
let plain: TestCell | undefined;
let cell: TestCell | undefined;
let browser: Browser | undefined;
const errors: string[] = [];

async function putVersions(c: TestCell, path: string, texts: string[]): Promise<void> {
  for (const t of texts) expect((await c.api(`/api/files/${path}`, { method: "PUT", body: t })).status).toBe(201);
}

const versionsOf = async (c: TestCell, path: string) =>
  ((await (await c.api(`/api/files/${path}?meta`)).json()) as { versions: { version: number; deleted: boolean }[] }).versions.map(
    (v) => v.version,
  );

beforeAll(async () => {
  [plain, cell, browser] = await Promise.all([startCell(), startCell(), HAVE_CHROMIUM ? launchChromium() : Promise.resolve(undefined)]);
}, 30_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(plain), destroyCell(cell)]);
}, 120_000);

describe("file versions in the dashboard", () => {
  test("the Restore button's request (session + CSRF) makes version 1 current again; without the token it is refused", async () => {
    const c = plain!;
    await putVersions(c, "notes.txt", ["first draft", "second draft"]);
    // A dashboard session (first-run setup from loopback).
    const { cookie: session } = await dashboardSession(c);
    const page = await (await fetch(c.url + "/files/detail?path=notes.txt", { headers: { cookie: session } })).text();
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)![1]!;
    // One Restore button, on version 1 (not on the current version 2).
    const buttons = [...page.matchAll(/<button class="small restore" hx-post="([^"]+)" hx-vals="([^"]+)"/g)];
    expect(buttons.length).toBe(1);
    expect(buttons[0]![1]).toBe("/files/restore");
    const vals = JSON.parse(buttons[0]![2]!.replaceAll("&quot;", '"')) as Record<string, string>;
    expect(vals).toEqual({ path: "notes.txt", version: "1" });
    const form = new URLSearchParams(vals).toString();
    const headers = { cookie: session, "content-type": "application/x-www-form-urlencoded", "hx-request": "true" };

    const forged = await fetch(c.url + "/files/restore", { method: "POST", headers, body: form });
    expect(forged.status).toBe(403);
    expect(await versionsOf(c, "notes.txt")).toEqual([2, 1]);

    const ok = await fetch(c.url + "/files/restore", { method: "POST", headers: { ...headers, "x-csrf-token": csrf }, body: form });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("hx-redirect")).toBe("/files/detail?path=notes.txt");
    expect(await versionsOf(c, "notes.txt")).toEqual([3, 2, 1]);
    expect(await (await c.api("/api/files/notes.txt")).text()).toBe("first draft");
    expect(await Bun.file(`${c.home}/notes.txt`).text()).toBe("first draft");
  });

  test.skipIf(!HAVE_CHROMIUM)(
    "in a browser at 390 px: Restore, then Purge (confirmed) and Purge all versions of a deleted file",
    async () => {
      const c = cell!;
      await putVersions(c, "plan.md", ["# v1", "# v2"]);
      const { page } = await cellPage(browser!, c, errors);
      await page.setViewportSize({ width: 390, height: 844 });
      await firstRunSetup(page, PASSWORD);
      await page.goto("/files/detail?path=plan.md");
      const row = (p: Page, v: number) => p.locator(`table.versions tr[data-version="${v}"]`);
      expect(await row(page, 2).locator("button.restore").count()).toBe(0); // the current version
      await row(page, 1).locator("button.restore").click();
      await row(page, 3).waitFor();
      // The page loads again (HX-Redirect) and its toast says what happened, on screen at 390 px.
      const said = page.locator(".toast-stack .toast", {
        hasText: "Version 1 of plan.md restored: it is the current version now (version 3).",
      });
      await said.waitFor();
      const box = (await said.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(390);
      expect(await versionsOf(c, "plan.md")).toEqual([3, 2, 1]);
      expect(await (await c.api("/api/files/plan.md")).text()).toBe("# v1");
      expect(await page.locator("table.versions tbody tr").first().getAttribute("data-version")).toBe("3");

      // Purge version 2 (confirmed in the page's dialog): it leaves the history for the trash.
      await row(page, 2).locator("button.purge").click();
      await page.getByRole("dialog").getByRole("button", { name: "Purge" }).click();
      await row(page, 2).waitFor({ state: "detached" });
      expect(await versionsOf(c, "plan.md")).toEqual([3, 1]);
      const trash = await cliJson<TrashListing>(c, ["trash"]);
      expect(trash.versions.map((v) => `${v.path}@${v.version}`)).toEqual(["plan.md@2"]);
      expect(await sidewaysProblems(page)).toEqual([]);

      // A deleted file: "Purge all versions…" takes it out of the history; the page goes back to the folder.
      expect((await c.api("/api/files/plan.md", { method: "DELETE" })).status).toBe(200);
      await page.reload();
      await page.locator("button.purge-all").click();
      await Promise.all([page.waitForURL("**/files"), page.getByRole("dialog").getByRole("button", { name: "Purge" }).click()]);
      expect((await c.api("/api/files/plan.md?meta")).status).toBe(404);
      expect((await cliJson<TrashListing>(c, ["trash"])).versions.map((v) => v.version)).toEqual([2, 1, 3, 4]);
      expect(errors).toEqual([]);
    },
  );
});
