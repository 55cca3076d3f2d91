// The Peers tab in real headless Chromium: cell A creates an invite in its dashboard, cell B
// joins it from its own dashboard, both list each other, and A asks B to be friends (B accepts).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";

const PASSWORD = "correct horse battery";

let a: TestCell | undefined;
let b: TestCell | undefined;
let browser: Browser | undefined;
const errors: string[] = [];

async function dashboard(cell: TestCell): Promise<Page> {
  const { page } = await cellPage(browser!, cell, errors);
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

test.skipIf(!HAVE_CHROMIUM)("invite in one dashboard, join in the other, then friend", async () => {
  const pa = await dashboard(a!);
  const pb = await dashboard(b!);
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
  await row.locator("button", { hasText: "Friend" }).click();
  // A friend request: B sees it, and once B accepts both are friends.
  let asked = "";
  for (let i = 0; i < 100 && asked !== "asked"; i++) {
    asked = ((await (await b!.api("/api/peers")).json()) as { friendship: string }[])[0]?.friendship ?? "";
    if (asked !== "asked") await Bun.sleep(50);
  }
  expect(asked).toBe("asked");
  expect((await b!.cli(["peers", "accept", cellIdOf(a!)])).code).toBe(0);
  await pa.reload();
  await pa.locator("#peer-list tr[data-peer] >> text=Unfriend").waitFor();
  const peers = await (await a!.api("/api/peers")).json();
  expect(peers[0]).toMatchObject({ name: "cell-b", friend: true, friendship: "friends" });
  expect(errors).toEqual([]);
}, 60_000);
