// The Files tab as a file manager (views/files, web/files-pages; issue 22 point 2, in part), on a
// real cell in headless Chromium (skipped when /usr/bin/chromium is absent): sort by name, size
// and date from the column headers; search a folder by name; a long name cut with an ellipsis,
// the whole name on hover, the page not widened; times said as "… ago" with the exact time on
// hover; Upload with nothing chosen says what to do; an upload over the limit or answered by a
// proxy's error page says what happened in words; files dropped on the page are uploaded; at
// 390 px (the headers hidden) the list sorts from the "Sort by" links above it. Sorting by name
// and the long name's ellipsis and title are checked at both widths. Search, times,
// a file dropped, a nested file's breadcrumb links and a search that finds a file three folders
// down (its folder said and linked, its name opening its page) are clicked at both widths.
// The list requests alone (no browser) are checked too: a bad sort falls back to the name.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, launchChromium, setupOrLogIn } from "../helpers/browser.ts";
import { seriousViolations, sidewaysProblems } from "../helpers/axe.ts";
import { dashboardSession, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";

const PASSWORD = "correct horse battery";
const LONG = `${"a-very-long-name-".repeat(12)}end.txt`;
let cell: TestCell | undefined;
let browser: Browser | undefined;
const errors: string[] = [];

const put = async (path: string, body: string) =>
  expect((await cell!.api(`/api/files/${encodeURI(path)}`, { method: "PUT", body })).status).toBe(201);
const names = (page: Page) =>
  page.locator("#file-list tbody tr[data-path]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-path")));

/** A nested file's page: its breadcrumb links each folder above it, and each link opens that folder. */
async function nestedCrumbs(page: Page): Promise<void> {
  await page.goto(`/files/detail?path=${encodeURIComponent("nest/a/b/c.txt")}`);
  const crumbs = page.locator("p.crumbs");
  expect(await crumbs.innerText()).toBe("Home / nest / a / b / c.txt");
  await Promise.all([
    page.waitForURL(`**/files?dir=${encodeURIComponent("nest/a")}`),
    crumbs.getByRole("link", { name: "a", exact: true }).click(),
  ]);
  await page.locator('tr.dir[data-path="nest/a/b"]').waitFor();
  await Promise.all([page.waitForURL("**/files?dir=nest"), page.locator("p.crumbs").getByRole("link", { name: "nest" }).click()]);
  await page.locator('tr.dir[data-path="nest/a"]').waitFor();
  expect(await sidewaysProblems(page)).toEqual([]);
}

/**
 * Search from the top finds a file three folders down: its row says the folder it is in (a link to
 * that folder), and its name opens its page; a folder's name is found too, deep down.
 */
async function searchDeep(page: Page): Promise<void> {
  await page.goto("/files");
  await page.getByRole("searchbox", { name: "Search the names of all your files" }).fill("c.txt");
  const row = page.locator('#file-list tr[data-path="nest/a/b/c.txt"]');
  await row.waitFor();
  expect(await names(page)).toEqual(["nest/a/b/c.txt"]);
  expect(await page.locator("#file-list .search-note").innerText()).toBe("1 result for “c.txt” in all your files.");
  expect(await row.locator("a.trunc").first().innerText()).toBe("c.txt");
  expect(await row.locator(".in-folder").innerText()).toBe("in nest/a/b");
  expect(await row.locator(".in-folder a").getAttribute("href")).toBe(`/files?dir=${encodeURIComponent("nest/a/b")}`);
  expect(await sidewaysProblems(page)).toEqual([]);
  expect(await seriousViolations(page)).toEqual([]);
  await Promise.all([page.waitForURL("**/files/detail?path=nest%2Fa%2Fb%2Fc.txt"), row.getByRole("link", { name: "c.txt" }).click()]);
  expect(await page.locator("h1").innerText()).toBe("c.txt");
  // Inside a folder, its folders are searched too (a folder by its own name).
  await page.goto("/files?dir=nest");
  await page.getByRole("searchbox", { name: "Search file names in this folder and the folders in it" }).fill("B");
  await page.locator('#file-list tr.dir[data-path="nest/a/b"]').waitFor();
  expect(await page.locator('#file-list tr.dir[data-path="nest/a/b"] .in-folder').innerText()).toBe("in nest/a");
  await Promise.all([
    page.waitForURL(`**/files?dir=${encodeURIComponent("nest/a")}`),
    page.locator('#file-list tr.dir[data-path="nest/a/b"] .in-folder a').click(),
  ]);
  await page.locator('tr.dir[data-path="nest/a/b"]').waitFor();
}

/** The long name's link: cut with an ellipsis, the whole name in its title, the page as wide as the window. */
async function longName(page: Page): Promise<void> {
  const link = page.locator(`tr[data-path="fm/${LONG}"] a.trunc`);
  expect(await link.getAttribute("title")).toBe(LONG);
  expect(await link.evaluate((a) => a.scrollWidth > a.clientWidth)).toBe(true);
  expect(await link.evaluate((a) => getComputedStyle(a).textOverflow)).toBe("ellipsis");
  const box = (await link.boundingBox())!;
  expect(box.x + box.width).toBeLessThanOrEqual(page.viewportSize()!.width);
  expect(await sidewaysProblems(page)).toEqual([]);
}

/** Files dropped on the page are uploaded into the folder shown. */
async function dropFile(page: Page, name: string, body: string): Promise<void> {
  const dt = await page.evaluateHandle(
    ([n, b]) => {
      const d = new DataTransfer();
      d.items.add(new File([b], n, { type: "text/plain" }));
      return d;
    },
    [name, body] as const,
  );
  await page.dispatchEvent("#file-list", "dragover", { dataTransfer: dt });
  await page.dispatchEvent("#file-list", "drop", { dataTransfer: dt });
  await page.locator(`tr[data-path="fm/${name}"]`).waitFor();
  expect(await (await cell!.api(`/api/files/fm/${name}`)).text()).toBe(body);
}

beforeAll(async () => {
  [cell, browser] = await Promise.all([
    startCell({ config: { max_upload_bytes: 1024 * 1024 } }),
    HAVE_CHROMIUM ? launchChromium() : Promise.resolve(undefined),
  ]);
  await put("fm/b-small.txt", "tiny");
  await put("fm/a-large.bin", "x".repeat(50_000));
  await Bun.sleep(20); // distinct times
  await put("fm/c-medium.txt", "y".repeat(5_000));
  await put(`fm/${LONG}`, "longer");
  await put("nest/a/b/c.txt", "deep");
}, 30_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await destroyCell(cell);
}, 120_000);

describe("files as a file manager", () => {
  test("the list requests: sort, order and search in the query; anything else is the default", async () => {
    const { cookie } = await dashboardSession(cell!, PASSWORD);
    const list = async (qs: string) => {
      const html = await (await fetch(`${cell!.url}/files/list?dir=fm&${qs}`, { headers: { cookie } })).text();
      return [...html.matchAll(/<tr data-path="([^"]+)"/g)].map((m) => m[1]!.replace("fm/", ""));
    };
    expect(await list("sort=size&order=desc")).toEqual(["a-large.bin", "c-medium.txt", LONG, "b-small.txt"]);
    expect(await list("sort=name&q=TXT")).toEqual([LONG, "b-small.txt", "c-medium.txt"]);
    expect(await list("sort=bogus&order=sideways")).toEqual(["a-large.bin", LONG, "b-small.txt", "c-medium.txt"]);
    expect(await list("q=nothing-like-this")).toEqual([]);
    // A search covers the folders below too: from the top, a file three folders down, and a folder by its name.
    const top = async (qs: string) => {
      const html = await (await fetch(`${cell!.url}/files/list?${qs}`, { headers: { cookie } })).text();
      return [...html.matchAll(/<tr (?:class="dir" )?data-path="([^"]+)"/g)].map((m) => m[1]!);
    };
    expect(await top("q=C.TXT")).toEqual(["nest/a/b/c.txt"]);
    expect(await top("q=b")).toEqual(["nest/a/b", "fm/a-large.bin", "fm/b-small.txt"]);
    expect(await top("dir=nest&q=deep")).toEqual([]);
    expect(await top("dir=nest/a&q=txt&sort=size")).toEqual(["nest/a/b/c.txt"]);
    // The "Sort by" links above the list (for phone width, where the headers are hidden) are plain links too.
    const html = await (await fetch(`${cell!.url}/files/list?dir=fm&sort=size&order=desc`, { headers: { cookie } })).text();
    const bar = /<nav class="sort-bar"[^>]*>([\s\S]*?)<\/nav>/.exec(html)?.[1] ?? "";
    expect([...bar.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replaceAll("&amp;", "&"))).toEqual([
      "/files?dir=fm&sort=name&order=asc",
      "/files?dir=fm&sort=size&order=asc",
      "/files?dir=fm&sort=date&order=desc",
    ]);
  });

  test.skipIf(!HAVE_CHROMIUM)("in a browser: sort by the headers, search, long names, times, empty Upload, drop to upload", async () => {
    const { page } = await cellPage(browser!, cell!, errors);
    await page.setViewportSize({ width: 1280, height: 800 });
    await setupOrLogIn(page, PASSWORD);
    await page.goto("/files?dir=fm");
    expect(await names(page)).toEqual(["fm/a-large.bin", `fm/${LONG}`, "fm/b-small.txt", "fm/c-medium.txt"]);

    // Size: largest first, then the other way.
    await page.locator("th a.sort", { hasText: "Size" }).click();
    await page.locator('th[aria-sort="descending"]', { hasText: "Size" }).waitFor();
    expect((await names(page))[0]).toBe("fm/a-large.bin");
    await page.locator("th a.sort", { hasText: "Size" }).click();
    await page.locator('th[aria-sort="ascending"]', { hasText: "Size" }).waitFor();
    expect((await names(page)).at(-1)).toBe("fm/a-large.bin");
    // Updated: newest first.
    await page.locator("th a.sort", { hasText: "Updated" }).click();
    await page.locator('th[aria-sort="descending"]', { hasText: "Updated" }).waitFor();
    expect((await names(page))[0]).toBe(`fm/${LONG}`);

    // Search keeps the sort.
    await page.getByRole("searchbox").fill("txt");
    await page.waitForFunction(() => document.querySelectorAll("#file-list tbody tr[data-path]").length === 3);
    expect(await names(page)).toEqual([`fm/${LONG}`, "fm/c-medium.txt", "fm/b-small.txt"]);
    await page.getByRole("searchbox").fill("");
    await page.waitForFunction(() => document.querySelectorAll("#file-list tbody tr[data-path]").length === 4);
    // Name: back to A to Z from the Name header.
    await page.locator("th a.sort", { hasText: "Name" }).click();
    await page.locator('th[aria-sort="ascending"]', { hasText: "Name" }).waitFor();
    expect(await names(page)).toEqual(["fm/a-large.bin", `fm/${LONG}`, "fm/b-small.txt", "fm/c-medium.txt"]);

    // A long name: cut, whole on hover, the page as wide as the window.
    await longName(page);
    // Times: "… ago", the exact time on hover.
    const when = page.locator('tr[data-path="fm/b-small.txt"] time');
    expect(await when.textContent()).toMatch(/just now|min ago/);
    expect(await when.getAttribute("title")).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);

    // Upload with nothing chosen says what to do.
    await page.locator("#upload-button").click();
    await page.locator("#upload-progress").getByText("Choose one or more files first").waitFor();
    // A file over the cell's limit: said in the page's words, with the limit in MiB; nothing sent.
    await page.setInputFiles("#upload-input", { name: "big.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(1_200_000) });
    await page.locator("#upload-button").click();
    await page.locator("#upload-progress").getByText("not uploaded: too large: this cell takes uploads of up to 1.0 MiB.").waitFor();
    expect((await cell!.api("/api/files/fm/big.bin")).status).toBe(404);
    // An answer that is not the cell's JSON (a proxy's 502 page): what to try, not "failed: 502".
    await page.route("**/api/files/fm/proxied.txt", (r) =>
      r.fulfill({ status: 502, contentType: "text/html", body: "<h1>Bad Gateway</h1>" }),
    );
    await page.setInputFiles("#upload-input", { name: "proxied.txt", mimeType: "text/plain", buffer: Buffer.from("hi") });
    await page.locator("#upload-button").click();
    await page
      .locator("#upload-progress")
      .getByText("not uploaded: the cell did not answer (it may be restarting). Try again in a moment.")
      .waitFor();
    expect(await page.locator("#upload-progress").textContent()).not.toContain("502");

    // Files dropped on the page are uploaded into the folder shown.
    await dropFile(page, "dropped.txt", "dropped bytes");
    await nestedCrumbs(page);
    await searchDeep(page);
    await page.goto("/files?dir=fm");

    // At 390 px nothing scrolls sideways either, and the list sorts from "Sort by" (the headers are hidden there).
    await page.setViewportSize({ width: 390, height: 800 });
    await page.reload();
    expect(await sidewaysProblems(page)).toEqual([]);
    expect(await page.locator("#file-list thead").isVisible()).toBe(false);
    const sortBy = page.getByRole("navigation", { name: "Sort the list" });
    expect(await names(page)).toEqual(["fm/a-large.bin", `fm/${LONG}`, "fm/b-small.txt", "fm/c-medium.txt", "fm/dropped.txt"]);
    await sortBy.getByRole("link", { name: "Size" }).click();
    await sortBy.locator('a[aria-current="true"]', { hasText: "Size ▼" }).waitFor();
    expect(await names(page)).toEqual(["fm/a-large.bin", "fm/c-medium.txt", "fm/dropped.txt", `fm/${LONG}`, "fm/b-small.txt"]);
    await sortBy.getByRole("link", { name: "Updated" }).click();
    await sortBy.locator('a[aria-current="true"]', { hasText: "Updated ▼" }).waitFor();
    expect((await names(page))[0]).toBe("fm/dropped.txt");
    await sortBy.getByRole("link", { name: "Name" }).click();
    await sortBy.locator('a[aria-current="true"]', { hasText: "Name ▲" }).waitFor();
    expect(await names(page)).toEqual(["fm/a-large.bin", `fm/${LONG}`, "fm/b-small.txt", "fm/c-medium.txt", "fm/dropped.txt"]);
    expect(await sidewaysProblems(page)).toEqual([]);
    // A long name at 390 px: cut with an ellipsis, the whole name on hover, the row inside the window.
    await longName(page);
    // At 390 px too: search keeps the sort, times say "… ago", a file dropped is uploaded, breadcrumbs link each folder.
    await page.getByRole("searchbox").fill("medium");
    await page.waitForFunction(() => document.querySelectorAll("#file-list tbody tr[data-path]").length === 1);
    expect(await names(page)).toEqual(["fm/c-medium.txt"]);
    const time = page.locator('tr[data-path="fm/c-medium.txt"] time');
    expect(await time.isVisible()).toBe(true);
    expect(await time.textContent()).toMatch(/just now|min ago/);
    expect(await time.getAttribute("title")).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await page.getByRole("searchbox").fill("");
    await page.waitForFunction(() => document.querySelectorAll("#file-list tbody tr[data-path]").length === 5);
    await dropFile(page, "phone-drop.txt", "dropped at 390");
    await nestedCrumbs(page);
    await searchDeep(page);
    expect(errors).toEqual([]);
  });
});
