// The Share dialog, in real headless Chromium against three real cells: A is paired with B and
// C, and all are friends with A. In A's Files tab two files are ticked, "Share selected…" opens
// the dialog, both friends are ticked and Share gives four ok lines; B's and C's feeds (CLI) list
// both files (at 1280 px; ticking and sharing at 390 px too). The file page's Share box takes several friends at once too (at 390 px;
// neither page scrolls sideways at that width). Without JavaScript
// the same works as plain forms; the dialog refuses no file, no friend, too many files or
// friends and bad paths with a clear message, and reports a failing pair on its own line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import type { FeedItem, ShareView } from "../../src/share/types.ts";
import { MAX_SHARE_FILES, MAX_SHARE_FRIENDS } from "../../views/share-dialog.tsx";
import { sidewaysProblems } from "../helpers/axe.ts";

const PASSWORD = "correct horse battery";
const config = { sync_interval_s: 3600, mdns: false };
const FILE_1 = "alpha.txt";
const FILE_2 = "beta & gamma.md";
const FILE_3 = "sub/delta.txt";

let a: TestCell | undefined;
let b: TestCell | undefined;
let c: TestCell | undefined;
const ids = { a: "", b: "", c: "" };
let browser: Browser | undefined;
const errors: string[] = [];

async function cliJson<T>(cell: TestCell, args: string[]): Promise<T> {
  const r = await cell.cli([...args, "--json"]);
  if (r.code !== 0) throw new Error(`grove ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function cliOk(cell: TestCell, args: string[]): Promise<string> {
  const r = await cell.cli(args);
  if (r.code !== 0) throw new Error(`grove ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

const shares = () => cliJson<ShareView[]>(a!, ["shares"]);
const feedNames = async (cell: TestCell) => (await cliJson<FeedItem[]>(cell, ["feed"])).map((f) => f.filename).sort();

async function login(page: Page): Promise<void> {
  await page.goto("/login");
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForURL("**/files"), page.click('form[action="/login"] button[type=submit]')]);
}

const pick = (page: Page, path: string) => page.locator(`#file-list tr[data-path="${path}"] input.pick`);
const friendBox = (page: Page, id: string) => page.locator(`#share-friends input[name="peer"][value="${id}"]`);

/** The (path, peer, ok) of each result line, sorted. */
async function resultLines(page: Page): Promise<string[]> {
  const lines = page.locator("#share-result ul.share-lines li");
  const out: string[] = [];
  for (let i = 0; i < (await lines.count()); i++) {
    const l = lines.nth(i);
    out.push(
      `${await l.getAttribute("data-path")}|${await l.getAttribute("data-peer")}|${(await l.getAttribute("data-ok")) === "1" ? "ok" : "failed"}`,
    );
  }
  return out.sort();
}

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  [a, b, c, browser] = await Promise.all([
    startCell({ config: { ...config, name: "cell-a" } }),
    startCell({ config: { ...config, name: "cell-b" } }),
    startCell({ config: { ...config, name: "cell-c" } }),
    launchChromium(),
  ]);
  [ids.a, ids.b, ids.c] = await Promise.all([a, b, c].map((x) => cliOk(x!, ["id"])));
  await cliOk(b, ["join", await cliOk(a, ["invite"])]);
  await cliOk(c, ["join", await cliOk(a, ["invite"])]);
  // A asks B and C to be friends; each accepts.
  await cliOk(a, ["peers", "friend", ids.b]);
  await cliOk(a, ["peers", "friend", ids.c]);
  await cliOk(b, ["peers", "accept", ids.a]);
  await cliOk(c, ["peers", "accept", ids.a]);
  for (const [i, path] of [FILE_1, FILE_2, FILE_3].entries()) {
    const src = join(a.root, `src-${i}.txt`);
    writeFileSync(src, `file ${i}: ${path}\n`);
    await cliOk(a, ["put", src, "--as", path]);
  }
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(a), destroyCell(b), destroyCell(c)]);
}, 120_000);

describe.skipIf(!HAVE_CHROMIUM)("Share dialog: several files with several friends", () => {
  test("tick two files, Share selected…, tick both friends, Share: four ok lines; B and C receive both", async () => {
    const { ctx, page } = await cellPage(browser!, a!, errors);
    await firstRunSetup(page, PASSWORD);

    // "Share selected…" is disabled until a file is ticked.
    const button = page.locator("#share-selected");
    await page.waitForFunction(() => (document.getElementById("share-selected") as HTMLButtonElement | null)?.disabled === true);
    expect(await button.textContent()).toBe("Share selected…");
    expect(await page.locator("#file-list input.pick").count()).toBe(2); // the folder "sub" has none
    await pick(page, FILE_1).check();
    expect(await button.isEnabled()).toBe(true);
    expect(await page.locator("#pick-count").textContent()).toBe("1 selected");
    await pick(page, FILE_1).uncheck();
    expect(await button.isDisabled()).toBe(true);
    await pick(page, FILE_1).check();
    await pick(page, FILE_2).check();
    expect(await page.locator("#pick-count").textContent()).toBe("2 selected");

    await Promise.all([page.waitForURL((u) => u.pathname === "/share"), button.click()]);
    const url = new URL(page.url());
    expect(url.searchParams.getAll("path")).toEqual([FILE_1, FILE_2]);
    expect(await page.locator("main h1").textContent()).toBe("Share 2 files");
    expect(await page.locator("#share-files li").evaluateAll((els) => els.map((e) => e.getAttribute("data-path")))).toEqual([
      FILE_1,
      FILE_2,
    ]);
    expect(await page.locator("nav.tabs a.active").textContent()).toBe("Files");

    // Both friends offered, none ticked; the expiry choices of the Share box.
    expect(await page.locator('#share-friends input[name="peer"]').count()).toBe(2);
    expect(await page.locator('#share-friends input[name="peer"]:checked').count()).toBe(0);
    expect(await page.locator("#share-friends").textContent()).toContain("cell-b");
    expect(await page.locator("#share-friends").textContent()).toContain("cell-c");
    expect(await page.locator("#share-expires option").allTextContents()).toEqual(["Never", "1 hour", "1 day", "7 days", "30 days"]);

    // No friend ticked: a clear message, nothing shared.
    await page.click("#share-button");
    await page.locator("#share-result #share-error").waitFor();
    expect(await page.locator("#share-error").textContent()).toBe("Choose at least one friend to share with.");
    expect(await shares()).toHaveLength(0);

    await friendBox(page, ids.b).check();
    await friendBox(page, ids.c).check();
    await page.selectOption("#share-expires", "86400");
    await page.click("#share-button");
    await page.locator("#share-result ul.share-lines li").nth(3).waitFor();
    expect(await page.locator("#share-error").count()).toBe(0);
    expect(await page.locator("#share-result li.ok-line").count()).toBe(4);
    expect(await resultLines(page)).toEqual(
      [`${FILE_1}|${ids.b}|ok`, `${FILE_1}|${ids.c}|ok`, `${FILE_2}|${ids.b}|ok`, `${FILE_2}|${ids.c}|ok`].sort(),
    );
    const text = await page.locator("#share-result").textContent();
    expect(text).toContain(`Shared ${FILE_2} with cell-c.`);
    expect(text).not.toContain("Not delivered yet");
    expect(await page.locator('#share-result a[href="/feed#shared-by-you"]').count()).toBe(1);
    expect(new URL(page.url()).pathname).toBe("/share"); // swapped in place
    // The dialog with its result lines fits a phone too.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await sidewaysProblems(page)).toEqual([]);

    const made = await shares();
    expect(made.map((s) => `${s.path}|${s.to}`).sort()).toEqual(
      [`${FILE_1}|${ids.b}`, `${FILE_1}|${ids.c}`, `${FILE_2}|${ids.b}`, `${FILE_2}|${ids.c}`].sort(),
    );
    for (const s of made) expect(s).toMatchObject({ state: "active", delivered: true });
    expect(made.every((s) => s.expires_at !== null)).toBe(true);
    expect(await feedNames(b!)).toEqual([FILE_1, FILE_2].sort());
    expect(await feedNames(c!)).toEqual([FILE_1, FILE_2].sort());

    // "Shared by you" lists the four.
    await page.click('#share-result a[href="/feed#shared-by-you"]');
    await page.waitForURL("**/feed#shared-by-you");
    expect(await page.locator("#shared-by-you tr[data-share]").count()).toBe(4);
    await ctx.close();
    expect(errors).toEqual([]);
  }, 90_000);

  test("the file page's Share box takes several friends at once (htmx, in place), at 390 px", async () => {
    const { ctx, page } = await cellPage(browser!, a!, errors);
    await page.setViewportSize({ width: 390, height: 844 });
    await login(page);
    await page.goto(`/files/detail?path=${encodeURIComponent(FILE_3)}`);
    // Two friends: none ticked in advance.
    expect(await page.locator('#share #share-friends input[name="peer"]:checked').count()).toBe(0);
    await friendBox(page, ids.b).check();
    await friendBox(page, ids.c).check();
    await page.click("#share-button");
    await page.locator("#share-result ul.share-lines li").nth(1).waitFor();
    expect(await resultLines(page)).toEqual([`${FILE_3}|${ids.b}|ok`, `${FILE_3}|${ids.c}|ok`].sort());
    expect(await page.locator("#share-result").textContent()).toContain("Shared delta.txt with cell-b.");
    expect(new URL(page.url()).pathname).toBe("/files/detail");
    expect(await sidewaysProblems(page)).toEqual([]);
    expect(await feedNames(b!)).toEqual([FILE_1, FILE_2, "delta.txt"].sort());
    expect(await feedNames(c!)).toEqual([FILE_1, FILE_2, "delta.txt"].sort());
    await ctx.close();
    expect(errors).toEqual([]);
  }, 60_000);

  test("without JavaScript: a plain GET form to the dialog and a plain POST with the results", async () => {
    const { ctx, page } = await cellPage(browser!, a!, errors, { javaScriptEnabled: false });
    await login(page);
    const before = (await shares()).length;

    // Nothing ticked: the button still works and the dialog says what to do.
    expect(await page.locator("#share-selected").isEnabled()).toBe(true);
    const [empty] = await Promise.all([page.waitForResponse((r) => new URL(r.url()).pathname === "/share"), page.click("#share-selected")]);
    expect(empty.status()).toBe(400);
    expect(await page.locator("#share-error").textContent()).toContain("Choose at least one file to share");
    expect(await page.locator("#share-button").count()).toBe(0);

    // In the folder "sub": tick its file; the dialog remembers the folder for its Back link.
    await page.goto("/files?dir=sub");
    await pick(page, FILE_3).check();
    await Promise.all([page.waitForURL((u) => u.pathname === "/share"), page.click("#share-selected")]);
    expect(new URL(page.url()).searchParams.get("dir")).toBe("sub");
    expect(await page.locator("main h1").textContent()).toBe("Share 1 file");
    expect(await page.locator(".share-back a").getAttribute("href")).toBe("/files?dir=sub");

    // No friend ticked: the dialog comes back (400) with the message and the form.
    const [noFriend] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click("#share-button")]);
    expect(noFriend.status()).toBe(400);
    expect(await page.locator("#share-error").textContent()).toBe("Choose at least one friend to share with.");
    expect(await page.locator("#share-button").count()).toBe(1);
    expect((await shares()).length).toBe(before);

    // C only, for 1 hour: one ok line, the choices kept in the form.
    await friendBox(page, ids.c).check();
    await page.selectOption("#share-expires", "3600");
    const [posted] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click("#share-button")]);
    expect(posted.status()).toBe(200);
    expect(await resultLines(page)).toEqual([`${FILE_3}|${ids.c}|ok`]);
    expect(await page.locator('#share-result a[href="/feed#shared-by-you"]').count()).toBe(1);
    expect(await friendBox(page, ids.c).isChecked()).toBe(true);
    expect(await friendBox(page, ids.b).isChecked()).toBe(false);
    expect(await page.locator("#share-expires").inputValue()).toBe("3600");
    expect(await page.locator(".share-back a").getAttribute("href")).toBe("/files?dir=sub");
    const after = await shares();
    expect(after.length).toBe(before + 1);
    expect((await cliJson<FeedItem[]>(c!, ["feed"])).filter((f) => f.filename === "delta.txt")).toHaveLength(2);
    await ctx.close();
    expect(errors).toEqual([]);
  }, 60_000);

  test("limits, bad paths and failing pairs get clear messages", async () => {
    const { ctx, page } = await cellPage(browser!, a!, errors);
    await login(page);
    const before = (await shares()).length;

    // Too many files, a bad path: the dialog refuses (400) without a form.
    const many = new URLSearchParams(Array.from({ length: MAX_SHARE_FILES + 1 }, (_, i) => ["path", `f${i}.txt`]));
    let res = await page.goto(`/share?${many}`);
    expect(res!.status()).toBe(400);
    expect(await page.locator("#share-error").textContent()).toContain(`at most ${MAX_SHARE_FILES}`);
    expect(await page.locator("#share-button").count()).toBe(0);
    res = await page.goto(`/share?path=${encodeURIComponent("../etc/passwd")}`);
    expect(res!.status()).toBe(400);
    expect(await page.locator("#share-error").textContent()).toContain("Cannot share '../etc/passwd'");

    // A file that is not there is listed as such; sharing it fails on its own line.
    await page.goto(`/share?path=${encodeURIComponent(FILE_1)}&path=nope.txt`);
    expect(await page.locator('#share-files li[data-path="nope.txt"]').textContent()).toContain("not in your files");
    const csrf = (await page.locator('#share-dialog input[name="_csrf"]').getAttribute("value"))!;

    const post = (fields: [string, string][], htmx = false) =>
      page.request.post("/share", {
        data: new URLSearchParams([["_csrf", csrf], ...fields]).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", ...(htmx ? { "hx-request": "true" } : {}) },
      });

    // Too many friends: nothing shared.
    const friends = Array.from({ length: MAX_SHARE_FRIENDS + 1 }, (_, i) => ["peer", i.toString(16).padStart(64, "0")] as [string, string]);
    let r = await post([["path", FILE_1], ...friends], true);
    expect(r.status()).toBe(200);
    expect(await r.text()).toContain(`at most ${MAX_SHARE_FRIENDS}`);
    // No file (a crafted post): the page says so.
    r = await post([["peer", ids.b]]);
    expect(r.status()).toBe(400);
    expect(await r.text()).toContain("Choose at least one file to share");
    // Without the CSRF token: refused.
    r = await page.request.post("/share", { form: { path: FILE_1, peer: ids.b } });
    expect(r.status()).toBe(403);
    expect((await shares()).length).toBe(before);

    // Through the page: tick B; the missing file fails, the other succeeds.
    await friendBox(page, ids.b).check();
    await page.click("#share-button");
    await page.locator("#share-result ul.share-lines li").nth(1).waitFor();
    expect(await resultLines(page)).toEqual([`${FILE_1}|${ids.b}|ok`, `nope.txt|${ids.b}|failed`]);
    expect(await page.locator("#share-result p.share-summary").textContent()).toContain("1 of 2 shared");
    expect(await page.locator('#share-result li[data-path="nope.txt"]').textContent()).toContain(
      "Could not share nope.txt with cell-b: no file at 'nope.txt'",
    );

    // A peer that is not a friend (A itself is no peer of its own; an unknown id) fails on its line.
    r = await post(
      [
        ["path", FILE_1],
        ["peer", "ab".repeat(32)],
      ],
      true,
    );
    const html = await r.text();
    expect(html).toContain('data-ok="0"');
    expect(html).toContain("Could not share alpha.txt with");
    expect((await shares()).length).toBe(before + 1);
    await ctx.close();
    expect(errors).toEqual([]);
  }, 60_000);
  test("at 390 px too: tick two files, Share selected…, tick a friend, Share: an ok line each, nothing sideways", async () => {
    const { ctx, page } = await cellPage(browser!, a!, errors);
    await page.setViewportSize({ width: 390, height: 844 });
    await login(page);
    const before = (await shares()).length;
    const button = page.locator("#share-selected");
    await page.waitForFunction(() => (document.getElementById("share-selected") as HTMLButtonElement | null)?.disabled === true);
    await pick(page, FILE_1).click();
    await pick(page, FILE_2).click();
    expect(await page.locator("#pick-count").textContent()).toBe("2 selected");
    expect(await button.isEnabled()).toBe(true);
    const box = (await button.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    expect(await sidewaysProblems(page)).toEqual([]);

    await Promise.all([page.waitForURL((u) => u.pathname === "/share"), button.click()]);
    expect(new URL(page.url()).searchParams.getAll("path")).toEqual([FILE_1, FILE_2]);
    expect(await page.locator("main h1").textContent()).toBe("Share 2 files");
    expect(await sidewaysProblems(page)).toEqual([]);
    await friendBox(page, ids.c).click();
    await page.click("#share-button");
    await page.locator("#share-result ul.share-lines li").nth(1).waitFor();
    expect(await resultLines(page)).toEqual([`${FILE_1}|${ids.c}|ok`, `${FILE_2}|${ids.c}|ok`]);
    expect(await sidewaysProblems(page)).toEqual([]);
    expect((await shares()).length).toBe(before + 2);
    await ctx.close();
    expect(errors).toEqual([]);
  }, 60_000);
});
