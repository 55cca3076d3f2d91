// The Storage tab in real headless Chromium against two real cells (R=2): empty states, a file
// on A with one copy of two (at risk), "Sync now" (htmx, with its progress indicator) placing
// the second copy on B, at 390 px (test/web/status-browser has it at 1280), and the same button
// as a plain form post with JavaScript off.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import type { PlacementReport } from "../../src/sync/placement-report.ts";
import { sidewaysProblems } from "../helpers/axe.ts";

const PASSWORD = "correct horse battery";
const FILE = "notes/hello.txt";
const config = { replication_factor: 2, sync_interval_s: 3600, mdns: false };

let a: TestCell | undefined;
let b: TestCell | undefined;
let browser: Browser | undefined;
const errors: string[] = [];

const context = (cell: TestCell, javaScriptEnabled = true) => cellPage(browser!, cell, errors, { javaScriptEnabled, consoleErrors: true });

const fileRow = (p: Page) => p.locator(`#placement-files tr[data-path="${FILE}"]`);

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  [a, b, browser] = await Promise.all([
    startCell({ config: { ...config, name: "cell-a" } }),
    startCell({ config: { ...config, name: "cell-b" } }),
    launchChromium(),
  ]);
}, 30_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(a), destroyCell(b)]);
}, 120_000);

test.skipIf(!HAVE_CHROMIUM)(
  "Storage tab at 390 px: empty states, a file at risk, Sync now places its second copy",
  async () => {
    const { ctx, page } = await context(a!);
    await page.setViewportSize({ width: 390, height: 844 });
    await firstRunSetup(page, PASSWORD);

    // The tab sits between Peers and Settings.
    expect(await page.locator("nav.tabs a").allTextContents()).toEqual(["Files", "Feed", "Peers", "Storage", "Chat", "Bounty", "Settings"]);
    await page.click("nav.tabs >> text=Storage");
    await page.waitForURL("**/storage");
    expect(await page.locator("nav.tabs a.active").textContent()).toBe("Storage");
    expect(await page.locator("#replication-factor").textContent()).toContain("2");

    // Nothing yet: no peers (pointing to the Peers tab), no files, nothing at risk.
    const noPeers = page.locator("#peer-storage .empty");
    expect(await noPeers.textContent()).toContain("No peers yet");
    expect(await noPeers.locator('a[href="/peers"]').count()).toBe(1);
    expect(await page.locator("#placement-files .empty").textContent()).toContain("No files yet");
    expect(await page.locator("#at-risk").textContent()).toContain("Nothing at risk");

    // Pair A and B through the CLI and store a small file on A.
    const token = (await a!.cli(["invite"])).stdout.trim();
    expect(token).toMatch(/^grove1\./);
    expect((await b!.cli(["join", token])).code).toBe(0);
    const src = join(a!.root, "hello.txt");
    writeFileSync(src, "hello from the storage tab\n");
    expect((await a!.cli(["put", src, "--as", FILE])).code).toBe(0);

    // One copy of two: marked under, and in the at-risk list.
    await page.reload();
    const copies = fileRow(page).locator(".copies");
    expect((await copies.textContent())!.replace(/\s+/g, " ")).toContain("1/2");
    expect(await copies.getAttribute("class")).toContain("under");
    expect(await fileRow(page).locator(".holders").textContent()).toBe("this cell");
    expect(await page.locator(`#at-risk tr[data-path="${FILE}"]`).count()).toBe(1);
    const peer = page.locator("#peer-storage tr[data-peer]");
    expect(await peer.count()).toBe(1);
    expect(await peer.textContent()).toContain("cell-b");
    expect(await peer.locator(".keeps-for-us").textContent()).toContain("0 chunks");

    // Sync now: the answer is held back a moment so the running state can be seen.
    await ctx.route("**/storage/sync", async (r) => {
      await Bun.sleep(700);
      await r.continue();
    });
    const button = page.locator("#sync-button");
    expect(await button.textContent()).toBe("Sync now");
    expect(await page.locator("#sync-indicator").isVisible()).toBe(false);
    await button.click();
    await page.locator("#sync-indicator").waitFor({ state: "visible" });
    expect(await button.isDisabled()).toBe(true);

    await page.locator(`#placement-files tr[data-path="${FILE}"] .copies`, { hasText: "2/2" }).waitFor();
    expect(await copies.getAttribute("class")).not.toContain("under");
    const holders = await fileRow(page).locator(".holders").textContent();
    expect(holders).toContain("this cell");
    expect(holders).toContain("cell-b");
    expect(await page.locator("#at-risk tr[data-path]").count()).toBe(0);
    expect(await page.locator("#at-risk").textContent()).toContain("Nothing at risk");
    expect(await peer.locator(".keeps-for-us").textContent()).toContain("1 chunk");
    expect(await peer.textContent()).toContain("counts");
    // The round in sentences, not a monospace dump.
    expect(await page.locator("#last-round pre").count()).toBe(0);
    expect(await page.locator("#round-facts li[data-fact=peers]").textContent()).toBe("The peer answered.");
    expect(await page.locator("#round-facts li[data-fact=moved]").textContent()).toMatch(/^Sent 1 copy \(\d+ B\) to peers\.$/);
    expect(await page.locator("#round-facts li[data-fact=copies]").getAttribute("class")).toBe("fact ok");
    expect(await page.locator("#sync-indicator").isVisible()).toBe(false);
    expect(await button.isEnabled()).toBe(true);
    expect(page.url()).toEndWith("/storage");
    expect(await sidewaysProblems(page)).toEqual([]);

    // B's side agrees: it keeps one chunk for A.
    const onB = (await (await b!.api("/api/placement")).json()) as PlacementReport;
    expect(onB.peers).toEqual([expect.objectContaining({ name: "cell-a", we_hold_for_it: expect.objectContaining({ chunks: 1 }) })]);
    expect(onB.totals.held_for_others_bytes).toBeGreaterThan(0);
    await ctx.close();
    expect(errors).toEqual([]);
  },
  60_000,
);

test.skipIf(!HAVE_CHROMIUM)(
  "without JavaScript, Sync now is a form post that lands back on the tab",
  async () => {
    const { ctx, page } = await context(a!, false);
    await page.goto("/login");
    await page.fill("#password", PASSWORD);
    await Promise.all([page.waitForURL("**/files"), page.click('form[action="/login"] button[type=submit]')]);
    await page.goto("/storage");
    expect(await fileRow(page).locator(".copies").textContent()).toContain("2/2");

    const [post] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/storage/sync")),
      page.click("#sync-button"),
    ]);
    expect(post.status()).toBe(303);
    await page.waitForLoadState("load");
    expect(page.url()).toEndWith("/storage");
    // This round found nothing to push and audited the copy on B.
    expect(await page.locator("#round-facts li[data-fact=moved]").textContent()).toBe("Nothing needed sending or fetching.");
    expect(await page.locator("#round-facts li[data-fact=audited]").textContent()).toBe("Checked 1 copy kept by peers: all intact.");
    expect(await page.locator("#at-risk").textContent()).toContain("Nothing at risk");
    await ctx.close();
    expect(errors).toEqual([]);
  },
  60_000,
);

test.skipIf(!HAVE_CHROMIUM)(
  "while a round pushes, the tab shows its phase and a progress bar of the bytes it moves",
  async () => {
    const src = join(a!.root, "big.bin");
    const big = new Uint8Array(192 * 1024 * 1024);
    for (let o = 0; o < big.length; o += 65536) crypto.getRandomValues(big.subarray(o, o + 65536));
    writeFileSync(src, big);
    expect((await a!.cli(["put", src, "--as", "big.bin"])).code).toBe(0);

    const { ctx, page } = await context(a!);
    await page.goto("/login");
    await page.fill("#password", PASSWORD);
    await Promise.all([page.waitForURL("**/files"), page.click('form[action="/login"] button[type=submit]')]);
    // A round started elsewhere (the API); the tab, loaded while it pushes, shows how far it is.
    let ended = false;
    const round = a!
      .api("/api/sync", { method: "POST" })
      .then((r) => r.json())
      .finally(() => (ended = true));
    let seen: { text: string; value: number; max: number } | null = null;
    while (!ended && !seen) {
      await page.goto("/storage");
      const bar = page.locator("#sync-progress");
      if ((await bar.count()) && !ended) {
        seen = {
          text: (await page.locator("#sync-indicator").textContent())!,
          value: Number(await bar.getAttribute("value")),
          max: Number(await bar.getAttribute("max")),
        };
      }
    }
    const report = (await round) as { chunks_pushed: number };
    expect(report.chunks_pushed).toBe(48);
    expect(seen).not.toBeNull();
    expect(seen!.text).toMatch(/Syncing: pushing chunks \d+\/48, /);
    expect(seen!.max).toBe(48 * (4 * 1024 * 1024 + 16));
    expect(seen!.value).toBeLessThanOrEqual(seen!.max);
    // Once it has ended, the tab polls no more and shows the round's summary.
    await page.goto("/storage");
    expect(await page.locator("#sync-progress").count()).toBe(0);
    expect(await page.locator("#round-facts li[data-fact=moved]").textContent()).toContain("Sent 48 copies");
    await ctx.close();
    expect(errors).toEqual([]);
  },
  90_000,
);
