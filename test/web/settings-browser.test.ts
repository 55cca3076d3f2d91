/**
 * The Settings tab in real headless Chromium against a real cell (`grove start` on loopback), at
 * 1280 and 390 px: the first-run offer of the recovery phrase after setup and its "I wrote it
 * down"; a save that the running cell takes at once (busy Save button, the header's new name,
 * GET /api/status; at 1280 px), relays added and taken at once (the cell's status lists the
 * reservation) and a refused save with a message
 * under each field and config.json untouched (at 390 px, nothing scrolling sideways); the words
 * behind the password; at 390 px the offer's "I wrote it down" tapped and the real addresses shown.
 * Then the attacks on the words
 * over plain HTTP: no session, the API token, no CSRF token, a wrong or empty password, a GET.
 * Skipped without Chromium (the attacks run anyway).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium, setupOrLogIn } from "../helpers/browser.ts";
import { dashboardSession, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { resolveLayout } from "../../src/core/layout.ts";
import { recoveryPhrase } from "../../src/cell/state-dir.ts";
import { sidewaysProblems } from "../helpers/axe.ts";

const PASSWORD = "correct horse battery";
let cell: TestCell | undefined;
let browser: Browser | undefined;
const errors: string[] = [];

const configFile = () => join(cell!.dir, "config.json");
const marker = () => join(cell!.dir, ".phrase_shown");
const words = () => recoveryPhrase(resolveLayout({ GROVE_DIR: cell!.dir, GROVE_HOME: cell!.home })).split(" ");
const shownWords = (p: Page) => p.locator("ol.phrase-words .w").allTextContents();

beforeAll(async () => {
  [cell, browser] = await Promise.all([
    startCell({ config: { name: "settings-cell", mdns: false, watch_home: false } }),
    HAVE_CHROMIUM ? launchChromium() : Promise.resolve(undefined),
  ]);
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await destroyCell(cell);
}, 60_000);

describe.skipIf(!HAVE_CHROMIUM)("Settings in Chromium", () => {
  test("after first-run setup the dashboard offers the words once; 'I wrote it down' ends the offer", async () => {
    const { ctx, page } = await cellPage(browser!, cell!, errors, { consoleErrors: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(existsSync(marker())).toBe(false);
    await firstRunSetup(page, PASSWORD);
    const offer = page.locator("#phrase-offer");
    expect(await offer.isVisible()).toBe(true);
    expect(await shownWords(page)).toEqual(words());
    expect(await offer.locator("ol.phrase-words li").first().textContent()).toBe(`1. ${words()[0]}`);
    // Only above the Files list (where setup and login land): not on other tabs, not on Settings
    // (its own section asks for the password); back on Files, it is still there.
    for (const other of ["/peers", "/settings"]) {
      await page.goto(other);
      expect(await page.locator("#phrase-offer").count()).toBe(0);
    }
    await page.goto("/files");
    expect(await shownWords(page)).toEqual(words());
    await page.locator("#phrase-written").click();
    await page.locator("#phrase-noted").waitFor();
    expect(existsSync(marker())).toBe(true);
    await page.reload();
    expect(await page.locator("#phrase-offer").count()).toBe(0);
    await ctx.close();
    expect(errors).toEqual([]);
  }, 60_000);

  test("a save the cell takes at once: busy while it runs, then the new name in the header and in /api/status", async () => {
    const { ctx, page } = await cellPage(browser!, cell!, errors, { consoleErrors: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    await setupOrLogIn(page, PASSWORD);
    await page.goto("/settings");
    // The real addresses, no raw config.
    const listening = page.locator("section", { has: page.locator("h2", { hasText: "Listening on" }) });
    expect(await listening.textContent()).toContain(cell!.url);
    expect(await page.locator("pre.config").count()).toBe(0);
    expect(await page.locator("#set-name").inputValue()).toBe("settings-cell");

    await page.fill("#set-name", "renamed-in-browser");
    await page.fill("#set-copies", "3");
    await page.fill("#set-sync-interval", "15");
    await page.selectOption("select[name=sync_interval_unit]", "min");
    await ctx.route("**/settings", async (r) => {
      if (r.request().method() === "POST") await Bun.sleep(600);
      await r.continue();
    });
    await page.click("#settings-save");
    await page.locator("#settings-indicator").waitFor({ state: "visible" });
    expect(await page.locator("#settings-save").isDisabled()).toBe(true);
    await page.locator("#settings-status .saved").waitFor();
    expect(await page.locator("#settings-status").textContent()).toBe("Saved. In effect now: Name, Copies of each file, Sync every.");
    expect(await page.locator("#settings-save").isEnabled()).toBe(true);
    expect(await page.locator("#settings-indicator").isVisible()).toBe(false);
    expect(await page.locator("#cell-name").textContent()).toContain("renamed-in-browser");
    expect(page.url()).toEndWith("/settings");

    const status = (await (await cell!.api("/api/status")).json()) as {
      name: string;
      replication_factor: number;
      sync: { interval_s: number } | null;
    };
    expect(status.name).toBe("renamed-in-browser");
    expect(status.replication_factor).toBe(3);
    expect(status.sync?.interval_s).toBe(900);
    expect(JSON.parse(readFileSync(configFile(), "utf8"))).toMatchObject({
      name: "renamed-in-browser",
      replication_factor: 3,
      sync_interval_s: 900,
    });
    await page.reload();
    expect(await page.locator("#set-copies").inputValue()).toBe("3");
    expect(await page.locator("select[name=sync_interval_unit]").inputValue()).toBe("min");
    await ctx.close();
    expect(errors).toEqual([]);
  }, 60_000);

  test("at 390 px: a relay added is taken at once and the page says so; refused values get a message under each field and config.json stays", async () => {
    const { ctx, page } = await cellPage(browser!, cell!, errors, { consoleErrors: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await setupOrLogIn(page, PASSWORD);
    await page.goto("/settings");
    await page.fill("#set-storage", "1.5");
    await page.selectOption("select[name=storage_allowance_unit]", "GiB");
    // A relay on loopback where nothing listens: the cell tries it (tests talk to loopback only).
    await page.fill("textarea[name=relays]", "ws://127.0.0.1:9");
    await page.click("#settings-save");
    await page.locator("#settings-status .saved").waitFor();
    expect(await page.locator("#settings-status").textContent()).toBe("Saved. In effect now: Room for other cells, Relays.");
    expect(await page.locator("[data-pending]").count()).toBe(0);
    const saved = JSON.parse(readFileSync(configFile(), "utf8"));
    expect(saved.max_peer_storage_bytes).toBe(1.5 * 1024 ** 3);
    expect(saved.relays).toEqual(["ws://127.0.0.1:9"]);
    // The running cell holds (tries) it now, without a restart.
    const st = (await (await cell!.api("/api/status")).json()) as { relays: { url: string; configured: boolean }[] };
    expect(st.relays).toEqual([expect.objectContaining({ url: "ws://127.0.0.1:9/v1/relay", configured: true })]);
    expect(await sidewaysProblems(page)).toEqual([]);

    const before = readFileSync(configFile(), "utf8");
    // The browser's own checks stop 0 copies and a negative size; a client that skips them meets the cell's.
    await page.evaluate(() => {
      (document.getElementById("settings-form") as HTMLFormElement).noValidate = true;
    });
    await page.fill("#set-copies", "0");
    await page.fill("#set-storage", "-1");
    await page.fill("#set-relays", "wss://relay.example.org:443\nnot a relay");
    await page.click("#settings-save");
    await page.locator("#set-copies-error").waitFor();
    expect(await page.locator("#set-copies-error").textContent()).toBe("Must be 1 or more.");
    expect(await page.locator("#set-storage-error").textContent()).toBe("Must be 0 or more.");
    expect(await page.locator("#set-relays-error").textContent()).toBe(
      "Line 2 is not a relay address: write it as ws://HOST:PORT or wss://HOST:PORT.",
    );
    expect(await page.locator("#set-name-error").count()).toBe(0);
    expect(await page.locator("#settings-status").textContent()).toBe("Not saved: 3 settings need a change (see below each).");
    expect(await page.locator("#set-copies").getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator("#set-relays").inputValue()).toBe("wss://relay.example.org:443\nnot a relay");
    expect(readFileSync(configFile(), "utf8")).toBe(before);

    // At phone width, the page with its messages does not scroll sideways.
    expect(await sidewaysProblems(page)).toEqual([]);
    await ctx.close();
    expect(errors).toEqual([]);
  }, 60_000);

  test("the words behind the password: a wrong one is told so, the right one shows 24 numbered words", async () => {
    const { ctx, page } = await cellPage(browser!, cell!, errors, { consoleErrors: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    await setupOrLogIn(page, PASSWORD);
    await page.goto("/settings#recovery-phrase");
    expect(await shownWords(page)).toEqual([]);
    await page.fill("#phrase-password", "not the password");
    await page.click("#phrase-show");
    await page.locator("#phrase-error").waitFor();
    expect(await page.locator("#phrase-error").textContent()).toBe("Wrong password.");
    expect(await shownWords(page)).toEqual([]);
    await page.fill("#phrase-password", PASSWORD);
    await page.click("#phrase-show");
    await page.locator("ol.phrase-words").waitFor();
    expect(await shownWords(page)).toEqual(words());
    expect(await page.locator("ol.phrase-words .n").last().textContent()).toBe("24.");
    expect(await page.locator("#phrase-shown .warn").textContent()).toContain("Anyone who has these words can become this cell");
    // Written down already: no second "I wrote it down".
    expect(await page.locator("#phrase-written").count()).toBe(0);
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await sidewaysProblems(page)).toEqual([]);
    await ctx.close();
    expect(errors).toEqual([]);
  }, 60_000);

  test("at 390 px: Settings and the first-run offer do not scroll sideways; 'I wrote it down' tapped; the real addresses", async () => {
    rmSync(marker()); // as if the words were never shown: a fresh login is offered them
    const { ctx, page } = await cellPage(browser!, cell!, errors, { consoleErrors: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await setupOrLogIn(page, PASSWORD);
    expect(await page.locator("#phrase-offer ol.phrase-words").isVisible()).toBe(true);
    expect(await sidewaysProblems(page)).toEqual([]);
    const written = (await page.locator("#phrase-written").boundingBox())!;
    expect(written.x + written.width).toBeLessThanOrEqual(390);
    // "I wrote it down", tapped at phone width, ends the offer.
    await page.locator("#phrase-written").click();
    await page.locator("#phrase-noted").waitFor();
    expect(existsSync(marker())).toBe(true);
    await page.reload();
    expect(await page.locator("#phrase-offer").count()).toBe(0);
    await page.goto("/settings");
    expect(await sidewaysProblems(page)).toEqual([]);
    // The real addresses at phone width too, on screen, and no raw config.
    const listening = page.locator("section", { has: page.locator("h2", { hasText: "Listening on" }) });
    expect(await listening.textContent()).toContain(cell!.url);
    const addr = (await listening.getByText(cell!.url).first().boundingBox())!;
    expect(addr.x).toBeGreaterThanOrEqual(0);
    expect(addr.x + addr.width).toBeLessThanOrEqual(390);
    expect(await page.locator("pre.config").count()).toBe(0);
    const save = (await page.locator("#settings-save").boundingBox())!;
    expect(save.x + save.width).toBeLessThanOrEqual(390);
    await ctx.close();
    expect(errors).toEqual([]);
  }, 60_000);
});

describe("attacks on the recovery phrase (real cell, plain HTTP)", () => {
  /** A logged-in session over HTTP: first-run setup when the cell has none yet, else the login form. */
  async function session(): Promise<{ cookie: string; csrf: string }> {
    if (existsSync(join(cell!.dir, "setup_code"))) return dashboardSession(cell!, PASSWORD);
    const form = await fetch(cell!.url + "/login");
    const formCookie = form.headers.get("set-cookie")!.split(";")[0]!;
    const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const r = await fetch(cell!.url + "/login", {
      method: "POST",
      redirect: "manual",
      headers: { cookie: formCookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: token, password: PASSWORD }).toString(),
    });
    expect(r.status).toBe(303);
    const cookie = r.headers.get("set-cookie")!.split(";")[0]!;
    const files = await (await fetch(cell!.url + "/settings", { headers: { cookie } })).text();
    return { cookie, csrf: /name="csrf-token" content="([^"]+)"/.exec(files)![1]! };
  }
  const leaks = (body: string) => words().filter((w) => body.includes(`>${w}<`)).length + (body.includes(words().join(" ")) ? 24 : 0);
  const reveal = (headers: Record<string, string>, body: Record<string, string>) =>
    fetch(cell!.url + "/settings/recovery-phrase", {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(body).toString(),
    });

  test("no session, the API token, a forged cookie, no CSRF token, a wrong or empty password, a GET: no words", async () => {
    const s = await session();
    const tries: [string, Promise<Response>, number][] = [
      ["no session", reveal({}, { password: PASSWORD }), 401],
      ["no session (htmx)", reveal({ "hx-request": "true" }, { password: PASSWORD }), 401],
      ["the API token", reveal({ authorization: `Bearer ${cell!.token}` }, { password: PASSWORD }), 400],
      ["a forged session cookie", reveal({ cookie: "grove_session=forged" }, { password: PASSWORD, _csrf: s.csrf }), 401],
      ["no CSRF token", reveal({ cookie: s.cookie, origin: "http://evil.example" }, { password: PASSWORD }), 403],
      ["a wrong CSRF token", reveal({ cookie: s.cookie }, { password: PASSWORD, _csrf: "x".repeat(32) }), 403],
      ["a wrong password", reveal({ cookie: s.cookie }, { password: "guess", _csrf: s.csrf }), 401],
      ["an empty password (htmx)", reveal({ cookie: s.cookie, "hx-request": "true" }, { password: "", _csrf: s.csrf }), 200],
      ["a GET", fetch(cell!.url + "/settings/recovery-phrase", { headers: { cookie: s.cookie } }), 404],
    ];
    for (const [what, p, status] of tries) {
      const r = await p;
      const body = await r.text();
      expect(`${what}: ${r.status}`).toBe(`${what}: ${status}`);
      expect(`${what}: ${leaks(body)} words`).toBe(`${what}: 0 words`);
    }
    // The wrong tries are in the cell's log; with the password, the same session gets the words.
    expect(cell!.output()).toContain("recovery phrase not shown: wrong dashboard password");
    const right = await reveal({ cookie: s.cookie }, { password: PASSWORD, _csrf: s.csrf });
    expect(right.status).toBe(200);
    expect(right.headers.get("cache-control")).toBe("no-store");
    expect(leaks(await right.text())).toBe(24);
  }, 60_000);

  test("guessing is throttled: after the free wrong tries, even the right password waits", async () => {
    const s = await session();
    let last = 0;
    for (let i = 0; i < 3; i++) last = (await reveal({ cookie: s.cookie }, { password: `guess ${i}`, _csrf: s.csrf })).status;
    expect(last).toBe(401);
    const held = await reveal({ cookie: s.cookie }, { password: PASSWORD, _csrf: s.csrf });
    expect(held.status).toBe(429);
    expect(leaks(await held.text())).toBe(0);
  }, 60_000);
});
