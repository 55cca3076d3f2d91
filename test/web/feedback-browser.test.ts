// Feedback on every action in real headless Chromium (issue 22, point 6), two real cells: the
// login button is busy while the password is checked (at 1280 and 390 px); a Delete held on the network shows its
// button disabled and aria-busy; Delete, Restore, Purge, Join, friend request and accept, Share,
// Revoke and Remove each show a toast saying what they did; Purge (1280 px) and Remove (390 px) ask
// in a dialog in the page (never window.confirm): Cancel and Escape do nothing, the named button
// does it. At 390 px nothing scrolls sideways with the dialog or a toast open. axe (serious and
// critical, light and dark mode) finds nothing with a dialog open, with a toast shown (an error one too), or on the
// Peers tab with an invite made.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page, Route } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { seriousViolationsInBothSchemes, sidewaysProblems } from "../helpers/axe.ts";

const PASSWORD = "correct horse battery";
let a: TestCell | undefined;
let b: TestCell | undefined;
let browser: Browser | undefined;
const errors: string[] = [];
/** window.confirm/alert/prompt calls: there must be none. */
const nativeDialogs: string[] = [];
let pa: Page;

async function open(cell: TestCell, width = 1280): Promise<Page> {
  const { page } = await cellPage(browser!, cell, errors);
  page.on("dialog", (d) => nativeDialogs.push(`${d.type()}: ${d.message()}`));
  if (width !== 1280) await page.setViewportSize({ width, height: 844 });
  return page;
}

/** Hold the next request matching `url` (and `method`) until `release` is called. */
async function hold(page: Page, url: string, method = "POST"): Promise<{ release: () => void; held: Promise<void> }> {
  let release = () => {};
  let seen = () => {};
  const held = new Promise<void>((r) => (seen = r));
  const gate = new Promise<void>((r) => (release = r));
  const handler = async (route: Route) => {
    if (route.request().method() !== method) return route.continue();
    seen();
    await gate;
    await route.continue();
    void page.unroute(url, handler).catch(() => {});
  };
  await page.route(url, handler);
  return { release: () => release(), held };
}

const toast = (page: Page, text: string) => page.locator(".toast-stack .toast", { hasText: text });
/** axe (light and dark) with this toast shown: the pointer on it keeps it from hiding meanwhile. */
async function axeWithToast(page: Page, text: string): Promise<string[]> {
  const t = toast(page, text);
  await t.hover();
  const found = await seriousViolationsInBothSchemes(page);
  expect(await t.isVisible()).toBe(true);
  await page.mouse.move(0, 0);
  return found;
}
const put = async (c: TestCell, path: string, text: string) =>
  expect((await c.api(`/api/files/${path}`, { method: "PUT", body: text })).status).toBe(201);

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  [a, b, browser] = await Promise.all([
    startCell({ config: { mdns: false, name: "cell-a" } }),
    startCell({ config: { mdns: false, name: "cell-b" } }),
    launchChromium(),
  ]);
  for (const v of ["v1", "v2", "v3"]) await put(a, "docs/plan.md", `# ${v}`);
  await put(a, "docs/old.txt", "old");
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(a), destroyCell(b)]);
}, 120_000);

test.skipIf(!HAVE_CHROMIUM)(
  "the login button is busy while the password is checked, at 1280 and 390 px",
  async () => {
    pa = await open(a!);
    await firstRunSetup(pa, PASSWORD);
    for (const width of [1280, 390]) {
      const page = await open(a!, width);
      await page.goto("/login");
      expect(await sidewaysProblems(page)).toEqual([]);
      await page.fill("input[type=password]", PASSWORD);
      // The page goes away with the post (a held navigation also holds Playwright's evaluate): what
      // the button showed once the submit was under way is kept in sessionStorage, read on /files.
      await page.evaluate(() =>
        document.addEventListener("submit", () =>
          setTimeout(() => {
            const el = document.querySelector("form.busy-form button[type=submit]") as HTMLButtonElement;
            const box = el.getBoundingClientRect();
            sessionStorage.setItem(
              "login-button",
              JSON.stringify({
                disabled: el.disabled,
                busy: el.getAttribute("aria-busy"),
                text: el.textContent,
                onScreen: box.right <= window.innerWidth,
              }),
            );
          }, 0),
        ),
      );
      await Promise.all([page.waitForURL("**/files"), page.locator("form.busy-form button[type=submit]").click()]);
      const state = await page.evaluate(() => JSON.parse(sessionStorage.getItem("login-button") ?? "null"));
      expect({ width, state }).toEqual({ width, state: { disabled: true, busy: "true", text: "Checking the password…", onScreen: true } });
      await page.context().close();
    }
    expect(nativeDialogs).toEqual([]);
  },
  60_000,
);

test.skipIf(!HAVE_CHROMIUM)(
  "at 1280 px: Delete is busy while it runs, then a toast; Restore says so; Purge asks in the page",
  async () => {
    await pa.goto("/files?dir=docs");
    const gate = await hold(pa, "**/files/delete");
    const del = pa.getByRole("button", { name: "Delete old.txt" });
    await del.click();
    await gate.held;
    expect(await del.isDisabled()).toBe(true);
    expect(await del.getAttribute("aria-busy")).toBe("true");
    gate.release();
    await toast(pa, "Deleted old.txt.").waitFor();
    expect(await axeWithToast(pa, "Deleted old.txt.")).toEqual([]);
    // The toast never takes the focus; it can be dismissed.
    expect(await pa.evaluate(() => Boolean(document.activeElement?.closest(".toast")))).toBe(false);
    await pa.locator("#toast").getByRole("button", { name: "Dismiss" }).click();
    await toast(pa, "Deleted old.txt.").waitFor({ state: "hidden" });

    // Restore: the page loads again (HX-Redirect) and says what happened.
    await pa.goto("/files/detail?path=docs%2Fplan.md");
    const row = (v: number) => pa.locator(`table.versions tr[data-version="${v}"]`);
    await row(1).locator("button.restore").click();
    await toast(pa, "Version 1 of plan.md restored: it is the current version now (version 4).").waitFor();
    expect(await pa.locator("#toast-region").getAttribute("role")).toBe("status");

    // Purge: a dialog in the page, labelled by its question, the focus in it.
    let purges = 0;
    pa.on("request", (r) => {
      if (r.method() === "POST" && r.url().endsWith("/files/purge")) purges++;
    });
    const dialog = pa.getByRole("dialog", {
      name: "Purge version 2 of plan.md? It waits in the trash for 7 days, then it is gone for good.",
    });
    await row(2).locator("button.purge").click();
    await dialog.waitFor();
    expect(await pa.evaluate(() => Boolean(document.activeElement?.closest("dialog[open]")))).toBe(true);
    expect(await seriousViolationsInBothSchemes(pa)).toEqual([]);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    await row(2).locator("button.purge").click();
    await dialog.waitFor();
    await pa.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect(purges).toBe(0);
    expect(await row(2).count()).toBe(1);
    await row(2).locator("button.purge").click();
    await dialog.getByRole("button", { name: "Purge" }).click();
    await toast(pa, "Version 2 of plan.md purged: it waits in the Trash for 7 days.").waitFor();
    expect(await row(2).count()).toBe(0);
    expect(purges).toBe(1);
    expect(nativeDialogs).toEqual([]);
    expect(errors).toEqual([]);
  },
  60_000,
);

test.skipIf(!HAVE_CHROMIUM)(
  "at 1280 px: Join, friend request and accept, Share and Revoke each say what they did",
  async () => {
    await pa.goto("/peers");
    await pa.click("#invite-button");
    const token = (await pa.locator("#invite-token").inputValue()).trim();
    expect(await seriousViolationsInBothSchemes(pa)).toEqual([]); // the Peers tab with the invite shown
    const pb = await open(b!);
    await firstRunSetup(pb, PASSWORD);
    await pb.goto("/peers");
    await pb.fill("#join-token", token);
    await pb.click("#join-button");
    await toast(pb, "Paired with cell-a").waitFor();

    await pa.reload();
    await pa.locator("#peer-list tr[data-peer]").getByRole("button", { name: "Ask to be friends" }).click();
    await toast(pa, "cell-b was asked to be friends").waitFor();
    await pb.reload();
    await pb.locator("#peer-list tr[data-peer]").getByRole("button", { name: "Accept friend" }).click();
    await toast(pb, "You and cell-a are friends").waitFor();

    await pa.goto("/files/detail?path=docs%2Fplan.md");
    await pa.click("#share-button");
    await toast(pa, "Shared plan.md with cell-b.").waitFor();

    await pa.goto("/feed");
    await pa.locator("#shared-by-you button.revoke").click();
    const dialog = pa.getByRole("dialog", { name: /^Revoke plan\.md for cell-b\?/ });
    await dialog.getByRole("button", { name: "Revoke" }).click();
    await toast(pa, "Revoked plan.md for cell-b").waitFor();
    expect(nativeDialogs).toEqual([]);
    expect(errors).toEqual([]);
  },
  90_000,
);

test.skipIf(!HAVE_CHROMIUM)(
  "at 390 px: Remove asks in the page, nothing scrolls sideways; confirmed, it is busy, then a toast",
  async () => {
    const page = await open(a!, 390);
    await page.goto("/login");
    await page.fill("input[type=password]", PASSWORD);
    await Promise.all([page.waitForURL("**/files"), page.locator("form button[type=submit]").click()]);

    // The Purge dialog at phone width.
    await page.goto("/files/detail?path=docs%2Fplan.md");
    await page.locator("table.versions button.purge").first().click();
    const purge = page.getByRole("dialog", { name: /^Purge version/ });
    await purge.waitFor();
    expect(await sidewaysProblems(page)).toEqual([]);
    expect(await seriousViolationsInBothSchemes(page)).toEqual([]);
    await purge.getByRole("button", { name: "Cancel" }).click();

    await page.goto("/peers");
    const row = page.locator("#peer-list tr[data-peer]");
    const dialog = page.getByRole("dialog", { name: "Remove cell-b? It must be invited again to pair." });
    await row.getByRole("button", { name: "Remove" }).click();
    await dialog.waitFor();
    expect(await sidewaysProblems(page)).toEqual([]);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect(await row.count()).toBe(1);

    const gate = await hold(page, "**/peers/*/remove");
    await row.getByRole("button", { name: "Remove" }).click();
    await dialog.getByRole("button", { name: "Remove" }).click();
    await gate.held;
    const remove = row.getByRole("button", { name: "Remove" });
    expect(await remove.isDisabled()).toBe(true);
    expect(await remove.getAttribute("aria-busy")).toBe("true");
    gate.release();
    await toast(page, "Removed cell-b. It must be invited again to pair.").waitFor();
    expect(await row.count()).toBe(0);
    expect(await sidewaysProblems(page)).toEqual([]);
    expect(await axeWithToast(page, "Removed cell-b. It must be invited again to pair.")).toEqual([]);
    // An error toast (as any refused action shows it) in both schemes too.
    await page.evaluate(() =>
      (window as unknown as { groveToast: (m: string, k: string) => void }).groveToast("Not removed: try again.", "error"),
    );
    expect(await axeWithToast(page, "Not removed: try again.")).toEqual([]);
    expect(nativeDialogs).toEqual([]);
    expect(errors).toEqual([]);
  },
  60_000,
);
