/**
 * Accessibility of the dashboard, in real headless Chromium against two real cells (friends, with
 * files, versions, a deleted file, a purged version, shares both ways and a chat message): every
 * page (setup, and setup as another machine sees it, login, each tab, a folder, a file's page with
 * versions, a deleted file's page, the Trash with a deleted file and a purged version, the Share
 * dialog, a conversation, the Assistant, the recovery phrase offer and words, an error page) at 1280 and
 * 390 px, in light and dark mode, has no serious or critical axe-core violation, is no wider than
 * the window and has no positive tabindex. The keyboard: the first Tab reaches a visible "Skip to
 * content" link whose Enter moves focus to the main content; the tab bar is tabbed in its order;
 * on Files, a file's page, Settings, Peers, Storage, Trash and Feed, in light and dark mode, Tab from
 * the top goes skip link, header, tab bar, then the main content in document and visual order,
 * reaching everything, each stop with a visible ring (3:1 against what it is drawn on).
 * Skipped without Chromium.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, firstRunSetup, launchChromium } from "../helpers/browser.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { befriend, cellIdOf } from "../helpers/friends.ts";
import { pageProblems, seriousViolations, settled } from "../helpers/axe.ts";
import { TABS } from "../../views/tabs.ts";
import { openApp } from "../helpers/app.ts";

const PASSWORD = "correct horse battery";
const LONG = `${"a-very-long-file-name-without-spaces-".repeat(4)}end.txt`;
const WIDTHS = [1280, 390];
const SCHEMES = ["light", "dark"] as const;
const config = { sync_interval_s: 3600, mdns: false };

let a: TestCell | undefined;
let b: TestCell | undefined;
let bId = "";
let browser: Browser | undefined;
let ctx: BrowserContext;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  [a, b, browser] = await Promise.all([
    startCell({ config: { ...config, name: "cell-a" } }),
    startCell({ config: { ...config, name: "cell-b" } }),
    launchChromium(),
  ]);
  const token = (await a.cli(["invite"])).stdout.trim();
  expect((await b.cli(["join", token])).code).toBe(0);
  await befriend(a, b);
  bId = cellIdOf(b);
  const aId = cellIdOf(a);
  for (const [path, body] of [
    ["docs/report.txt", "first draft"],
    ["docs/report.txt", "second draft"],
    ["photos/2026/notes.txt", "notes"],
    [LONG, "long"],
    ["old.txt", "to be deleted"],
  ] as const)
    expect((await a.api(`/api/files/${path}`, { method: "PUT", body })).status).toBe(201);
  expect((await a.api("/api/files/old.txt", { method: "DELETE" })).ok).toBe(true);
  // A purged version: the Trash lists it with when it goes for good.
  for (const body of ["draft one", "draft two"]) expect((await a.api("/api/files/drafts.txt", { method: "PUT", body })).status).toBe(201);
  expect((await a.api("/api/files/drafts.txt?purge=1", { method: "DELETE" })).status).toBe(200);
  expect((await a.cli(["share", "docs/report.txt", "--with", bId])).code).toBe(0);
  const gift = join(b.root, "gift.txt");
  writeFileSync(gift, "a gift from b");
  expect((await b.cli(["put", gift, "--as", "gift.txt"])).code).toBe(0);
  expect((await b.cli(["share", "gift.txt", "--with", aId])).code).toBe(0);
  expect((await b.cli(["msg", aId.slice(0, 8), "hello from b"])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(a), destroyCell(b)]);
}, 60_000);

/** Every problem of the page as it is, at each width and in each color scheme. */
async function audit(p: Page, label: string): Promise<string[]> {
  const out: string[] = [];
  for (const width of WIDTHS) {
    await p.setViewportSize({ width, height: 900 });
    for (const colorScheme of SCHEMES) {
      await p.emulateMedia({ colorScheme });
      for (const problem of [...(await seriousViolations(p)), ...(await pageProblems(p))])
        out.push(`${label} @${width} ${colorScheme}: ${problem}`);
    }
  }
  await p.emulateMedia({ colorScheme: "light" });
  return out;
}

/** Open `href` with every disclosure (<details>) open, so what they hold is checked too. */
async function auditUrl(p: Page, href: string): Promise<string[]> {
  await p.goto(href);
  await settled(p);
  await p.evaluate(() => {
    for (const d of Array.from(document.querySelectorAll("details"))) d.open = true;
  });
  return audit(p, href);
}

describe.skipIf(!HAVE_CHROMIUM)("accessibility of every page", () => {
  test("the first-run setup page, then the Files list with the recovery phrase offer", async () => {
    ({ ctx, page } = await cellPage(browser!, a!, errors));
    const problems = await auditUrl(page, "/setup");
    await firstRunSetup(page, PASSWORD);
    await settled(page);
    expect(await page.locator("text=I wrote it down").count()).toBeGreaterThan(0);
    problems.push(...(await audit(page, "/files (phrase offer)")));
    expect(problems).toEqual([]);
  }, 60_000);

  const pages = [
    "/files?dir=docs",
    "/files/detail?path=docs/report.txt",
    "/files/detail?path=old.txt",
    `/files/detail?path=${encodeURIComponent(LONG)}`,
    "/files/trash",
    "/share?path=docs/report.txt&path=photos/2026/notes.txt",
    "/feed",
    "/peers",
    "/storage",
    "/chat",
    "/assistant",
    "/bounty",
    "/settings",
    "/no-such-page",
  ];
  test.each(pages)(
    "%s",
    async (href) => {
      expect(await auditUrl(page, href)).toEqual([]);
    },
    60_000,
  );

  test("the Trash audited above held the deleted file and the purged version", async () => {
    await page.goto("/files/trash");
    expect(await page.locator('#trash-list tr[data-path="old.txt"]').count()).toBe(1);
    expect(await page.locator('#trash-list tr[data-path="drafts.txt"][data-version="1"]').count()).toBe(1);
  }, 60_000);

  test("the setup page as another machine sees it (it cannot set the password)", async () => {
    // A cell without a password, asked from 192.168.1.20: its answer, shown in the browser with
    // the dashboard's own style and scripts (served by cell A at the same paths).
    const fresh = openApp();
    try {
      const r = await fresh.request("/setup", {}, "192.168.1.20");
      expect(r.status).toBe(200);
      const html = await r.text();
      expect(html).not.toContain('action="/setup"');
      const { ctx: c2, page: p } = await cellPage(browser!, a!, errors);
      await c2.route("**/setup-from-elsewhere", (route) => route.fulfill({ status: 200, contentType: "text/html", body: html }));
      const problems = await auditUrl(p, "/setup-from-elsewhere");
      expect(await p.locator("h1").innerText()).toBe("Welcome to Grove");
      await c2.close();
      expect(problems).toEqual([]);
    } finally {
      fresh.close();
    }
  }, 60_000);

  test("a conversation with a peer", async () => {
    await page.goto(`/chat/${bId}`);
    await page.locator("#chat-log li.msg").first().waitFor();
    expect(await audit(page, "/chat/:peer")).toEqual([]);
  }, 60_000);

  test("the recovery phrase's words in Settings", async () => {
    await page.goto("/settings");
    const form = page.locator('form[action="/settings/recovery-phrase"]');
    await form.locator("input[type=password]").fill(PASSWORD);
    await form.locator("button[type=submit]").click();
    await page.locator(".phrase-words, ol.words, #phrase-words").first().waitFor();
    await settled(page);
    expect(await audit(page, "/settings (phrase words)")).toEqual([]);
  }, 60_000);

  test("the login page, with a refused password", async () => {
    const { ctx: fresh, page: p } = await cellPage(browser!, a!, errors);
    const problems = await auditUrl(p, "/login");
    await p.fill("#password", "not the password");
    await Promise.all([p.waitForURL("**/login"), p.click('form[action="/login"] button[type=submit]')]);
    await p.locator(".error").waitFor();
    problems.push(...(await audit(p, "/login (refused)")));
    await fresh.close();
    expect(problems).toEqual([]);
  }, 60_000);
});

/** The WCAG contrast ratio of two CSS rgb() colors. */
function contrast(x: string, y: string): number {
  const lum = (c: string) => {
    const [r, g, b] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const [hi, lo] = [lum(x), lum(y)].sort((m, n) => n - m);
  return (hi! + 0.05) / (lo! + 0.05);
}

describe.skipIf(!HAVE_CHROMIUM)("the keyboard", () => {
  test("the first Tab reaches a visible skip link; Enter moves focus to the main content", async () => {
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto("/peers");
      await page.keyboard.press("Tab");
      const skip = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        const r = el.getBoundingClientRect();
        const s = getComputedStyle(el);
        return {
          text: el.textContent,
          href: el.getAttribute("href"),
          inView: r.top >= 0 && r.left >= 0 && r.width > 20 && r.height > 10,
          outline: s.outlineStyle,
        };
      });
      expect(skip).toEqual({ text: "Skip to content", href: "#main", inView: true, outline: "solid" });
      await page.keyboard.press("Enter");
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
      expect(await page.evaluate(() => document.activeElement?.tagName)).toBe("MAIN");
      // The next Tab goes on inside the main content, not back to the header.
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.querySelector("main")!.contains(document.activeElement))).toBe(true);
    }
  }, 60_000);

  test("Tab goes through the header and then the tab bar in the order of the page", async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto("/storage");
    const order: string[] = [];
    for (let i = 0; i < 20 && order.length < 3 + TABS.length; i++) {
      await page.keyboard.press("Tab");
      order.push(
        await page.evaluate(() => {
          const el = document.activeElement!;
          return el.getAttribute("href") ?? el.textContent?.trim() ?? el.tagName;
        }),
      );
    }
    // Skip link, the brand, Log out, then every tab as the bar shows them.
    expect(order).toEqual(["#main", "/", "Log out", ...TABS.map((t) => t.href)]);
    // Focus is visible on a tab, in both color schemes: a solid ring that stands out from the bar (3:1, WCAG 1.4.11).
    for (const colorScheme of SCHEMES) {
      await page.emulateMedia({ colorScheme });
      const ring = await page.evaluate(() => {
        const s = getComputedStyle(document.activeElement!);
        return {
          style: s.outlineStyle,
          width: parseFloat(s.outlineWidth),
          color: s.outlineColor,
          behind: getComputedStyle(document.querySelector("nav.tabs")!).backgroundColor,
        };
      });
      expect(ring.style).toBe("solid");
      expect(ring.width).toBeGreaterThanOrEqual(2);
      expect(contrast(ring.color, ring.behind)).toBeGreaterThanOrEqual(3);
    }
    await page.emulateMedia({ colorScheme: "light" });
  }, 60_000);

  /** Where Tab is now: the element's place in the page (document order), where it sits, and its focus ring. */
  const focused = (p: Page) =>
    p.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const s = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      return {
        at: Array.prototype.indexOf.call(document.querySelectorAll("*"), el) as number,
        what: `${el.tagName.toLowerCase()} ${el.getAttribute("href") ?? el.getAttribute("name") ?? el.id ?? ""} ${(el.textContent ?? "").trim().slice(0, 30)}`,
        part: el.closest("main") ? "main" : el.closest("nav.tabs") ? "nav" : "header",
        top: r.top + window.scrollY,
        ring: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none",
        outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0 ? s.outlineColor : null,
        // What the ring is drawn on (it sits outside the element): the first ancestor with a background.
        behind: (() => {
          for (let n = el.parentElement; n; n = n.parentElement) {
            const bg = getComputedStyle(n).backgroundColor;
            const alpha = /rgba\([^)]*,\s*([\d.]+)\)/.exec(bg)?.[1];
            if (bg !== "transparent" && (alpha === undefined || Number(alpha) > 0)) return bg;
          }
          return getComputedStyle(document.documentElement).backgroundColor;
        })(),
      };
    });
  /** Everything on the page Tab should reach, in document order (visible, enabled, no negative tabindex, not in a closed <details>). */
  const reachable = (p: Page) =>
    p.evaluate(() => {
      const all = Array.from(document.querySelectorAll("*"));
      const sel = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]";
      return Array.from(document.querySelectorAll<HTMLElement>(sel))
        .filter((el) => {
          if ((el as HTMLButtonElement).disabled || el.tabIndex < 0) return false;
          if (el.getClientRects().length === 0 || getComputedStyle(el).visibility === "hidden") return false;
          const closed = el.closest("details:not([open])");
          return !closed || (el.tagName === "SUMMARY" && el.parentElement === closed);
        })
        .map((el) => all.indexOf(el));
    });

  /**
   * Scroll down the page a half screen at a time, then back up, and wait for what that loaded: the
   * Feed's previews load when scrolled into view ("intersect once"), and one loading during the
   * walk (Tab scrolls the page) changed the page under it (a CI run under load missed a stop).
   */
  const loadLazy = async (p: Page) => {
    await p.evaluate(async () => {
      for (let y = 0; y < document.documentElement.scrollHeight; y += window.innerHeight / 2) {
        window.scrollTo(0, y);
        await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 30)));
      }
      window.scrollTo(0, 0);
    });
    await settled(p);
    await p.waitForTimeout(50); // htmx swaps and settles just after the request ends
  };

  const WALKED = ["/files?dir=docs", "/files/detail?path=docs/report.txt", "/settings", "/peers", "/storage", "/files/trash", "/feed"];
  for (const width of WIDTHS)
    test(`at ${width} px, in light and dark mode (light only at 390), Tab from the top of Files, a file's page, Settings, Peers, Storage, Trash and Feed follows the page: skip link, header, tab bar, then the main content in order, each with a visible ring`, async () => {
      await page.setViewportSize({ width, height: 900 });
      // Both schemes at 1280 px; at 390 px light only (the ring's colors do not change with the width: half the time).
      const schemes = width === WIDTHS[0] ? SCHEMES : (["light"] as const);
      for (const [colorScheme, href] of schemes.flatMap((sc) => WALKED.map((h) => [sc, h] as const))) {
        await page.emulateMedia({ colorScheme });
        await page.goto(href);
        await settled(page);
        await loadLazy(page);
        const expected = await reachable(page);
        const seen: NonNullable<Awaited<ReturnType<typeof focused>>>[] = [];
        for (let i = 0; i < 200; i++) {
          await page.keyboard.press("Tab");
          const f = await focused(page);
          if (!f || (seen.length && f.at === seen[0]!.at)) break; // past the last one (or round again)
          seen.push(f);
        }
        const label = `${href} @${width} ${colorScheme}`;
        expect({ label, first: seen[0]?.what.trim() }).toEqual({ label, first: "a #main Skip to content" });
        // Header, then the tab bar, then the main content: never back.
        const parts = seen.map((f) => f.part).filter((x, i, all) => x !== all[i - 1]);
        expect({ label, parts }).toEqual({ label, parts: ["header", "nav", "main"] });
        // Document order, each once, and nothing Tab should reach is left out.
        const backwards = seen.filter((f, i) => i > 0 && f.at <= seen[i - 1]!.at).map((f) => f.what);
        expect({ label, backwards }).toEqual({ label, backwards: [] });
        const visited = new Set(seen.map((f) => f.at));
        // Named, so that a miss says which stop (the page as it is now: it may have changed meanwhile).
        const missed = await page.evaluate(
          (ats) => ats.map((at) => document.querySelectorAll("*")[at]?.outerHTML.slice(0, 100) ?? `element ${at}, gone`),
          expected.filter((at) => !visited.has(at)),
        );
        expect({ label, missed }).toEqual({ label, missed: [] });
        // Visual order in the main content: no stop sits well above the one before it.
        const main = seen.filter((f) => f.part === "main");
        const upward = main.filter((f, i) => i > 0 && f.top < main[i - 1]!.top - 40).map((f) => f.what);
        expect({ label, upward }).toEqual({ label, upward: [] });
        // Focus is visible on every stop: an outline or a ring.
        expect({ label, noRing: seen.filter((f) => !f.ring).map((f) => f.what) }).toEqual({ label, noRing: [] });
        // ... and stands out from what it is drawn on (3:1, WCAG 1.4.11), in this color scheme.
        const faint = seen
          .filter((f) => f.outline && contrast(f.outline, f.behind) < 3)
          .map((f) => `${f.what}: ${f.outline} on ${f.behind}`);
        expect({ label, faint }).toEqual({ label, faint: [] });
        expect(main.length).toBeGreaterThan(href === "/files/trash" || href === "/feed" ? 0 : 3);
      }
      await page.emulateMedia({ colorScheme: "light" });
    }, 120_000);

  test("the pages raised no errors", async () => {
    await ctx.close();
    expect(errors).toEqual([]);
  });
});
