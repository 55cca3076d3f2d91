/**
 * The dashboard at phone width (issue: "no page scrolls sideways at 390 px"), in headless Chromium
 * at 390 × 844: every tab, a nested file's page with its versions, with a paired peer (64-hex ids),
 * a long file name and a file with history. No page may be wider than the screen, the tab bar must
 * reach every tab, and a version's Restore button, the Bounty table's "We keep for it" and a Files
 * row's Delete must be on screen. Every table page (Files, a file's versions, Peers, Bounty, Trash)
 * shows its rows as cards whose cells carry their column's label. Skipped without Chromium.
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
    ["old/binned.txt", "in the trash"],
  ] as const)
    expect((await a!.api(`/api/files/${path}`, { method: "PUT", body })).status).toBe(201);
  expect((await a!.api("/api/files/old/binned.txt", { method: "DELETE" })).status).toBe(200);
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

  /** The on-screen box of `sel` (the first match) lies within the screen's width. */
  const onScreen = async (sel: string) => {
    const el = page.locator(sel).first();
    await el.scrollIntoViewIfNeeded();
    expect(await el.isVisible()).toBe(true);
    const box = (await el.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(WIDTH + 0.5);
  };

  test("the Bounty table's 'We keep for it' and a Files row's Delete button are on screen", async () => {
    await page.goto("/bounty");
    await onScreen('table.bounty td[data-label="We keep for it"]');
    await page.goto("/files");
    await onScreen("#file-list tr[data-path] button.danger");
  });

  // Every table page: its rows are cards, the headers hidden, each cell after the first led by its column's name.
  const tables = [
    ["/files", "table.files", "Size", "tbody tr:not(.dir)"],
    ["/files/detail?path=photos/2026/december/notes.txt", "table.versions", "Size", "tbody tr"],
    ["/peers", "table.peers", "Last seen", "tbody tr"],
    ["/bounty", "table.bounty", "We keep for it", "tbody tr"],
    ["/files/trash", "#trash-list table", "Deleted for good", "tbody tr"],
  ] as const;
  test.each(tables)("%s: the table %s reads as cards with their labels (%s)", async (href, table, label, rows) => {
    await page.goto(href);
    const t = page.locator(table).first();
    const row = t.locator(rows).first();
    await row.waitFor();
    expect(await t.locator("thead").isVisible()).toBe(false);
    const cells = await row.evaluate((tr) =>
      Array.from((tr as HTMLTableRowElement).cells)
        .slice(1)
        .map((td) => ({
          label: td.getAttribute("data-label"),
          before: getComputedStyle(td, "::before").content,
          display: getComputedStyle(td).display,
        })),
    );
    expect(await row.evaluate((tr) => getComputedStyle(tr).display)).toBe("block");
    const labelled = cells.filter((c) => c.label);
    expect(labelled.length).toBeGreaterThanOrEqual(2);
    for (const c of labelled) expect(c).toMatchObject({ before: JSON.stringify(c.label), display: "block" });
    expect(labelled.map((c) => c.label)).toContain(label);
    await onScreen(`${table} ${rows} td[data-label="${label}"]`);
  });

  test("the pages raised no errors", () => {
    expect(errors).toEqual([]);
  });
});
