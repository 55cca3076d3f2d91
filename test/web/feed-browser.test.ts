// Sharing in the dashboard, in real headless Chromium against two real cells A and B (friends):
// A shares a text file from its detail page (the Share box), B's Feed lists it with a text
// preview and downloads identical bytes (at 1280 px); a PNG shared from A's CLI shows as an image
// preview; A revokes the text share in its Feed tab ("Shared by you") and B's Feed shows it
// revoked (at 390 px, nothing scrolling sideways).
// Without JavaScript, Revoke and Share are form posts (Share lands on the Share dialog page).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import type { Browser, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { befriend } from "../helpers/friends.ts";
import type { FeedItem, ShareView } from "../../src/share/types.ts";
import { FeedPage } from "../../views/feed.tsx";
import { ShareBox } from "../../views/share-dialog.tsx";
import { sidewaysProblems } from "../helpers/axe.ts";

const PASSWORD = "correct horse battery";
const TEXT_PATH = "notes/hello.txt";
const TEXT = "hello from cell A <b>not bold</b> & ünïcödé\nsecond line\n";
const PNG_PATH = "pics/dot.png";
const config = { sync_interval_s: 3600, mdns: false };

let a: TestCell | undefined;
let b: TestCell | undefined;
let aId = "";
let bId = "";
let browser: Browser | undefined;
const errors: string[] = [];

// ---- a tiny valid PNG (3x2 RGB), built by hand ----
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of bytes) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function tinyPng(width = 3, height = 2): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows: number[] = [];
  for (let y = 0; y < height; y++) {
    rows.push(0); // filter: none
    for (let x = 0; x < width; x++) rows.push((x * 80) & 0xff, (y * 120) & 0xff, 200);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", deflateSync(Buffer.from(rows))),
    pngChunk("IEND", new Uint8Array(0)),
  ]);
}
const PNG = tinyPng();

// ---- browser helpers ----
const context = (cell: TestCell, javaScriptEnabled = true) =>
  cellPage(browser!, cell, errors, { javaScriptEnabled, acceptDownloads: true });

const setup = (page: Page) => firstRunSetup(page, PASSWORD);
/** A phone's window, and whether the page is no wider than it. */
const phone = (page: Page) => page.setViewportSize({ width: 390, height: 844 });

async function login(page: Page): Promise<void> {
  await page.goto("/login");
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForURL("**/files"), page.click('form[action="/login"] button[type=submit]')]);
}

const feedItem = (p: Page, filename: string) =>
  p.locator("#feed-list tbody.feed-item", { has: p.locator(".filename", { hasText: filename }) });
const shareRow = (p: Page, filename: string) =>
  p.locator("#shared-by-you tr[data-share]", { has: p.locator(".filename", { hasText: filename }) });

async function cliJson<T>(cell: TestCell, args: string[]): Promise<T> {
  const r = await cell.cli([...args, "--json"]);
  if (r.code !== 0) throw new Error(`grove ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  [a, b, browser] = await Promise.all([
    startCell({ config: { ...config, name: "cell-a" } }),
    startCell({ config: { ...config, name: "cell-b" } }),
    launchChromium(),
  ]);
  aId = (await a.cli(["id"])).stdout.trim();
  bId = (await b.cli(["id"])).stdout.trim();
  const token = (await a.cli(["invite"])).stdout.trim();
  expect((await b.cli(["join", token])).code).toBe(0);
  const txt = join(a.root, "hello.txt");
  writeFileSync(txt, TEXT);
  expect((await a.cli(["put", txt, "--as", TEXT_PATH])).code).toBe(0);
  const png = join(a.root, "dot.png");
  writeFileSync(png, PNG);
  expect((await a.cli(["put", png, "--as", PNG_PATH])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(a), destroyCell(b)]);
}, 120_000);

describe.skipIf(!HAVE_CHROMIUM)("Feed tab and Share box", () => {
  let textGrant = "";

  test("share a text file from the detail page; B's Feed previews it and downloads identical bytes", async () => {
    const { ctx: ctxA, page: pa } = await context(a!);
    const { ctx: ctxB, page: pb } = await context(b!);
    await setup(pa);
    await setup(pb);

    // The Feed tab sits between Files and Peers; empty on both sides, B's says how to share with it.
    expect(await pb.locator("nav.tabs a").allTextContents()).toEqual(["Files", "Feed", "Peers", "Storage", "Chat", "Bounty", "Settings"]);
    await pb.click("nav.tabs >> text=Feed");
    await pb.waitForURL("**/feed");
    expect(await pb.locator("nav.tabs a.active").textContent()).toBe("Feed");
    const empty = await pb.locator("#feed-list .empty").textContent();
    expect(empty).toContain("Nothing shared with you yet");
    expect(empty).not.toContain("grove "); // no command to type: the Peers tab makes friends
    expect(await pb.locator('#feed-list .empty a[href="/peers"]').count()).toBe(1);
    await pa.goto("/feed");
    expect(await pa.locator("#shared-by-you .empty").count()).toBe(1);

    // Not friends yet: the Share box points to the Peers tab.
    await pa.goto(`/files/detail?path=${encodeURIComponent(TEXT_PATH)}`);
    expect(await pa.locator("#share-no-friends").textContent()).toContain("mark a peer as friend in the Peers tab first");
    expect(await pa.locator('#share-no-friends a[href="/peers"]').count()).toBe(1);

    // Friends both ways (CLI); the Share box now offers B, as a checkbox (checked: the only friend).
    await befriend(a!, b!);
    await pa.reload();
    const friends = pa.locator('#share-friends input[type=checkbox][name="peer"]');
    expect(await friends.count()).toBe(1);
    expect(await friends.first().getAttribute("value")).toBe(bId);
    expect(await friends.first().isChecked()).toBe(true);
    expect(await pa.locator("#share-friends label").first().textContent()).toContain("cell-b");

    // Nobody ticked: a clear message in place, nothing shared.
    await friends.first().uncheck();
    await pa.click("#share-button");
    await pa.locator("#share-result #share-error").waitFor();
    expect(await pa.locator("#share-error").textContent()).toContain("Choose at least one friend");
    expect(await cliJson<ShareView[]>(a!, ["shares"])).toHaveLength(0);
    await friends.first().check();
    expect(await pa.locator("#share-expires option").allTextContents()).toEqual(["Never", "1 hour", "1 day", "7 days", "30 days"]);
    await pa.selectOption("#share-expires", "604800");
    await pa.click("#share-button");
    const result = pa.locator("#share-result li.ok-line");
    await result.waitFor();
    expect(await result.count()).toBe(1);
    expect(await result.textContent()).toContain("Shared hello.txt with cell-b");
    expect(await pa.locator("#share-error").count()).toBe(0);
    expect(await pa.locator('#share-result a[href="/feed#shared-by-you"]').count()).toBe(1);
    expect(pa.url()).toContain("/files/detail");

    const shares = await cliJson<ShareView[]>(a!, ["shares"]);
    expect(shares).toHaveLength(1);
    expect(shares[0]).toMatchObject({ path: TEXT_PATH, to: bId, state: "active", delivered: true });
    expect(shares[0]!.expires_at).not.toBeNull();
    textGrant = shares[0]!.id;

    // A's "Shared by you" lists it with its expiry and a Revoke button.
    await pa.goto("/feed");
    const mine = shareRow(pa, "hello.txt");
    expect(await mine.getAttribute("data-state")).toBe("active");
    expect(await mine.textContent()).toContain("cell-b");
    expect(await mine.textContent()).toContain("delivered");
    expect(await mine.locator("button.revoke").count()).toBe(1);

    // B's Feed: listed from cell-a, available, text preview loaded lazily and escaped.
    await pb.reload();
    const item = feedItem(pb, "hello.txt");
    expect(await item.getAttribute("data-state")).toBe("available");
    expect(await item.getAttribute("data-feed")).toBe(textGrant);
    const row = await item.locator("tr").first().textContent();
    expect(row).toContain("cell-a");
    expect(row).toContain(aId.slice(0, 8));
    expect(row).toContain("text/plain");
    expect(row).toContain(`${Buffer.byteLength(TEXT)} B`);
    const pre = item.locator("pre.preview-text");
    await pre.waitFor();
    expect(await pre.textContent()).toBe(TEXT);
    expect(await item.locator("pre.preview-text b").count()).toBe(0);

    // Download: identical bytes, under the file's name.
    const [download] = await Promise.all([pb.waitForEvent("download"), item.locator("a.download").click()]);
    expect(download.suggestedFilename()).toBe("hello.txt");
    const saved = await download.path();
    expect(readFileSync(saved!).equals(Buffer.from(TEXT))).toBe(true);

    // A text file is never served inline.
    const inline = await pb.request.get(`/feed/${textGrant}/inline`);
    expect(inline.status()).toBe(415);

    await ctxA.close();
    await ctxB.close();
    expect(errors).toEqual([]);
  }, 90_000);

  test("at 390 px: a PNG shared from the CLI shows as an image preview", async () => {
    const r = await a!.cli(["share", PNG_PATH, "--with", bId]);
    expect(r.code).toBe(0);
    const feed = await cliJson<FeedItem[]>(b!, ["feed"]);
    const png = feed.find((f) => f.filename === "dot.png");
    expect(png).toMatchObject({ file_type: "image/png", state: "available" });

    const { ctx, page } = await context(b!);
    await phone(page);
    await login(page);
    await page.goto("/feed");
    // Newest first.
    expect(await page.locator("#feed-list tbody.feed-item .filename").allTextContents()).toEqual(["dot.png", "hello.txt"]);
    const img = feedItem(page, "dot.png").locator("img.preview-img");
    await img.waitFor();
    expect(await img.getAttribute("src")).toBe(`/feed/${png!.id}/inline`);
    await page.waitForFunction(
      (el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0,
      await img.elementHandle(),
    );
    expect(await img.evaluate((el) => [(el as HTMLImageElement).naturalWidth, (el as HTMLImageElement).naturalHeight])).toEqual([3, 2]);
    expect(await sidewaysProblems(page)).toEqual([]);

    const inline = await page.request.get(`/feed/${png!.id}/inline`);
    expect(inline.status()).toBe(200);
    expect(inline.headers()["content-type"]).toBe("image/png");
    expect(inline.headers()["x-content-type-options"]).toBe("nosniff");
    expect(Buffer.from(await inline.body()).equals(PNG)).toBe(true);
    await ctx.close();
    expect(errors).toEqual([]);
  }, 60_000);

  test("at 390 px: revoking in A's Feed tab: the row turns revoked, and B's Feed shows it revoked", async () => {
    const { ctx: ctxA, page: pa } = await context(a!);
    await phone(pa);
    await login(pa);
    await pa.goto("/feed");
    const mine = shareRow(pa, "hello.txt");
    await mine.locator("button.revoke").click();
    await pa.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
    await pa.locator(`#shared-by-you tr[data-share="${textGrant}"][data-state="revoked"]`).waitFor();
    expect(await shareRow(pa, "hello.txt").locator("button.revoke").count()).toBe(0);
    expect(await shareRow(pa, "hello.txt").locator(".badge").textContent()).toBe("revoked");
    expect(pa.url()).toEndWith("/feed");
    // The PNG share is untouched.
    expect(await shareRow(pa, "dot.png").getAttribute("data-state")).toBe("active");
    expect(await sidewaysProblems(pa)).toEqual([]);
    await ctxA.close();

    const { ctx: ctxB, page: pb } = await context(b!);
    await phone(pb);
    await login(pb);
    const deadline = Date.now() + 15_000;
    for (;;) {
      await pb.goto("/feed");
      if ((await feedItem(pb, "hello.txt").getAttribute("data-state")) === "revoked" || Date.now() > deadline) break;
      await Bun.sleep(300);
    }
    const item = feedItem(pb, "hello.txt");
    expect(await item.getAttribute("data-state")).toBe("revoked");
    expect(await item.locator(".badge").textContent()).toBe("revoked");
    expect(await item.locator("a.download").count()).toBe(0);
    expect(await item.locator(".preview").count()).toBe(0);
    expect(await sidewaysProblems(pb)).toEqual([]);

    // Asking for it anyway: a clear message in the Feed page, not a crash.
    const res = await pb.goto(`/feed/${textGrant}/download`);
    expect(res!.status()).toBe(403);
    expect(await pb.locator("#feed-error").textContent()).toContain("revoked");
    const preview = await pb.request.get(`/feed/${textGrant}/preview`);
    expect(preview.status()).toBe(200);
    expect(await preview.text()).toContain("revoked");
    await ctxB.close();
    expect(errors).toEqual([]);
  }, 60_000);

  test("without JavaScript, Revoke and Share are plain form posts", async () => {
    const { ctx, page } = await context(a!, false);
    await login(page);
    await page.goto("/feed");
    const [post] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && r.url().includes("/revoke")),
      shareRow(page, "dot.png").locator("button.revoke").click(),
    ]);
    expect(post.status()).toBe(303);
    await page.waitForURL("**/feed#shared-by-you");
    expect(await shareRow(page, "dot.png").getAttribute("data-state")).toBe("revoked");
    expect((await cliJson<ShareView[]>(a!, ["shares"])).map((s) => s.state)).toEqual(["revoked", "revoked"]);

    // The Share box without JavaScript: a form post to /share, answered by the Share dialog page
    // with the result line (and the form again, B still ticked).
    await page.goto(`/files/detail?path=${encodeURIComponent(PNG_PATH)}`);
    await Promise.all([page.waitForURL("**/share"), page.click("#share-button")]);
    expect(await page.locator("#share-result li.ok-line").textContent()).toContain("Shared dot.png with cell-b");
    expect(await page.locator("#share-files li").allTextContents()).toEqual([expect.stringContaining(PNG_PATH)]);
    expect(await page.locator(`#share-friends input[value="${bId}"]`).isChecked()).toBe(true);
    const states = (await cliJson<ShareView[]>(a!, ["shares"])).map((s) => `${s.filename}:${s.state}`).sort();
    expect(states).toEqual(["dot.png:active", "dot.png:revoked", "hello.txt:revoked"]);
    await ctx.close();
    expect(errors).toEqual([]);
  }, 60_000);
});

describe("without a sharing service", () => {
  test("the Feed tab says sharing is not available and shows no forms", async () => {
    const html = String(await FeedPage({ cellId: "ab".repeat(32), csrf: "t", available: false, items: [], shares: [] }));
    expect(html).toContain("Sharing is not available in this cell.");
    expect(html).not.toContain('<form method="post" action="/shares');
    expect(html).not.toContain("feed-list");
    const box = String(await ShareBox({ path: "a.txt", available: false, friends: [{ id: "cd".repeat(32), name: "friend" }] }));
    expect(box).toContain("Sharing is not available in this cell.");
    expect(box).not.toContain("<form");
  });
});
