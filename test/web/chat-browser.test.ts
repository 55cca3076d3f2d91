// The Chat tab in real headless Chromium against two real cells A and B (paired): A's page shows
// B's message without a reload (SSE), A sends from the form and sees it delivered, B lists it (at
// 1280 px); a message queued while B is stopped turns delivered on A's open page once B is back;
// the conversation list's unread count updates live (at 390 px, nothing scrolling sideways);
// without JavaScript the form still sends.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { CHROMIUM, HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { cliJson, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import type { MessageView } from "../../src/message/types.ts";
import { sidewaysProblems } from "../helpers/axe.ts";

if (!HAVE_CHROMIUM) console.warn(`chat browser tests skipped: ${CHROMIUM} not found (apt-get update && apt-get install -y chromium)`);

const PASSWORD = "correct horse battery";
const config = { sync_interval_s: 3600, mdns: false };

let a: TestCell | undefined;
let b: TestCell | undefined;
let aId = "";
let bId = "";
let browser: Browser | undefined;
let ctx: BrowserContext | undefined;
let page: Page;
const errors: string[] = [];

const restartB = async () => {
  b = await startCell({ root: b!.root, config, listen: { host: "127.0.0.1", port: b!.port } });
};
const message = (p: Page, text: string) => p.locator("#chat-log li.msg", { has: p.locator(".bubble", { hasText: text }) });
/** Wait until the page's live stream is open (set by the init script below). */
const streamOpen = (p: Page) => p.waitForFunction(() => (window as unknown as { __sseOpen?: boolean }).__sseOpen === true);

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  [a, b, browser] = await Promise.all([startCell({ config }), startCell({ config }), launchChromium()]);
  [aId, bId] = await Promise.all([a, b].map(async (x) => (await x.cli(["id"])).stdout.trim()));
  const token = (await a.cli(["invite"])).stdout.trim();
  expect((await b.cli(["join", token])).code).toBe(0);
  ({ ctx, page } = await cellPage(browser, a, errors, { consoleErrors: true }));
  // Each page load: note when the SSE stream opens, and mark the document (a reload drops it).
  await ctx.addInitScript(() => {
    document.addEventListener("htmx:sseOpen", () => ((window as unknown as { __sseOpen?: boolean }).__sseOpen = true));
    (window as unknown as { __loaded?: number }).__loaded = Math.random();
  });
  await firstRunSetup(page, PASSWORD);
}, 120_000);

afterAll(async () => {
  await ctx?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(a), destroyCell(b)]);
});

describe.skipIf(!HAVE_CHROMIUM)("Chat tab", () => {
  test("B's message appears on A's open conversation without a reload", async () => {
    await page.click("nav.tabs >> text=Chat");
    await page.waitForURL("**/chat");
    expect(await page.locator("nav.tabs a.active").textContent()).toBe("Chat");
    await page.click(`#chat-peers li[data-peer="${bId}"] a`);
    await page.waitForURL(`**/chat/${bId}`);
    await streamOpen(page);
    const loaded = await page.evaluate(() => (window as unknown as { __loaded: number }).__loaded);
    expect(await page.locator("#chat-log li.empty").count()).toBe(1);

    expect((await b!.cli(["msg", aId.slice(0, 8), "hi A, <b>from</b> B\nsecond line"])).code).toBe(0);
    const m = message(page, "hi A, <b>from</b> B");
    await m.waitFor();
    expect(await m.getAttribute("data-direction")).toBe("in");
    expect(await m.locator(".bubble").innerText()).toBe("hi A, <b>from</b> B\nsecond line"); // text, not markup
    expect(await page.evaluate(() => (window as unknown as { __loaded: number }).__loaded)).toBe(loaded);
  }, 60_000);

  test("A sends from the form (Enter); it shows delivered and B lists it", async () => {
    await page.fill("#chat-text", "hello B, from A's dashboard");
    await page.press("#chat-text", "Enter");
    const m = message(page, "hello B, from A's dashboard");
    await m.waitFor();
    // The message shows at once (queued) and turns delivered when B has it: wait for that change.
    await page
      .locator('#chat-log li.msg[data-state="delivered"]', { has: page.locator(".bubble", { hasText: "hello B, from A's dashboard" }) })
      .waitFor({ timeout: 15_000 });
    expect(await m.locator(".msg-state").innerText()).toBe("✓ delivered");
    expect(await page.inputValue("#chat-text")).toBe(""); // the form came back empty
    const onB = await cliJson<MessageView[]>(b!, ["msgs", aId]);
    expect(onB.find((x) => x.text === "hello B, from A's dashboard")).toMatchObject({ direction: "in", peer: aId });
    // Text that is only blanks is refused with a message, and kept in the box.
    await page.fill("#chat-text", "   ");
    await page.click("#chat-send");
    await expect(page.locator("#chat-error").innerText()).resolves.toContain("a message needs some text");
  }, 60_000);

  test("at 390 px: a message queued while B is stopped turns delivered on the open page when B is back", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await b!.stop();
    await page.fill("#chat-text", "are you there?");
    await page.click("#chat-send");
    const m = message(page, "are you there?");
    await m.waitFor();
    expect(await m.getAttribute("data-state")).toBe("queued");
    expect(await m.locator(".msg-state").innerText()).toContain("⏳ queued");
    const notice = await page.locator("#chat-notice").innerText();
    expect(notice).toContain("Queued");
    // Said for a person: what happened and what comes next, no address or socket error.
    expect(notice).toContain("could not be reached (its cell may be off or offline): it will be sent when it is back");
    expect(notice).not.toMatch(/https?:|127\.0\.0\.1|ECONN|Unable to connect/);
    expect(await sidewaysProblems(page)).toEqual([]);
    await expect(page.locator(`#chat-peers li[data-peer="${bId}"] .count.queued`).innerText()).resolves.toBe("⏳ 1");
    const loaded = await page.evaluate(() => (window as unknown as { __loaded: number }).__loaded);

    await restartB();
    // B writes to A: A answers it, and delivers what it kept for B at once.
    expect((await b!.cli(["msg", aId, "back now"])).code).toBe(0);
    await message(page, "back now").waitFor();
    await page.waitForSelector(`#chat-log li.msg[data-id="${await m.getAttribute("data-id")}"][data-state="delivered"]`);
    expect(await m.locator(".msg-state").innerText()).toBe("✓ delivered");
    expect(await page.locator(`#chat-peers li[data-peer="${bId}"] .count.queued`).count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __loaded: number }).__loaded)).toBe(loaded);
    expect((await cliJson<MessageView[]>(b!, ["msgs", aId])).filter((x) => x.text === "are you there?").length).toBe(1);
  }, 90_000);

  test("at 390 px: the conversation list shows new unread messages live", async () => {
    await page.goto("/chat");
    await streamOpen(page);
    expect(await page.locator(`#chat-peers li[data-peer="${bId}"] .count.unread`).count()).toBe(0);
    expect((await b!.cli(["msg", aId, "ping one"])).code).toBe(0);
    expect((await b!.cli(["msg", aId, "ping two"])).code).toBe(0);
    await page.waitForFunction((id) => document.querySelector(`#chat-peers li[data-peer="${id}"] .count.unread`)?.textContent === "2", bId);
    expect(await page.locator(`#chat-peers li[data-peer="${bId}"] .conv-last`).innerText()).toBe("ping two");
    // Opening the conversation reads them.
    await page.click(`#chat-peers li[data-peer="${bId}"] a`);
    await message(page, "ping two").waitFor();
    expect(await page.locator(`#chat-peers li[data-peer="${bId}"] .count.unread`).count()).toBe(0);
    expect(await sidewaysProblems(page)).toEqual([]);
  }, 60_000);

  test("without JavaScript the form posts and the page shows the message", async () => {
    const noJs = await browser!.newContext({ baseURL: a!.url, javaScriptEnabled: false });
    try {
      await noJs.addCookies(await ctx!.cookies());
      const p = await noJs.newPage();
      await p.goto(`/chat/${bId.slice(0, 8)}`);
      expect(p.url()).toEndWith(`/chat/${bId}`); // a prefix lands on the conversation's one URL
      await p.fill("#chat-text", "sent without JavaScript");
      await Promise.all([p.waitForURL(`**/chat/${bId}`), p.click("#chat-send")]);
      expect(await message(p, "sent without JavaScript").getAttribute("data-state")).toBe("delivered");
    } finally {
      await noJs.close();
    }
    expect((await cliJson<MessageView[]>(b!, ["msgs", aId])).some((x) => x.text === "sent without JavaScript")).toBe(true);
  }, 60_000);

  test("no page errors", () => {
    expect(errors).toEqual([]);
  });
});
