/**
 * Test helper: accessibility checks of a page in real Chromium. axe-core (injected into the page)
 * lists the serious and critical violations; `pageProblems` adds what axe does not check: a page
 * wider than the window or, on a phone, a box in it that scrolls sideways (`sidewaysProblems`,
 * which every browser test's sideways check uses), and a positive tabindex (which breaks the tab
 * order following the page).
 */
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import type { AxeResults } from "axe-core";

const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Inject axe-core into the current document (again after each navigation). */
export async function injectAxe(page: Page): Promise<void> {
  if (await page.evaluate(() => "axe" in window)) return;
  await page.addScriptTag({ content: AXE_SOURCE });
}

/** The serious and critical axe violations of the page as it is now, one line per node: id, impact, target, help. */
export async function seriousViolations(page: Page): Promise<string[]> {
  await injectAxe(page);
  const results = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<AxeResults> } }).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: JSON.stringify(n.target), summary: n.failureSummary ?? "" })),
    }));
  });
  return results
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) =>
      v.nodes.map((n) => `${v.id} (${v.impact}) ${n.target}: ${v.help}${n.summary ? ` [${n.summary.replace(/\s+/g, " ")}]` : ""}`),
    );
}

/** `seriousViolations` in light and then in dark mode, each line prefixed with its scheme; the page is left in light mode. */
export async function seriousViolationsInBothSchemes(page: Page): Promise<string[]> {
  const out: string[] = [];
  for (const colorScheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme });
    for (const v of await seriousViolations(page)) out.push(`${colorScheme}: ${v}`);
  }
  await page.emulateMedia({ colorScheme: "light" });
  return out;
}

/**
 * What scrolls sideways: the page when it is wider than the window, and on a phone (a window of
 * 600 px or less) any box that scrolls sideways inside the page (overflow-x auto or scroll, like
 * `.table-wrap`) whose content is wider than it by more than 1 px, which the page's own width
 * does not show. Empty when nothing does. Every browser test's "no sideways scroll" check.
 */
export async function sidewaysProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const sw = document.documentElement.scrollWidth;
    if (sw > window.innerWidth) out.push(`scrollWidth ${sw} > innerWidth ${window.innerWidth}`);
    if (window.innerWidth > 600) return out;
    for (const el of Array.from(document.querySelectorAll<HTMLElement>("body *"))) {
      const x = getComputedStyle(el).overflowX;
      if (x !== "auto" && x !== "scroll") continue;
      if (el.getClientRects().length === 0) continue; // not shown
      if (el.scrollWidth > el.clientWidth + 1) {
        const name = `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${el.classList.length ? `.${Array.from(el.classList).join(".")}` : ""}>`;
        out.push(`${name} scrolls sideways inside the page: scrollWidth ${el.scrollWidth} > clientWidth ${el.clientWidth}`);
      }
    }
    return out;
  });
}

/** True when nothing scrolls sideways (`sidewaysProblems` is empty). */
export const noSideways = async (page: Page): Promise<boolean> => (await sidewaysProblems(page)).length === 0;

/** A page wider than the window (or, on a phone, a box scrolling sideways in it), and elements with a positive tabindex. */
export async function pageProblems(page: Page): Promise<string[]> {
  const sideways = await sidewaysProblems(page);
  return page.evaluate((sideways) => {
    const out: string[] = [...sideways];
    for (const el of Array.from(document.querySelectorAll("[tabindex]"))) {
      const t = Number(el.getAttribute("tabindex"));
      if (t > 0) out.push(`positive tabindex ${t} on <${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}>`);
    }
    return out;
  }, sideways);
}

/** Wait until the page is loaded and no htmx request is under way (lists loaded on "load" are in). */
export async function settled(page: Page): Promise<void> {
  await page.waitForLoadState("load");
  await page.waitForFunction(() => document.querySelector(".htmx-request") === null);
}
