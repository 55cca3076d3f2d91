/**
 * The dashboard at phone width (issue: "no page scrolls sideways at 390 px"), in headless Chromium
 * at 390 × 844: every tab, a nested file's page with its versions, with a paired peer (64-hex ids),
 * a long file name and a file with history. No page may be wider than the screen, the tab bar must
 * reach every tab, and a version's Restore button must be on screen. Skipped without Chromium.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { cliJson, destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { TABS } from "../../views/tabs.ts";
import { sidewaysProblems } from "../helpers/axe.ts";

const WIDTH = 390;
const LONG = `${"a-very-long-file-name-without-spaces-".repeat(5)}end.txt`;
let a: TestCell | undefined;
let b: TestCell | undefined;
let browser: Browser | undefined;
let page: Page;
let bId = "";
const errors: string[] = [];

beforeAll(async () => {
  [a, b, browser] = await Promise.all([startCell(), startCell(), HAVE_CHROMIUM ? launchChromium() : Promise.resolve(undefined)]);
  await pair(a!, b!);
  bId = (await cliJson<{ id: string }[]>(a!, ["peers"]))[0]!.id;
  const aId = (await cliJson<{ id: string }[]>(b!, ["peers"]))[0]!.id;
  expect((await b!.cli(["msg", aId.slice(0, 8), "a-long-word-that-does-not-wrap-".repeat(4)])).code).toBe(0);
  for (const [path, body] of [
    ["photos/2026/december/notes.txt", "first"],
    ["photos/2026/december/notes.txt", "second"],
    [LONG, "long"],
  ] as const)
    expect((await a!.api(`/api/files/${path}`, { method: "PUT", body })).status).toBe(201);
  if (!browser) return;
  ({ page } = await cellPage(browser, a!, errors));
  await page.setViewportSize({ width: WIDTH, height: 844 });
  await firstRunSetup(page, "correct horse battery");
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(a), destroyCell(b)]);
}, 60_000);

describe.skipIf(!HAVE_CHROMIUM)(`the dashboard at ${WIDTH} px`, () => {
  const pages = [
    ...TABS.map((t) => t.href),
    "/assistant",
    "/assistant/models",
    `/files?dir=${encodeURIComponent("photos/2026/december")}`,
    "/files/detail?path=photos/2026/december/notes.txt",
    `/files/detail?path=${LONG}`,
  ];
  test.each(pages)("%s does not scroll sideways", async (href) => {
    await page.goto(href);
    expect(await sidewaysProblems(page)).toEqual([]);
  });

  test("the check also sees a table scrolling sideways inside its card (what the page's own width does not show)", async () => {
    await page.goto("/files");
    expect(await sidewaysProblems(page)).toEqual([]);
    await page.evaluate(() => {
      const wrap = document.createElement("div");
      wrap.className = "table-wrap";
      wrap.id = "too-wide";
      wrap.innerHTML = `<table><tr><td style="white-space:nowrap">${"x".repeat(400)}</td></tr></table>`;
      document.querySelector("main")!.append(wrap);
    });
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(await sidewaysProblems(page)).toEqual([expect.stringMatching(/^<div#too-wide\.table-wrap> scrolls sideways inside the page/)]);
  });

  test("a conversation with a peer (a long word in a message) does not scroll sideways", async () => {
    await page.goto(`/chat/${bId}`);
    await page.locator("#chat-log li.msg").first().waitFor();
    expect(await sidewaysProblems(page)).toEqual([]);
  });

  test("every tab can be reached from the tab bar", async () => {
    await page.goto("/files");
    for (const t of TABS) {
      const link = page.locator(`nav.tabs a[href="${t.href}"]`);
      await link.scrollIntoViewIfNeeded();
      const box = (await link.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(WIDTH + 0.5);
    }
  });

  test("an older version's Restore button is on screen on a file's page", async () => {
    await page.goto("/files/detail?path=photos/2026/december/notes.txt");
    const restore = page.locator("button.restore").first();
    expect(await restore.isVisible()).toBe(true);
    const box = (await restore.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(WIDTH + 0.5);
  });

  test("a table row is a card whose cells name their column", async () => {
    await page.goto("/files");
    const size = page.locator('td[data-label="Size"]').first();
    expect(await size.evaluate((td) => getComputedStyle(td, "::before").content)).toBe('"Size"');
    expect(await size.evaluate((td) => getComputedStyle(td).display)).toBe("block");
  });

  test("the pages raised no errors", () => {
    expect(errors).toEqual([]);
  });
});
