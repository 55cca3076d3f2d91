// The one tree of my cells in real headless Chromium (1280 px wide). Two real cells: A ("laptop",
// home_mode "mirror") and B ("phone", home_mode "on-demand"), paired from their dashboards: A's
// Peers tab makes an invite "For: another of my devices", B's joins it, and each lists the other
// as mine. B's Files tab lists A's file "on laptop"; its pin toggle writes the file into B's
// GROVE_HOME (busy while the request runs, then "pinned" in the row) and unpinning takes it out
// again; a folder row pins everything in it. A lone cell, and a file only its own cell stored,
// show no toggle; on a mirror, unpinning is refused and the row says why.
import { until } from "../helpers/until.ts";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";

const PASSWORD = "correct horse battery";
const config = { mdns: false, sync_interval_s: 3600 };
const PLAN = "plan.txt";
const PLAN_TEXT = "the plan, written on the laptop\n";
const BEACH = "photos/beach.txt";
const BEACH_TEXT = "a beach, from the laptop\n";

let a: TestCell | undefined;
let b: TestCell | undefined;
let browser: Browser | undefined;
const errors: string[] = [];

const store = async (c: TestCell, path: string, text: string) => {
  const r = await c.api(`/api/files/${path}`, { method: "PUT", body: text });
  if (!r.ok) throw new Error(`PUT ${path}: ${r.status} ${await r.text()}`);
};
const inHome = (c: TestCell, path: string, text: string) => {
  const f = join(c.home, path);
  return existsSync(f) && readFileSync(f, "utf8") === text;
};
const row = (p: Page, path: string) => p.locator(`#file-list tr[data-path="${path}"]`);

async function dashboard(cell: TestCell): Promise<Page> {
  const { page } = await cellPage(browser!, cell, errors, { consoleErrors: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await firstRunSetup(page, PASSWORD);
  return page;
}

/** The toggle is on screen at 1280 px, not pushed out of the table. */
async function onScreen(l: Locator): Promise<void> {
  const box = await l.boundingBox();
  expect(box).not.toBeNull();
  expect(box!.x + box!.width).toBeLessThanOrEqual(1280);
}

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  [a, b, browser] = await Promise.all([
    startCell({ config: { ...config, name: "laptop" } }),
    startCell({ config: { ...config, name: "phone", home_mode: "on-demand" } }),
    launchChromium(),
  ]);
  await Promise.all([store(a, PLAN, PLAN_TEXT), store(a, BEACH, BEACH_TEXT), store(b, "phone-notes.txt", "mine alone\n")]);
}, 30_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(a), destroyCell(b)]);
}, 60_000);

test.skipIf(!HAVE_CHROMIUM)(
  "pair as my devices from the Peers tab; pin and unpin a file and a folder of A's from B's Files tab",
  async () => {
    const [pa, pb] = await Promise.all([dashboard(a!), dashboard(b!)]);

    // A lone cell has nothing to pin: no toggle anywhere.
    await row(pa, PLAN).waitFor();
    expect(await pa.locator("#file-list button.pin").count()).toBe(0);

    // A's Peers tab: the invite form asks who it is for; "another of my devices" makes a --mine invite.
    await pa.click("nav.tabs >> text=Peers");
    await pa.waitForURL("**/peers");
    const kind = pa.locator("#invite-kind");
    expect(await pa.locator("label", { has: kind }).textContent()).toContain("For");
    expect(await kind.locator('option[value="mine"]').textContent()).toContain("another of my devices");
    await kind.selectOption("mine");
    await pa.click("#invite-button");
    const token = (await pa.locator("#invite-token").inputValue()).trim();
    expect(token).toMatch(/^grove1\./);

    await pb.click("nav.tabs >> text=Peers");
    await pb.waitForURL("**/peers");
    await pb.fill("#join-token", token);
    await pb.click("#join-button");
    await pb.locator("#join-result", { hasText: "as one of your cells" }).waitFor();
    const laptopRow = pb.locator("#peer-list tr[data-peer]", { hasText: "laptop" });
    await laptopRow.waitFor();
    expect(await laptopRow.locator("td.relationship").textContent()).toContain("mine");
    await pa.reload();
    const phoneRow = pa.locator("#peer-list tr[data-peer]", { hasText: "phone" });
    expect(await phoneRow.locator("td.relationship").textContent()).toContain("mine");

    // B's Files tab lists A's file "on laptop", with the toggle; B's own file has none.
    await until("plan.txt in B's Files tab", async () => {
      await pb.goto("/files");
      return (await row(pb, PLAN).count()) > 0;
    });
    const plan = row(pb, PLAN);
    expect(await plan.locator(".away").textContent()).toContain("on laptop");
    expect(inHome(b!, PLAN, PLAN_TEXT)).toBe(false); // on demand: listed, not in GROVE_HOME
    const keep = plan.locator("button.pin");
    expect(await keep.textContent()).toBe("Keep on this cell");
    await onScreen(keep);
    await row(pb, "phone-notes.txt").waitFor();
    expect(await row(pb, "phone-notes.txt").locator("button.pin").count()).toBe(0);

    // Pin, with the request held: the button is disabled and the row says it is busy meanwhile.
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    let sent: Promise<void> = Promise.resolve();
    await pb.route(
      "**/files/pin",
      (route) => {
        sent = held.then(() => route.continue());
        return sent;
      },
      { times: 1 },
    );
    await keep.click();
    await until("the busy state", async () => (await keep.isDisabled()) && (await plan.locator(".pin-busy").isVisible()), 5_000);
    expect(await plan.locator(".pin-busy").textContent()).toContain("fetching…");
    release();
    await sent;
    const unpin = plan.locator("button.pin.pinned");
    await unpin.waitFor();
    expect(await unpin.textContent()).toBe("Kept here (pinned) — unpin");
    expect(await unpin.isEnabled()).toBe(true);
    expect(await plan.locator(".pin-note").textContent()).toContain("pinned: kept in your files folder here");
    expect(await plan.locator(".away").count()).toBe(0); // kept here now
    await until("plan.txt in B's GROVE_HOME", () => inHome(b!, PLAN, PLAN_TEXT));
    expect(((await (await b!.api("/api/pins")).json()) as { pins: string[] }).pins).toEqual([PLAN]);

    // Unpin: out of B's GROVE_HOME again (A keeps its copy), listed "on laptop", still readable on demand.
    await unpin.click();
    await plan.locator(".pin-note", { hasText: "unpinned: 1 file left your files folder here" }).waitFor();
    expect(await plan.locator("button.pin").textContent()).toBe("Keep on this cell");
    expect(await plan.locator(".away").textContent()).toContain("on laptop");
    await until("plan.txt gone from B's GROVE_HOME", () => !existsSync(join(b!.home, PLAN)));
    expect(inHome(a!, PLAN, PLAN_TEXT)).toBe(true);
    expect(await (await b!.api(`/api/files/${PLAN}`)).text()).toBe(PLAN_TEXT);

    // A folder row pins everything in it; inside, the file says the folder keeps it.
    const photos = pb.locator('#file-list tr.dir[data-path="photos"]');
    await photos.locator("button.pin", { hasText: "Keep on this cell" }).click();
    await photos.locator(".pin-note", { hasText: "pinned: 1 file kept in your files folder here" }).waitFor();
    await until("photos/beach.txt in B's GROVE_HOME", () => inHome(b!, BEACH, BEACH_TEXT));
    await photos.locator("a.folder").click();
    await pb.waitForURL("**/files?dir=photos");
    const beach = row(pb, BEACH);
    expect(await beach.locator(".pin-state").textContent()).toContain("kept here with photos/ (pinned)");
    expect(await beach.locator("button.pin").count()).toBe(0);
    await pb.goBack();
    await photos.locator("button.pin.pinned").click();
    await photos.locator(".pin-note", { hasText: "unpinned: 1 file left" }).waitFor();
    await until("photos/beach.txt gone from B's GROVE_HOME", () => !existsSync(join(b!.home, BEACH)));
    expect(inHome(a!, BEACH, BEACH_TEXT)).toBe(true);

    // On A (a mirror), its own files and folder have no toggle: only A stored them. B's file has
    // one; A keeps every file, so unpinning it is refused, and the row says why.
    await until("phone-notes.txt in A's Files tab", async () => {
      await pa.goto("/files");
      return (await row(pa, "phone-notes.txt").count()) > 0;
    });
    expect(await row(pa, PLAN).locator("button.pin").count()).toBe(0);
    expect(await pa.locator('#file-list tr.dir[data-path="photos"] button.pin').count()).toBe(0);
    const notes = row(pa, "phone-notes.txt");
    await notes.locator("button.pin", { hasText: "Keep on this cell" }).click();
    await notes.locator(".pin-note", { hasText: "pinned" }).waitFor();
    await notes.locator("button.pin.pinned").click();
    await notes
      .locator(".pin-note.error", {
        hasText:
          "still pinned: this cell keeps a copy of every file of your cells (a mirror), so unpinning frees nothing. To keep only pinned files here, choose On demand under Settings → Files of my other cells.",
      })
      .waitFor();
    expect(await notes.locator("button.pin.pinned").count()).toBe(1);
    await until("phone-notes.txt in A's GROVE_HOME", () => inHome(a!, "phone-notes.txt", "mine alone\n"));
    expect(errors).toEqual([]);
  },
  60_000,
);
