/**
 * Test helper: real headless Chromium (Debian's, with the flags the project uses) against cells
 * on loopback; anything not addressed to the cell is blocked.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { setupCode, type TestCell } from "./cell.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      // Belt and braces for the network rule: nothing but 127.0.0.1 resolves.
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
  });
}

/**
 * A fresh context on `cell` (requests elsewhere are aborted) and a page; page errors (and with
 * `consoleErrors`, console errors, e.g. failed loads) go to `errors`.
 */
export async function cellPage(
  browser: Browser,
  cell: TestCell,
  errors: string[],
  opts: { javaScriptEnabled?: boolean; acceptDownloads?: boolean; consoleErrors?: boolean } = {},
): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({
    baseURL: cell.url,
    javaScriptEnabled: opts.javaScriptEnabled ?? true,
    acceptDownloads: opts.acceptDownloads ?? false,
  });
  ctx.setDefaultTimeout(15_000);
  const origin = new URL(cell.url).origin;
  await ctx.route(
    (u) => u.origin !== origin,
    (r) => r.abort("blockedbyclient"),
  );
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  if (opts.consoleErrors) {
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
  }
  page.on("dialog", (d) => void d.accept());
  cellOf.set(page, cell);
  return { ctx, page };
}

/** The cell each page from `cellPage` shows. */
const cellOf = new WeakMap<Page, TestCell>();

/** First-run setup: the setup code the cell printed, a dashboard password, and land on /files. */
export async function firstRunSetup(page: Page, password: string): Promise<void> {
  const cell = cellOf.get(page);
  if (!cell) throw new Error("firstRunSetup: open the page with cellPage");
  await page.goto("/");
  await page.fill("#code", setupCode(cell));
  await page.fill("#password", password);
  await page.fill("#confirm", password);
  await Promise.all([page.waitForURL("**/files"), page.click('form[action="/setup"] button[type=submit]')]);
}

/** Into the dashboard with `password`: first-run setup when the cell still has its setup code, else the login form. */
export async function setupOrLogIn(page: Page, password: string): Promise<void> {
  const cell = cellOf.get(page);
  if (!cell) throw new Error("setupOrLogIn: open the page with cellPage");
  if (existsSync(join(cell.dir, "setup_code"))) return firstRunSetup(page, password);
  await page.goto("/login");
  await page.fill("input[type=password]", password);
  await Promise.all([page.waitForURL("**/files"), page.locator("form button[type=submit]").click()]);
}
