// The Peers tab in real headless Chromium: cell A creates an invite in its dashboard (at 1280 px),
// cell B joins it from its own dashboard (at 390 px), both list each other, A asks B to be friends
// (B accepts), and B's "Check now" finds A online; neither page scrolls sideways.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { sidewaysProblems } from "../helpers/axe.ts";

const PASSWORD = "correct horse battery";

let a: TestCell | undefined;
let b: TestCell | undefined;
let browser: Browser | undefined;
const errors: string[] = [];

async function dashboard(cell: TestCell, width: number): Promise<Page> {
  const { page } = await cellPage(browser!, cell, errors);
  await page.setViewportSize({ width, height: 844 });
  await firstRunSetup(page, PASSWORD);
  await page.click("nav.tabs >> text=Peers");
  await page.waitForURL("**/peers");
  return page;
}

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  [a, b, browser] = await Promise.all([
    startCell({ config: { mdns: false, name: "cell-a" } }),
    startCell({ config: { mdns: false, name: "cell-b" } }),
    launchChromium(),
  ]);
}, 30_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(a), destroyCell(b)]);
}, 120_000);

test.skipIf(!HAVE_CHROMIUM)(
  "invite in one dashboard, join in the other, then friend",
  async () => {
    const pa = await dashboard(a!, 1280);
    const pb = await dashboard(b!, 390);
    expect(await pa.locator("#peer-list .empty").textContent()).toContain("No peers yet");

    await pa.click("#invite-button");
    const token = (await pa.locator("#invite-token").inputValue()).trim();
    expect(token).toMatch(/^grove1\./);

    await pb.fill("#join-token", token);
    await pb.click("#join-button");
    await pb.locator("#join-result", { hasText: "Paired with cell-a" }).waitFor();
    await pb.locator("#peer-list tr[data-peer]").first().waitFor();
    expect(await pb.locator("#peer-list").textContent()).toContain("cell-a");

    // Joining with the same token again is refused with the reason, shown in the page.
    await pb.fill("#join-token", token);
    await pb.click("#join-button");
    await pb.locator("#join-result.error", { hasText: "has no open invite" }).waitFor();

    await pa.reload();
    const row = pa.locator("#peer-list tr[data-peer]");
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toContain("cell-b");
    await row.locator("button", { hasText: "Ask to be friends" }).click();
    // A friend request: the row says it was sent; B's tab shows it with Accept and Decline.
    await pa.locator("#peer-action-note", { hasText: "was asked to be friends" }).waitFor();
    expect(await pa.locator("#peer-list tr[data-peer]").textContent()).toContain("friend request sent");
    await pb.reload();
    const rowB = pb.locator("#peer-list tr[data-peer]");
    expect(await rowB.textContent()).toContain("asks to be friends");
    await rowB.locator("button", { hasText: "Accept friend" }).click();
    await pb.locator("#peer-action-note", { hasText: "are friends" }).waitFor();
    await pa.reload();
    await pa.locator("#peer-list tr[data-peer] >> text=Unfriend").waitFor();
    const peers = await (await a!.api("/api/peers")).json();
    expect(peers[0]).toMatchObject({ name: "cell-b", friend: true, friendship: "friends" });

    // "Check now" on the phone: every peer asked, the list answered again with A online.
    const [check] = await Promise.all([
      pb.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/peers/check"),
      pb.click("#peer-check"),
    ]);
    expect(check.status()).toBe(200);
    await pb.locator(`#peer-list tr[data-presence="online"]`, { hasText: "cell-a" }).waitFor();
    expect(await pb.locator("#peer-count").innerText()).toBe("1 of 1 online");
    for (const p of [pa, pb]) expect(await sidewaysProblems(p)).toEqual([]);
    expect(errors).toEqual([]);
  },
  60_000,
);
