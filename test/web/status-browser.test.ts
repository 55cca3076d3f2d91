// Humane status (issue 22, point 4) in real headless Chromium against two real cells A and B
// (replication factor 2, B holds A's copy): the Peers tab shows the list first, B online and how
// it is reached; once B is stopped, "Check now" shows it offline with when it was last seen; the
// Storage tab's Sync now then warns (not the green line) naming B, says the round in sentences,
// and draws its charts as labelled SVG (the rounds from GROVE_DIR/sync_history.json, kept across
// restarts); a chat to B says what happened without the socket error; no page scrolls sideways at
// 1280 or 390 px. Presence, route kind, Check now, the Storage warning and the charts' contents are checked at both widths;
// axe (serious and critical, light and dark mode) finds nothing on Storage with the warning.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { CHROMIUM, HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { cliJson, destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { until } from "../helpers/until.ts";
import { seriousViolationsInBothSchemes, sidewaysProblems } from "../helpers/axe.ts";

if (!HAVE_CHROMIUM) console.warn(`status browser tests skipped: ${CHROMIUM} not found (apt-get update && apt-get install -y chromium)`);

const PASSWORD = "correct horse battery";
const config = { replication_factor: 2, sync_interval_s: 3600, mdns: false };
const TECHNICAL = ["ECONNREFUSED", "127.0.0.1:", "Unable to connect"];

let a: TestCell | undefined;
let b: TestCell | undefined;
let bId = "";
let browser: Browser | undefined;
let page: Page;
const errors: string[] = [];

/** How far the page reaches past the window's right edge (0 or less when it fits). */
const top = async (p: Page, sel: string) => (await p.locator(sel).boundingBox())!.y;

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  [a, b, browser] = await Promise.all([
    startCell({ config: { ...config, name: "cell-a" } }),
    startCell({ config: { ...config, name: "cell-b" } }),
    launchChromium(),
  ]);
  await pair(a, b);
  bId = (await cliJson<{ id: string }[]>(a, ["peers"]))[0]!.id;
  const src = join(a.root, "notes.txt");
  writeFileSync(src, "a file whose second copy lives on cell-b\n");
  expect((await a.cli(["put", src, "--as", "notes.txt"])).code).toBe(0);
  const round = (await (await a.api("/api/sync", { method: "POST" })).json()) as { chunks_pushed: number; reached: number };
  expect(round.reached).toBe(1);
  ({ page } = await cellPage(browser, a, errors, { consoleErrors: true }));
  await page.setViewportSize({ width: 1280, height: 900 });
  await firstRunSetup(page, PASSWORD);
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(a), destroyCell(b)]);
}, 60_000);

describe.skipIf(!HAVE_CHROMIUM)("humane status", () => {
  // Each flow is clicked at both widths: the phone layout (cards, not a table) must say the same.
  const WIDTHS = [1280, 390] as const;

  test("Peers: the list comes before the invite and join forms; B is online, on this machine (1280 and 390 px)", async () => {
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto("/files");
      await page.click("nav.tabs >> text=Peers");
      await page.waitForURL("**/peers");
      const row = page.locator(`#peer-list tr[data-peer="${bId}"]`);
      expect(await row.getAttribute("data-presence")).toBe("online");
      expect(await row.locator(".presence").innerText()).toBe("online");
      expect(await row.locator(".route-kind").innerText()).toBe("this machine");
      expect(await row.locator(".route-kind").isVisible()).toBe(true);
      expect(await top(page, "#peer-list")).toBeLessThan(await top(page, "#invite-section"));
      expect(await top(page, "#invite-section")).toBeLessThan(await top(page, "#join-section"));
      expect({ width, sideways: await sidewaysProblems(page) }).toEqual({ width, sideways: [] });
    }
  }, 30_000);

  test("B stopped: Check now shows it offline, with when it was last seen (the exact time on hover; 1280 and 390 px)", async () => {
    await b!.stop();
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto("/peers");
      await page.click("#peer-check");
      const row = page.locator(`#peer-list tr[data-peer="${bId}"][data-presence="offline"]`);
      await row.waitFor();
      expect(await row.locator(".presence").innerText()).toBe("offline");
      expect(await row.locator(".presence").isVisible()).toBe(true);
      expect(await row.innerText()).toContain("no route answers");
      const seen = row.locator(".last-seen time");
      expect(await seen.innerText()).toMatch(/^(just now|\d+ min ago)$/);
      expect(await seen.getAttribute("title")).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
      expect(await page.locator("#peer-count").innerText()).toBe("0 of 1 online");
      expect({ width, sideways: await sidewaysProblems(page) }).toEqual({ width, sideways: [] });
    }
  }, 30_000);

  test("Storage after a round without B: a warning naming it, not the green line; the round in sentences; the charts (1280 and 390 px)", async () => {
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto("/files");
      await page.click("nav.tabs >> text=Storage");
      await page.waitForURL("**/storage");
      // This width's own round: its answer, swapped in, then the warning.
      const [answer] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/storage/sync"), { timeout: 30_000 }),
        page.click("#sync-button"),
      ]);
      expect(answer.status()).toBe(200);
      await page.locator("#sync-indicator").waitFor({ state: "hidden", timeout: 30_000 });
      await page.locator("#round-facts li[data-fact=peers].warn").waitFor({ timeout: 30_000 });
      expect(await page.locator("#round-facts li[data-fact=peers]").innerText()).toContain("0 of 1 peer answered; no answer from cell-b");
      expect(await page.locator("#round-facts li[data-fact=copies]").getAttribute("class")).toContain("warn");
      const warning = page.locator("#away-holders");
      expect(await warning.isVisible()).toBe(true);
      expect(await warning.locator(".away-name").innerText()).toBe("cell-b");
      expect(await warning.innerText()).toContain("did not answer lately");
      const box = (await warning.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(width);
      expect(await page.locator("#at-risk .ok-line").count()).toBe(0);
      const text = await page.locator("main").innerText();
      expect(text).not.toContain("every chunk is at its replication factor");
      expect(await page.locator("pre").count()).toBe(0);
      for (const bad of TECHNICAL) expect(text).not.toContain(bad);
      expect({ width, sideways: await sidewaysProblems(page) }).toEqual({ width, sideways: [] });
      expect({ width, axe: await seriousViolationsInBothSchemes(page) }).toEqual({ width, axe: [] });
    }
    // The charts' contents, at both widths.
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await page.reload();
      const throughput = page.locator('#throughput-chart svg[role="img"]');
      expect(await throughput.getAttribute("aria-label")).toMatch(/^Bytes moved by the last \d+ sync rounds?: /);
      // Each bar a round, or rounds of the same minute merged: the one at start, the API's, Sync now's (once per width).
      const drawn = (await page.locator("#throughput-chart .round-bar").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-rounds"))))
        .map(Number)
        .reduce((n, r) => n + r, 0);
      expect(drawn).toBeGreaterThanOrEqual(4);
      // The chart draws the rounds kept across restarts (cell/sync-history): GROVE_DIR/sync_history.json.
      const kept = () =>
        (JSON.parse(readFileSync(join(a!.dir, "sync_history.json"), "utf8")) as { points: { rounds: number }[] }).points.reduce(
          (n, p) => n + p.rounds,
          0,
        );
      await until("the last round written to sync_history.json", () => kept() === drawn);
      const held = page.locator('#held-chart svg[role="img"]');
      expect(await held.getAttribute("aria-label")).toMatch(/cell-b keeps \d+(\.\d)? (B|KiB) for this cell/);
      const box = (await held.boundingBox())!;
      if (width === 1280) expect(box.width).toBeGreaterThan(300);
      else expect(box.x + box.width).toBeLessThanOrEqual(width + 0.5);
      for (const chart of [throughput, held]) expect(await chart.isVisible()).toBe(true);
    }
  }, 90_000);

  test("a chat to B while it is stopped: what happened and what comes next, no socket error", async () => {
    await page.goto(`/chat/${bId}`);
    await page.fill("#chat-text", "are you there?");
    await page.press("#chat-text", "Enter");
    const notice = page.locator("#chat-notice");
    await notice.waitFor();
    expect(await notice.innerText()).toContain("cell-b could not be reached");
    const html = await page.content();
    for (const bad of TECHNICAL) expect(html).not.toContain(bad);
  }, 30_000);

  const pages = () => ["/peers", "/storage", `/chat/${bId}`, "/assistant", "/feed"];
  for (const width of [1280, 390]) {
    test(`no page scrolls sideways at ${width} px`, async () => {
      await page.setViewportSize({ width, height: 844 });
      for (const href of pages()) {
        await page.goto(href);
        // Named, so a failure says which page is too wide.
        expect({ href, sideways: await sidewaysProblems(page) }).toEqual({ href, sideways: [] });
      }
      // At phone width the charts shrink with the card and stay on screen.
      await page.goto("/storage");
      const box = (await page.locator("#held-chart svg.chart").boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(width + 0.5);
    }, 60_000);
  }

  test("the pages raised no errors", () => {
    expect(errors).toEqual([]);
  });
});
