// The Assistant in real headless Chromium against two real cells: A has no model, its friend B
// has the fixture's tiny model (real node-llama-cpp, threads 1). From the Chat tab A opens the
// Assistant, sees B's model with its measured speed, asks, and the answer streams in token by
// token (SSE) from B; the conversation is kept and continues; a model uploaded through the
// form then answers on A itself; without JavaScript a question is answered and shown in full.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { CHROMIUM, HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { befriend } from "../helpers/friends.ts";
import { encodeGguf, tinyModel } from "../fixtures/tiny-gguf.ts";

if (!HAVE_CHROMIUM) console.warn(`assistant browser tests skipped: ${CHROMIUM} not found (apt-get update && apt-get install -y chromium)`);

const PASSWORD = "correct horse battery";
const config = { sync_interval_s: 3600, mdns: false, llm_threads: 1, llm_max_tokens: 24, ollama_url: "off" };
let a: TestCell | undefined;
let b: TestCell | undefined;
let idA = "";
let idB = "";
let browser: Browser | undefined;
let ctx: BrowserContext | undefined;
let page: Page;
const errors: string[] = [];
const tiny = () => {
  const { meta, tensors } = tinyModel();
  return encodeGguf(meta, tensors);
};

type Counters = { __tokens?: number; __done?: number };
const counters = (p: Page) => p.evaluate(() => ({ tokens: (window as Counters).__tokens ?? 0, done: (window as Counters).__done ?? 0 }));

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  [a, b, browser] = await Promise.all([
    startCell({ config: { ...config, name: "cell-a" } }),
    startCell({ config: { ...config, name: "cell-b" } }),
    launchChromium(),
  ]);
  [idA, idB] = await Promise.all([a, b].map(async (x) => (await x.cli(["id"])).stdout.trim()));
  await pair(a, b);
  await befriend(a, b);
  expect((await b.api("/api/models/tiny.gguf", { method: "PUT", body: tiny() })).status).toBe(201);
  expect((await b.cli(["ask", "warm up", "--max-tokens", "8"])).code).toBe(0); // B measures its speed
  expect((await a.cli(["peers", "--probe"])).code).toBe(0); // A reads B's new card
  ({ ctx, page } = await cellPage(browser, a, errors, { consoleErrors: true }));
  await ctx.addInitScript(() => {
    document.addEventListener("htmx:sseMessage", (e) => {
      const type = (e as CustomEvent<{ type: string }>).detail.type;
      const w = window as Counters;
      if (type === "token") w.__tokens = (w.__tokens ?? 0) + 1;
      if (type === "done") w.__done = (w.__done ?? 0) + 1;
    });
  });
  await firstRunSetup(page, PASSWORD);
}, 120_000);

afterAll(async () => {
  await ctx?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(a), destroyCell(b)]);
});

describe.skipIf(!HAVE_CHROMIUM)("Assistant", () => {
  test("the Chat tab lists the Assistant first; its page shows the friend's model and speed", async () => {
    await page.click("nav.tabs >> text=Chat");
    await page.waitForURL("**/chat");
    const first = page.locator("#chat-peers li").first();
    expect(await first.getAttribute("data-peer")).toBe("assistant");
    await first.locator("a").click();
    await page.waitForURL("**/assistant");
    expect(await page.locator("nav.tabs a.active").textContent()).toBe("Chat");
    expect(await page.locator("#models-none").count()).toBe(1);
    const row = page.locator(`#models-friends tr[data-peer="${idB}"]`);
    expect(await row.locator("td").first().innerText()).toBe("tiny.gguf");
    expect(await row.innerText()).toContain("cell-b");
    expect(await row.innerText()).toContain("121.5K");
    expect(await row.locator("td.speed").innerText()).toMatch(/^\d+(\.\d+)? tokens\/s$/);
    expect(await page.locator(`#assistant-target option[value="peer:${idB}:tiny.gguf"]`).count()).toBe(1);
  }, 60_000);

  let conversation = "";

  test("a question's answer streams in token by token from the friend's cell", async () => {
    await page.fill("#assistant-question", "What is a grove?");
    await page.press("#assistant-question", "Enter");
    const answer = page.locator("#assistant-log li.turn.assistant").last();
    await answer.locator(".meta .turn-model").waitFor();
    const n = await counters(page);
    expect(n.tokens).toBeGreaterThan(1); // several SSE token events, then done
    expect(n.done).toBe(1);
    expect((await answer.locator(".bubble").innerText()).length).toBeGreaterThan(0);
    expect(await answer.locator(".meta").innerText()).toMatch(/^tiny\.gguf · cell-b \([0-9a-f]{8}\) · 24 tokens in \d+\.\d s$/);
    expect(await page.locator("#assistant-log li.turn.user").last().innerText()).toBe("What is a grove?");
    // The form came back ready, carrying the new conversation; the list shows it.
    conversation = await page.inputValue("#assistant-conversation");
    expect(conversation).toMatch(/^[0-9a-f]{16}$/);
    expect(await page.isEnabled("#assistant-ask")).toBe(true);
    expect(await page.inputValue("#assistant-question")).toBe("");
    await page.locator(`#assistant-convs li[data-conversation="${conversation}"].active`).waitFor();
    expect(await page.locator("#assistant-title").innerText()).toBe("What is a grove?");
    const stored = await (await a!.api(`/api/chat/${conversation}`)).json();
    expect(stored.turns.map((t: { role: string; cell: string | null }) => [t.role, t.cell])).toEqual([
      ["user", null],
      ["assistant", idB],
    ]);
    expect(stored.turns[1].text).toBe(await answer.locator(".bubble").innerText());
  }, 60_000);

  test("the conversation continues, and comes back from SQLite on a reload", async () => {
    await page.fill("#assistant-question", "And then?");
    await page.click("#assistant-ask");
    await page.waitForFunction(() => document.querySelectorAll("#assistant-log li.turn.assistant .meta .turn-model").length === 2);
    expect((await (await a!.api(`/api/chat/${conversation}`)).json()).turns.length).toBe(4);
    await page.goto(`/assistant/c/${conversation}`);
    expect(await page.locator("#assistant-log li.turn").count()).toBe(4);
    expect(await page.locator("#assistant-title").innerText()).toBe("What is a grove?");
    expect(await page.locator("#assistant-log li.turn.assistant .turn-cell").first().innerText()).toContain("cell-b");
  }, 60_000);

  test("a model uploaded with the form answers on this cell", async () => {
    await page.goto("/assistant");
    await page.setInputFiles("#model-file", { name: "mine.gguf", mimeType: "application/octet-stream", buffer: Buffer.from(tiny()) });
    await page.click("#model-upload");
    await page.locator('#models-local tr[data-model="mine.gguf"]').waitFor();
    expect(await page.locator("#model-upload-status").innerText()).toBe("Stored mine.gguf.");
    expect(await page.locator('#models-local tr[data-model="mine.gguf"]').innerText()).toContain("121.5K");
    await page.reload();
    await page.selectOption("#assistant-target", "own:mine.gguf");
    await page.fill("#assistant-question", "Yours now?");
    await page.click("#assistant-ask");
    const answer = page.locator("#assistant-log li.turn.assistant").last();
    await answer.locator(".meta .turn-model").waitFor();
    expect(await answer.locator(".meta").innerText()).toMatch(/^mine\.gguf · this cell · /);
  }, 60_000);

  test("without JavaScript the question is answered in full and the conversation shown", async () => {
    const noJs = await cellPage(browser!, a!, errors, { javaScriptEnabled: false });
    try {
      // The session cookie of the logged-in context.
      await noJs.ctx.addCookies(await ctx!.cookies());
      await noJs.page.goto("/assistant");
      await noJs.page.selectOption("#assistant-target", `peer:${idB}:tiny.gguf`);
      await noJs.page.fill("#assistant-question", "No script here?");
      await Promise.all([noJs.page.waitForURL("**/assistant/c/*"), noJs.page.click("#assistant-ask")]);
      expect(await noJs.page.locator("#assistant-log li.turn").count()).toBe(2);
      expect(await noJs.page.locator("#assistant-log li.turn.assistant .turn-cell").innerText()).toContain("cell-b");
    } finally {
      await noJs.ctx.close();
    }
    expect(errors).toEqual([]);
  }, 60_000);
});
