/**
 * Test helper: accessibility checks of a page in real Chromium. axe-core (injected into the page)
 * lists the serious and critical violations; `pageProblems` adds what axe does not check: a page
 * wider than the window, and a positive tabindex (which breaks the tab order following the page).
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

/** A page wider than the window (it would scroll sideways), and elements with a positive tabindex. */
export async function pageProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const sw = document.documentElement.scrollWidth;
    if (sw > window.innerWidth) out.push(`scrollWidth ${sw} > innerWidth ${window.innerWidth}`);
    for (const el of Array.from(document.querySelectorAll("[tabindex]"))) {
      const t = Number(el.getAttribute("tabindex"));
      if (t > 0) out.push(`positive tabindex ${t} on <${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}>`);
    }
    return out;
  });
}

/** Wait until the page is loaded and no htmx request is under way (lists loaded on "load" are in). */
export async function settled(page: Page): Promise<void> {
  await page.waitForLoadState("load");
  await page.waitForFunction(() => document.querySelector(".htmx-request") === null);
}
