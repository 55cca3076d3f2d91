// Two of my cells in real headless Chromium, at 1280 and 390 px: A ("laptop", a mirror) and B
// ("phone", on demand), paired as mine. On B's Files tab, a file only A keeps:
//  - its pin toggle (busy while the request runs) writes it into B's GROVE_HOME, and unpinning
//    takes it out again (issue 22: pin clicked at both widths), from its folder and from a search
//    result (which keeps its "in FOLDER" line);
//  - Delete gives a toast with Undo, as every other delete does; A follows the deletion, and Undo
//    brings the file back on both cells.
// B's Settings form changes "Files of my other cells" (home_mode), "Share my models" (llm_share)
// and "Watched folders" (watch_dirs) at each width: config.json on disk, the page read again, and
// the cell's behaviour: as a mirror B refuses an unpin and says why, on demand it unpins; B
// watches the folder saved at once and after a restart (GET /api/status), storing what is in it. No page scrolls
// sideways. Skipped without /usr/bin/chromium.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, launchChromium, setupOrLogIn } from "../helpers/browser.ts";
import { seriousViolations, sidewaysProblems } from "../helpers/axe.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { until } from "../helpers/until.ts";

const PASSWORD = "correct horse battery";
const WIDTHS = [1280, 390] as const;
const config = { mdns: false, sync_interval_s: 3600 };

let a: TestCell | undefined;
let b: TestCell | undefined;
let browser: Browser | undefined;
let watched = "";
const errors: string[] = [];

const store = async (c: TestCell, path: string, text: string) => {
  const r = await c.api(`/api/files/${path}`, { method: "PUT", body: text });
  if (!r.ok) throw new Error(`PUT ${path}: ${r.status} ${await r.text()}`);
};
/** The file's text as `c` reads it, or null when it has none there. */
const read = async (c: TestCell, path: string) => {
  const r = await c.api(`/api/files/${path}`);
  return r.status === 200 ? r.text() : null;
};
const inHome = (c: TestCell, path: string, text: string) => {
  const f = join(c.home, path);
  return existsSync(f) && readFileSync(f, "utf8") === text;
};
const configOf = (c: TestCell) => JSON.parse(readFileSync(join(c.dir, "config.json"), "utf8")) as Record<string, unknown>;
const row = (p: Page, path: string) => p.locator(`#file-list tr[data-path="${path}"]`);

/** B's dashboard at `width`, logged in (first-run setup the first time). */
async function dashboard(width: number): Promise<Page> {
  const { page } = await cellPage(browser!, b!, errors, { consoleErrors: true });
  await page.setViewportSize({ width, height: 844 });
  await setupOrLogIn(page, PASSWORD);
  return page;
}

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  watched = mkdtempSync(join(tmpdir(), "grove-watched-"));
  mkdirSync(join(watched, "notes"));
  writeFileSync(join(watched, "notes", "todo.txt"), "watched\n");
  [a, b, browser] = await Promise.all([
    startCell({ config: { ...config, name: "laptop" } }),
    startCell({ config: { ...config, name: "phone", home_mode: "on-demand", llm_share: "friends", watch_home: false } }),
    launchChromium(),
  ]);
  await Promise.all(WIDTHS.flatMap((w) => [store(a!, `w${w}/plan.txt`, `plan ${w}\n`), store(a!, `w${w}/gone.txt`, `gone ${w}\n`)]));
  const inv = await a.api("/api/invites", { method: "POST", headers: { "content-type": "application/json" }, body: '{"mine":true}' });
  const { token } = (await inv.json()) as { token: string };
  const joined = await b.cli(["join", token]);
  if (joined.code !== 0) throw new Error(`grove join: ${joined.stderr}`);
  await until("A's files listed on B", async () => (await read(b!, "w390/gone.txt")) === "gone 390\n", 20_000);
}, 60_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await Promise.all([destroyCell(a), destroyCell(b)]);
  if (watched) rmSync(watched, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!HAVE_CHROMIUM)("a file only another of my cells keeps, on B's Files tab", () => {
  for (const width of WIDTHS)
    test(`at ${width} px: pin and unpin it; delete it with Undo`, async () => {
      const page = await dashboard(width);
      const dir = `w${width}`;
      await page.goto(`/files?dir=${dir}`);
      const plan = row(page, `${dir}/plan.txt`);
      expect(await plan.locator(".away").textContent()).toContain("on laptop");
      expect(await sidewaysProblems(page)).toEqual([]);

      // Pin, the request held: the button is disabled and the row busy meanwhile; then pinned, in B's GROVE_HOME.
      let release = () => {};
      const held = new Promise<void>((r) => (release = r));
      await page.route("**/files/pin", (route) => held.then(() => route.continue()), { times: 1 });
      const keep = plan.locator("button.pin");
      expect(await keep.textContent()).toBe("Keep on this cell");
      await keep.click();
      await until("the busy state", async () => (await keep.isDisabled()) && (await plan.locator(".pin-busy").isVisible()), 5_000);
      const busy = (await plan.locator(".pin-busy").boundingBox())!;
      expect(busy.x + busy.width).toBeLessThanOrEqual(width);
      release();
      await plan.locator(".pin-note", { hasText: "pinned: kept in your files folder here" }).waitFor();
      await until(`${dir}/plan.txt in B's GROVE_HOME`, () => inHome(b!, `${dir}/plan.txt`, `plan ${width}\n`));
      expect(await sidewaysProblems(page)).toEqual([]);
      // Unpin: out of B's GROVE_HOME again, listed "on laptop".
      await plan.locator("button.pin.pinned").click();
      await plan.locator(".pin-note", { hasText: "unpinned: 1 file left your files folder here" }).waitFor();
      expect(await plan.locator(".away").textContent()).toContain("on laptop");
      await until(`${dir}/plan.txt gone from B's GROVE_HOME`, () => !existsSync(join(b!.home, dir, "plan.txt")));
      expect(await read(a!, `${dir}/plan.txt`)).toBe(`plan ${width}\n`);

      // From a search at the top: the result's toggle pins it, and the row still says which folder it is in.
      await page.goto("/files");
      await page.getByRole("searchbox").fill("plan");
      const found = row(page, `${dir}/plan.txt`);
      await found.waitFor();
      expect(await found.locator(".in-folder").innerText()).toBe(`in ${dir}`);
      await found.locator("button.pin", { hasText: "Keep on this cell" }).click();
      await found.locator(".pin-note", { hasText: "pinned: kept in your files folder here" }).waitFor();
      expect(await found.locator(".in-folder").innerText()).toBe(`in ${dir}`);
      await found.locator("button.pin.pinned").click();
      await found.locator(".pin-note", { hasText: "unpinned" }).waitFor();
      expect(await found.locator(".in-folder").innerText()).toBe(`in ${dir}`);
      expect(await sidewaysProblems(page)).toEqual([]);
      await page.goto(`/files?dir=${dir}`);

      // Delete a file only A keeps: a toast with Undo, as for a file of B's own; A follows the deletion.
      const gone = row(page, `${dir}/gone.txt`);
      await gone.getByRole("button", { name: "Delete gone.txt" }).click();
      const toast = page.locator("#toast");
      await toast.getByText("Deleted gone.txt from your cells' files").waitFor();
      expect(await row(page, `${dir}/gone.txt`).count()).toBe(0);
      const undo = toast.getByRole("button", { name: "Undo" });
      expect(await undo.isVisible()).toBe(true);
      // Its history is on A, not in B's Trash: no link to a Trash that does not list it.
      expect(await toast.getByRole("link", { name: "Trash" }).count()).toBe(0);
      const box = (await undo.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(width);
      expect(await seriousViolations(page)).toEqual([]);
      await until("A followed the deletion", async () => (await read(a!, `${dir}/gone.txt`)) === null, 20_000);
      // Undo: back in B's list, readable on B, and A brings it back too.
      await undo.click();
      await toast.getByText("gone.txt is back.").waitFor();
      await row(page, `${dir}/gone.txt`).waitFor();
      expect(await row(page, `${dir}/gone.txt`).locator(".away").textContent()).toContain("on laptop");
      expect(await read(b!, `${dir}/gone.txt`)).toBe(`gone ${width}\n`);
      await until("A brought it back", async () => (await read(a!, `${dir}/gone.txt`)) === `gone ${width}\n`, 20_000);
      expect(await sidewaysProblems(page)).toEqual([]);
      await page.context().close();
      expect(errors).toEqual([]);
    }, 60_000);
});

describe.skipIf(!HAVE_CHROMIUM)("B's Settings form: mirror or on demand, model sharing, watched folders", () => {
  // At 1280 px: a mirror that shares no models and watches watched/notes; at 390 px back to on
  // demand, sharing with friends, watching watched/notes and watched/more.
  const steps = [
    { width: 1280, mode: "mirror", share: "none", dirs: () => [join(watched, "notes")] },
    { width: 390, mode: "on-demand", share: "friends", dirs: () => [join(watched, "notes"), join(watched, "more")] },
  ] as const;
  for (const s of steps)
    test(`at ${s.width} px: ${s.mode}, models shared with ${s.share}, ${s.dirs().length === 1 ? "one watched folder" : "two watched folders"}`, async () => {
      mkdirSync(join(watched, "more"), { recursive: true });
      const page = await dashboard(s.width);
      await page.goto("/settings");
      await page.getByLabel("Files of my other cells").selectOption(s.mode);
      await page.getByLabel("Share my models").selectOption(s.share);
      await page.getByLabel("Watched folders").fill(s.dirs().join("\n"));
      await page.click("#settings-save");
      await page.locator("#settings-status .saved").waitFor();
      expect(await page.locator("#settings-status").textContent()).toBe(
        "Saved. In effect now: Files of my other cells, Watched folders, Share my models.",
      );
      expect(await sidewaysProblems(page)).toEqual([]);
      expect(configOf(b!)).toMatchObject({ home_mode: s.mode, llm_share: s.share, watch_dirs: s.dirs() });
      // The page read again shows what was saved.
      await page.goto("/settings");
      expect(await page.getByLabel("Files of my other cells").inputValue()).toBe(s.mode);
      expect(await page.getByLabel("Share my models").inputValue()).toBe(s.share);
      expect(await page.getByLabel("Watched folders").inputValue()).toBe(s.dirs().join("\n"));

      // The running cell took the mode: a mirror refuses to unpin (and says why), on demand unpins.
      const path = `w${s.width}/plan.txt`;
      await page.goto(`/files?dir=w${s.width}`);
      const plan = row(page, path);
      await plan.locator("button.pin", { hasText: "Keep on this cell" }).click();
      await plan.locator(".pin-note", { hasText: "pinned" }).waitFor();
      await plan.locator("button.pin.pinned").click();
      if (s.mode === "mirror") {
        await plan
          .locator(".pin-note.error", { hasText: "still pinned: this cell keeps a copy of every file of your cells (a mirror)" })
          .waitFor();
        expect(inHome(b!, path, `plan ${s.width}\n`)).toBe(true);
      } else {
        await plan.locator(".pin-note", { hasText: "unpinned: 1 file left your files folder here" }).waitFor();
        await until(`${path} gone from B's GROVE_HOME`, () => !existsSync(join(b!.home, path)));
      }
      expect(await sidewaysProblems(page)).toEqual([]);
      await page.context().close();
      expect(errors).toEqual([]);
    }, 60_000);

  test("B watches the folders saved at once, and stores what is in them; after a restart too", async () => {
    // Taken at once (a live key): no restart needed for the folder to be watched and stored.
    await until("watched/notes/todo.txt stored", async () => (await read(b!, "notes/todo.txt")) === "watched\n", 20_000);
    await b!.stop();
    b = await startCell({ root: b!.root, listen: { host: "127.0.0.1", port: b!.port } });
    const status = (await (await b.api("/api/status")).json()) as { watching: { roots: string[] } | null };
    expect(status.watching?.roots).toEqual(expect.arrayContaining([join(watched, "notes"), join(watched, "more")]));
    expect(await read(b!, "notes/todo.txt")).toBe("watched\n");
    const page = await dashboard(390);
    await page.goto("/settings");
    expect(await page.getByLabel("Files of my other cells").inputValue()).toBe("on-demand");
    expect(await page.getByLabel("Share my models").inputValue()).toBe("friends");
    await page.context().close();
  }, 60_000);
});
