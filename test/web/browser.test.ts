// The dashboard in a real headless Chromium against a real cell: first-run setup, logout and
// login, upload with progress, download, details, delete. Skips when /usr/bin/chromium is absent
// (install it with: apt-get update && apt-get install -y chromium).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { CHROMIUM, HAVE_CHROMIUM, launchChromium } from "../helpers/browser.ts";
import { destroyCell, setupCode, startCell, type TestCell } from "../helpers/cell.ts";

if (!HAVE_CHROMIUM) {
  console.warn(`browser tests skipped: ${CHROMIUM} not found (apt-get update && apt-get install -y chromium)`);
}

const PASSWORD = "correct horse battery";
const FILE_NAME = "browser-upload.bin";
const FILE_SIZE = 300 * 1024;
const STEP_MS = 15_000;

let cell: TestCell | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
let tmp: string | undefined;
let data: Buffer;
let uploadPath: string;
/** Requests the browser tried to send anywhere but the cell (all aborted). */
const blocked: string[] = [];
/** Console errors and uncaught page errors. */
const pageErrors: string[] = [];

const row = () => page.locator(`#file-list tr[data-path="${FILE_NAME}"]`);

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  tmp = mkdtempSync(join(tmpdir(), "grove-browser-"));
  data = randomBytes(FILE_SIZE);
  uploadPath = join(tmp, FILE_NAME);
  writeFileSync(uploadPath, data);

  [cell, browser] = await Promise.all([startCell(), launchChromium()]);
  context = await browser.newContext({ acceptDownloads: true, baseURL: cell.url });
  context.setDefaultTimeout(STEP_MS);
  const origin = new URL(cell.url).origin;
  // The browser may only talk to the cell.
  await context.route(
    (url) => url.origin !== origin,
    (route) => {
      blocked.push(route.request().url());
      return route.abort("blockedbyclient");
    },
  );
  page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
}, 30_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await destroyCell(cell);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 120_000);

async function sessionCookie() {
  const cookies = await context!.cookies(cell!.url);
  return cookies.find((c) => c.name === "grove_session");
}

describe("dashboard in a real browser", () => {
  test.skipIf(!HAVE_CHROMIUM)(
    "first visit goes to /setup; setting a password lands on /files with a strict HttpOnly session",
    async () => {
      await page.goto("/");
      expect(new URL(page.url()).pathname).toBe("/setup");
      expect(await page.locator("h1").textContent()).toBe("Welcome to Grove");

      // Without the setup code, the password is not set.
      await page.fill("#code", "AAAA-BBBB-CCCC-DDDD");
      await page.fill("#password", PASSWORD);
      await page.fill("#confirm", PASSWORD);
      await page.click('form[action="/setup"] button[type=submit]');
      expect(await page.locator(".error").textContent()).toContain("not this cell's setup code");
      expect(existsSync(join(cell!.dir, "dashboard_auth"))).toBe(false);
      expect(pageErrors.splice(0)).toEqual([expect.stringContaining("status of 403 (Forbidden) (" + cell!.url + "/setup)")]);

      await page.fill("#code", setupCode(cell!).toLowerCase()); // typed loosely: case does not matter
      await page.fill("#password", PASSWORD);
      await page.fill("#confirm", PASSWORD);
      await Promise.all([page.waitForURL("**/files"), page.click('form[action="/setup"] button[type=submit]')]);
      expect(new URL(page.url()).pathname).toBe("/files");
      await page.locator("#upload-form").waitFor();
      expect(await page.locator("#file-list .empty").textContent()).toContain("No files here yet");

      const s = await sessionCookie();
      expect(s).toBeDefined();
      expect(s!.httpOnly).toBe(true);
      expect(s!.sameSite).toBe("Strict");
      expect(s!.path).toBe("/");
    },
    STEP_MS,
  );

  test.skipIf(!HAVE_CHROMIUM)(
    "log out, then log in: a wrong password is refused, the right one works",
    async () => {
      await Promise.all([page.waitForURL("**/login"), page.getByRole("button", { name: "Log out" }).click()]);
      expect(new URL(page.url()).pathname).toBe("/login");
      expect(await sessionCookie()).toBeUndefined();
      // Logged out for real: /files sends us back to the login page.
      await page.goto("/files");
      expect(new URL(page.url()).pathname).toBe("/login");

      await page.fill("#password", "not the password");
      await page.click('form[action="/login"] button[type=submit]');
      await page.locator("p.error[role=alert]").waitFor();
      expect(await page.locator("p.error[role=alert]").textContent()).toBe("Wrong password.");
      expect(await sessionCookie()).toBeUndefined();
      // The refused login is answered with a 401 page, which Chromium reports as a console error.
      expect(pageErrors.splice(0)).toEqual([expect.stringContaining("status of 401 (Unauthorized) (" + cell!.url + "/login)")]);

      await page.fill("#password", PASSWORD);
      await Promise.all([page.waitForURL("**/files"), page.click('form[action="/login"] button[type=submit]')]);
      expect(new URL(page.url()).pathname).toBe("/files");
      const s = await sessionCookie();
      expect(s?.httpOnly).toBe(true);
      expect(s?.sameSite).toBe("Strict");
    },
    STEP_MS,
  );

  test.skipIf(!HAVE_CHROMIUM)(
    "upload shows progress, says stored, and the file appears in the list",
    async () => {
      await page.setInputFiles("#upload-input", uploadPath);
      await page.click("#upload-button");
      const status = page.locator("#upload-progress .progress-row .status");
      await page.waitForFunction(() => /stored/.test(document.querySelector("#upload-progress .progress-row .status")?.textContent ?? ""));
      expect(await status.textContent()).toBe("stored (version 1)");
      expect(await page.locator("#upload-progress .progress-row").getAttribute("class")).toContain("done");
      // app.js refreshes #file-list through htmx once the upload is done.
      await row().waitFor();
      const cells = row().locator("td");
      expect(await cells.nth(0).textContent()).toBe(FILE_NAME);
      expect(await cells.nth(1).textContent()).toBe("300 KiB");
      expect(await cells.nth(2).textContent()).toBe("1");
      // The cell really has it.
      const meta = await cell!.api(`/api/files/${FILE_NAME}?meta`);
      expect(meta.status).toBe(200);
      expect((await meta.json()).manifest.total_size).toBe(FILE_SIZE);

      await page.screenshot({ path: "/tmp/grove-files.png", fullPage: true });
    },
    STEP_MS,
  );

  test.skipIf(!HAVE_CHROMIUM)(
    "the row's Download link gives back the exact bytes",
    async () => {
      const [download] = await Promise.all([page.waitForEvent("download"), row().getByRole("link", { name: "Download" }).click()]);
      expect(download.suggestedFilename()).toBe(FILE_NAME);
      expect(await download.failure()).toBeNull();
      const got = readFileSync((await download.path())!);
      expect(got.byteLength).toBe(FILE_SIZE);
      expect(Buffer.compare(got, data)).toBe(0);
    },
    STEP_MS,
  );

  test.skipIf(!HAVE_CHROMIUM)(
    "the details page shows size, chunks and versions",
    async () => {
      await Promise.all([page.waitForURL("**/files/detail?**"), row().getByRole("link", { name: FILE_NAME }).click()]);
      expect(await page.locator("main h1").textContent()).toBe(FILE_NAME);
      const fact = (name: string) => page.locator(`dl.facts dt:text-is("${name}") + dd`).textContent();
      expect(await fact("Size")).toBe(`300 KiB (${FILE_SIZE} bytes)`);
      expect(await fact("Chunks")).toMatch(/^\d+ × up to \S+ \S+, \S+/);
      const chunkCount = Number((await fact("Chunks"))!.split(" ")[0]);
      expect(chunkCount).toBeGreaterThan(0);
      expect(await page.locator("table.chunks tbody tr").count()).toBe(chunkCount);
      const versions = page.locator("table.versions tbody tr");
      expect(await versions.count()).toBe(1);
      expect(await versions.first().locator("td").first().textContent()).toBe("1");
      expect(await versions.first().locator("td").nth(2).textContent()).toBe("300 KiB");
      await Promise.all([page.waitForURL("**/files"), page.locator(".crumbs a", { hasText: "Home" }).click()]);
    },
    STEP_MS,
  );

  test.skipIf(!HAVE_CHROMIUM)(
    "Delete removes the file from the list at once (no dialog: the toast offers Undo)",
    async () => {
      let asked = "";
      page.once("dialog", (d) => {
        asked = d.message();
        void d.accept();
      });
      await row()
        .getByRole("button", { name: `Delete ${FILE_NAME}` })
        .click();
      await row().waitFor({ state: "detached" });
      expect(asked).toBe("");
      await page.locator("#toast").getByRole("button", { name: "Undo" }).waitFor();
      expect(await page.locator("#file-list .empty").textContent()).toContain("No files here yet");
      // Deleted, but kept in history.
      const meta = await (await cell!.api(`/api/files/${FILE_NAME}?meta`)).json();
      expect(meta.deleted).toBe(true);
      expect(meta.versions.length).toBe(2);
      // And the list still says so after a reload.
      await page.reload();
      expect(await row().count()).toBe(0);
    },
    STEP_MS,
  );

  test.skipIf(!HAVE_CHROMIUM)("the browser talked only to the cell, and the pages raised no errors", () => {
    expect(blocked).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
