// The Files tab as a file manager in headless Chromium at 1280 and 390 px (views/files,
// web/files-edit-pages, public/app.js; issue 22 point 2), on a real cell (skipped when
// /usr/bin/chromium is absent): New folder; Rename or move of a file (a rename, then into the new
// folder: the API's history shows it as a move), a taken name said in an error toast with nothing
// changed; Delete selected through the in-page dialog, one toast, one Undo for both; Move
// selected into a folder; a folder
// dropped (a synthetic drop walking FileSystemEntry objects) and a folder chosen (webkitdirectory)
// uploaded under its name with its inner paths (a dropped folder's empty folders made too);
// Rename or move on a file's own page; Upload with nothing chosen says what to do;
// previews of a text file, an image and a PDF (in Chromium's own viewer, in an <iframe>) on a
// file's page; a WAV's <audio> preview loading its metadata by Range; a WebM's <video> preview (a
// real clip Chromium records from a canvas) loading its metadata and frame size by Range; no
// sideways scroll; axe on both pages, and on each preview page in light and dark mode.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { HAVE_CHROMIUM, cellPage, launchChromium, setupOrLogIn } from "../helpers/browser.ts";
import { pageProblems, seriousViolations, seriousViolationsInBothSchemes, settled, sidewaysProblems } from "../helpers/axe.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";

const PASSWORD = "correct horse battery";
/** A 1×1 PNG. */
const PNG = new Uint8Array(
  Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64"),
);
/** A one-page PDF saying "Hello Grove", with a correct cross-reference table. */
function tinyPdf(): Uint8Array<ArrayBuffer> {
  const text = "BT /F1 24 Tf 20 60 Td (Hello Grove) Tj ET";
  const objs = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let out = "%PDF-1.4\n";
  const at: number[] = [];
  objs.forEach((o, i) => {
    at.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${at.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(out) as Uint8Array<ArrayBuffer>;
}
/** Half a second of silence as a WAV (8 kHz, mono, 16-bit PCM): the 44-byte RIFF header, then the samples. */
function tinyWav(): Uint8Array<ArrayBuffer> {
  const samples = 4000;
  const b = Buffer.alloc(44 + samples * 2);
  b.write("RIFF", 0);
  b.writeUInt32LE(36 + samples * 2, 4);
  b.write("WAVEfmt ", 8);
  b.writeUInt32LE(16, 16); // fmt chunk size
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(8000, 24); // sample rate
  b.writeUInt32LE(16000, 28); // byte rate
  b.writeUInt16LE(2, 32); // block align
  b.writeUInt16LE(16, 34); // bits per sample
  b.write("data", 36);
  b.writeUInt32LE(samples * 2, 40);
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)) as Uint8Array<ArrayBuffer>;
}
/**
 * A real WebM video: 64×48, about 0.4 s of two alternating colors, recorded by Chromium's own
 * MediaRecorder (VP8) from a canvas, as the bytes of the file (no ffmpeg on the machine).
 */
async function recordWebm(b: Browser): Promise<Uint8Array<ArrayBuffer>> {
  const page = await b.newPage();
  const base64 = await page.evaluate(async () => {
    const canvas = Object.assign(document.createElement("canvas"), { width: 64, height: 48 });
    const g = canvas.getContext("2d")!;
    const rec = new MediaRecorder(canvas.captureStream(25), { mimeType: "video/webm;codecs=vp8" });
    const parts: Blob[] = [];
    rec.ondataavailable = (e) => parts.push(e.data);
    let i = 0;
    const draw = () => {
      g.fillStyle = i++ % 2 ? "#2f7d4a" : "#d1495b";
      g.fillRect(0, 0, 64, 48);
    };
    draw();
    const timer = setInterval(draw, 40);
    rec.start();
    await new Promise((r) => setTimeout(r, 400));
    const stopped = new Promise((r) => (rec.onstop = r));
    rec.stop();
    await stopped;
    clearInterval(timer);
    const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
    let bin = "";
    for (const x of bytes) bin += String.fromCharCode(x);
    return btoa(bin);
  });
  await page.close();
  return new Uint8Array(Buffer.from(base64, "base64")) as Uint8Array<ArrayBuffer>;
}
let cell: TestCell | undefined;
let browser: Browser | undefined;
let local = "";
let webm: Uint8Array<ArrayBuffer> | undefined;
const errors: string[] = [];

const put = async (path: string, body: string | Uint8Array<ArrayBuffer>) =>
  expect((await cell!.api(`/api/files/${encodeURI(path)}`, { method: "PUT", body })).status).toBe(201);
const text = async (path: string) => {
  const r = await cell!.api(`/api/files/${encodeURI(path)}`);
  return r.status === 200 ? r.text() : null;
};
type Meta = { deleted: boolean; versions: { manifest_hash: string | null; deleted: boolean }[] };
const meta = async (path: string) => (await (await cell!.api(`/api/files/${encodeURI(path)}?meta`)).json()) as Meta;

beforeAll(async () => {
  [cell, browser] = await Promise.all([startCell(), HAVE_CHROMIUM ? launchChromium() : Promise.resolve(undefined)]);
  if (browser) webm = await recordWebm(browser);
  local = mkdtempSync(join(tmpdir(), "grove-folder-"));
  mkdirSync(join(local, "album", "day 1"), { recursive: true });
  writeFileSync(join(local, "album", "cover.txt"), "cover");
  writeFileSync(join(local, "album", "day 1", "note.txt"), "day one");
}, 30_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await destroyCell(cell);
  rmSync(local, { recursive: true, force: true });
}, 120_000);

describe("the Files tab as a file manager, in a browser", () => {
  for (const width of [1280, 390])
    test.skipIf(!HAVE_CHROMIUM)(`at ${width} px`, async () => {
      const w = `w${width}`;
      await put(`${w}/a.txt`, "alpha");
      await put(`${w}/b.txt`, "bravo");
      await put(`${w}/c.txt`, "charlie\nsecond line");
      await put(`${w}/dot.png`, PNG);
      await put(`${w}/paper.pdf`, tinyPdf());
      await put(`${w}/tone.wav`, tinyWav());
      await put(`${w}/clip.webm`, webm!);
      const { page } = await cellPage(browser!, cell!, errors);
      await page.setViewportSize({ width, height: 800 });
      await setupOrLogIn(page, PASSWORD);
      await page.goto(`/files?dir=${w}`);
      await settled(page);
      expect(await seriousViolations(page)).toEqual([]);
      expect(await pageProblems(page)).toEqual([]);
      const okToast = page.locator("#toast-region");

      // New folder.
      await page.getByLabel("New folder").fill("Sub");
      await page.getByRole("button", { name: "Make folder" }).click();
      await page.locator(`tr.dir[data-path="${w}/Sub"]`).waitFor();
      await okToast.getByText("Folder Sub made.").waitFor();
      expect(await page.getByLabel("New folder").inputValue()).toBe("");

      // Rename a.txt, then move it into Sub.
      const rename = async (from: string, to: string) => {
        const row = page.locator(`tr[data-path="${from}"]`);
        await row.getByLabel(`Rename or move ${from.slice(from.lastIndexOf("/") + 1)}`).click();
        const field = row.locator("input[name=to]");
        await field.waitFor();
        expect(await sidewaysProblems(page)).toEqual([]);
        await field.fill(to);
        await row.getByRole("button", { name: "Rename or move", exact: true }).click();
      };
      const before = await meta(`${w}/a.txt`);
      await rename(`${w}/a.txt`, `${w}/alpha.txt`);
      await page.locator(`tr[data-path="${w}/alpha.txt"]`).waitFor();
      await okToast.getByText("Renamed a.txt to alpha.txt.").waitFor();
      await rename(`${w}/alpha.txt`, `${w}/Sub/alpha.txt`);
      await page.locator(`tr[data-path="${w}/alpha.txt"]`).waitFor({ state: "detached" });
      await okToast.getByText(`Moved alpha.txt to ${w}/Sub.`).waitFor();
      // History keeps it as a move: the old paths end with a deletion, the new one starts with the same manifest.
      expect(await text(`${w}/Sub/alpha.txt`)).toBe("alpha");
      expect((await meta(`${w}/a.txt`)).deleted).toBe(true);
      expect((await meta(`${w}/alpha.txt`)).versions[0]?.deleted).toBe(true); // newest first
      expect((await meta(`${w}/Sub/alpha.txt`)).versions.at(-1)?.manifest_hash).toBe(before.versions[0]!.manifest_hash);

      // A taken name: an error toast, nothing changed.
      await rename(`${w}/b.txt`, `${w}/c.txt`);
      await page.locator("#toast-alerts").getByText(`Not moved: '${w}/c.txt' is taken by a file`).waitFor();
      expect(await text(`${w}/b.txt`)).toBe("bravo");
      expect(await text(`${w}/c.txt`)).toBe("charlie\nsecond line");
      await page.goto(`/files?dir=${w}`);

      // Delete selected: one in-page confirmation, one toast, one Undo for both.
      const del = page.locator("#delete-selected");
      expect(await del.isDisabled()).toBe(true);
      await page.getByLabel("Select b.txt").check();
      await page.getByLabel("Select c.txt").check();
      expect(await del.isDisabled()).toBe(false);
      await del.click();
      const dialog = page.getByRole("dialog");
      await dialog.getByText("Delete 2 selected files? They go to the Trash").waitFor();
      await dialog.getByRole("button", { name: "Delete" }).click();
      await page.locator(`tr[data-path="${w}/b.txt"]`).waitFor({ state: "detached" });
      const filesToast = page.locator("#toast");
      await filesToast.getByText("2 files moved to the Trash.").waitFor();
      expect(await text(`${w}/b.txt`)).toBeNull();
      expect(await text(`${w}/c.txt`)).toBeNull();
      await filesToast.getByRole("button", { name: "Undo" }).click();
      await filesToast.getByText("2 files are back.").waitFor();
      await page.locator(`tr[data-path="${w}/c.txt"]`).waitFor();
      expect(await text(`${w}/b.txt`)).toBe("bravo");

      // Move selected: both into Sub, as moves.
      await page.getByLabel("Select b.txt").check();
      await page.getByLabel("Select c.txt").check();
      await page.locator("details.move-selected > summary").click();
      await page.getByLabel("Into the folder").fill(`${w}/Sub`);
      await page.locator("#move-selected").click();
      await okToast.getByText(`2 files moved to ${w}/Sub.`).waitFor();
      await page.locator(`tr[data-path="${w}/b.txt"]`).waitFor({ state: "detached" });
      expect(await text(`${w}/Sub/c.txt`)).toBe("charlie\nsecond line");
      expect((await meta(`${w}/b.txt`)).deleted).toBe(true);

      // A folder dropped: walked, uploaded under its name with the paths inside it.
      await page.evaluate(() => {
        type Entry = Record<string, unknown>;
        const file = (name: string, body: string): Entry => ({
          isFile: true,
          isDirectory: false,
          name,
          file: (ok: (f: File) => void) => ok(new File([body], name, { type: "text/plain" })),
        });
        const dir = (name: string, children: Entry[]): Entry => ({
          isFile: false,
          isDirectory: true,
          name,
          createReader: () => {
            let read = false;
            return {
              readEntries: (ok: (b: Entry[]) => void) => {
                const batch = read ? [] : children;
                read = true;
                setTimeout(() => ok(batch), 0);
              },
            };
          },
        });
        const root = dir("dropped", [
          file("top.txt", "top"),
          dir("inner", [file("deep.txt", "deep"), dir("empty", [])]),
          dir("bare", [dir("void", [])]),
        ]);
        const ev = new Event("drop", { bubbles: true, cancelable: true });
        Object.defineProperty(ev, "dataTransfer", {
          value: { types: ["Files"], files: [], items: [{ kind: "file", webkitGetAsEntry: () => root }] },
        });
        document.getElementById("file-list")!.dispatchEvent(ev);
      });
      await page.locator(`tr.dir[data-path="${w}/dropped"]`).waitFor();
      await okToast.getByText("2 files uploaded, 2 empty folders made.").waitFor();
      expect(await text(`${w}/dropped/top.txt`)).toBe("top");
      expect(await text(`${w}/dropped/inner/deep.txt`)).toBe("deep");
      // Its empty folders are made too, not dropped silently.
      const listed = async (d: string) => (await page.request.get(`/files/list?dir=${encodeURIComponent(d)}`)).text();
      expect(await listed(`${w}/dropped/inner`)).toContain(`data-path="${w}/dropped/inner/empty"`);
      expect(await listed(`${w}/dropped/bare`)).toContain(`data-path="${w}/dropped/bare/void"`);

      // A folder chosen with "or a folder" (webkitdirectory): the same.
      await page.setInputFiles("#upload-folder", join(local, "album"));
      await page.locator("#upload-button").click();
      await page.locator(`tr.dir[data-path="${w}/album"]`).waitFor();
      expect(await text(`${w}/album/day 1/note.txt`)).toBe("day one");
      expect(await text(`${w}/album/cover.txt`)).toBe("cover");

      // Upload with nothing chosen says what to do.
      await page.locator("#upload-button").click();
      await page.locator("#upload-progress").getByText("Choose one or more files first").waitFor();
      expect(await sidewaysProblems(page)).toEqual([]);

      // A file's page previews it: text, and an image loaded from the API.
      await page.goto(`/files/detail?path=${encodeURIComponent(`${w}/Sub/c.txt`)}`);
      expect(await page.locator("pre.preview-text").textContent()).toBe("charlie\nsecond line");
      await settled(page);
      expect(await seriousViolations(page)).toEqual([]);
      expect(await pageProblems(page)).toEqual([]);

      // Rename or move on the file's own page: on to its new page, the toast carried there.
      await page.getByLabel("Rename or move c.txt").click();
      await page.getByLabel("New path of this file").fill(`${w}/Sub/charlie.txt`);
      expect(await sidewaysProblems(page)).toEqual([]);
      await Promise.all([
        page.waitForURL(`**/files/detail?path=${encodeURIComponent(`${w}/Sub/charlie.txt`)}`),
        page.getByRole("button", { name: "Rename or move", exact: true }).click(),
      ]);
      await okToast.getByText("Renamed c.txt to charlie.txt.").waitFor();
      expect(await page.locator("h1").textContent()).toBe("charlie.txt");
      expect(await text(`${w}/Sub/c.txt`)).toBeNull();
      await page.goto(`/files/detail?path=${encodeURIComponent(`${w}/dot.png`)}`);
      const img = page.locator("img.preview-img");
      await img.waitFor();
      await page.waitForFunction(() => (document.querySelector("img.preview-img") as HTMLImageElement | null)?.complete === true);
      expect(await img.evaluate((i: HTMLImageElement) => i.naturalWidth)).toBe(1);
      expect(await sidewaysProblems(page)).toEqual([]);
      expect(await seriousViolationsInBothSchemes(page)).toEqual([]);

      // A PDF: Chromium's own viewer opens it inside the page's <iframe> (the API's answer is inline
      // and may be framed here), and embeds the file: a frame of the file inside the viewer's. The
      // viewer's own files (chrome: and chrome-extension: URLs, inside the browser) may load.
      await page.context().route(
        (u) => u.protocol === "chrome:" || u.protocol === "chrome-extension:",
        (r) => r.continue(),
      );
      await page.goto(`/files/detail?path=${encodeURIComponent(`${w}/paper.pdf`)}`);
      await page.locator('iframe.preview-pdf[title="PDF preview of paper.pdf"]').waitFor();
      const shown = () =>
        page
          .frames()
          .some((f) => f.url().endsWith(`/api/files/${w}/paper.pdf`) && f.parentFrame()?.url().startsWith("chrome-extension://"));
      for (let i = 0; i < 100 && !shown(); i++) await Bun.sleep(100);
      expect(shown()).toBe(true);
      expect(await page.getByRole("link", { name: "Open paper.pdf in a new tab" }).getAttribute("href")).toBe(`/api/files/${w}/paper.pdf`);
      expect(await sidewaysProblems(page)).toEqual([]);
      expect(await seriousViolationsInBothSchemes(page)).toEqual([]);

      // A WAV (Bun's audio/x-wav, served as audio/wav): the <audio> player loads its metadata, by Range.
      const ranges: string[] = [];
      page.on("request", (r) => {
        if (r.url().endsWith(`/api/files/${w}/tone.wav`)) ranges.push(r.headers().range ?? "none");
      });
      await page.goto(`/files/detail?path=${encodeURIComponent(`${w}/tone.wav`)}`);
      await page.waitForFunction(() => (document.querySelector("audio.preview-media") as HTMLAudioElement | null)?.readyState! >= 1);
      expect(await page.locator("audio.preview-media").evaluate((a: HTMLAudioElement) => a.duration)).toBeCloseTo(0.5, 2);
      expect(ranges.length).toBeGreaterThan(0);
      expect(ranges.every((r) => r.startsWith("bytes="))).toBe(true);
      expect(await sidewaysProblems(page)).toEqual([]);
      expect(await seriousViolationsInBothSchemes(page)).toEqual([]);

      // A WebM video: the <video> player loads its metadata (its frame size) by Range, and is
      // labelled; the file answers the range with 206 and the player stays within the page.
      const clip = `/api/files/${w}/clip.webm`;
      const asked: { range: string; status: number }[] = [];
      page.on("response", (r) => {
        if (r.url().endsWith(clip)) asked.push({ range: r.request().headers().range ?? "none", status: r.status() });
      });
      await page.goto(`/files/detail?path=${encodeURIComponent(`${w}/clip.webm`)}`);
      const video = page.locator("video.preview-media");
      expect(await video.getAttribute("src")).toBe(clip);
      expect(await video.getAttribute("aria-label")).toBe("Play clip.webm");
      await page.waitForFunction(() => (document.querySelector("video.preview-media") as HTMLVideoElement | null)?.readyState! >= 1);
      expect(await video.evaluate((v: HTMLVideoElement) => [v.videoWidth, v.videoHeight, v.error])).toEqual([64, 48, null]);
      expect(asked.length).toBeGreaterThan(0);
      expect(asked.every((a) => a.range.startsWith("bytes=") && a.status === 206)).toBe(true);
      const box = (await video.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(width);
      expect(await sidewaysProblems(page)).toEqual([]);
      expect(await seriousViolationsInBothSchemes(page)).toEqual([]);
      expect(errors).toEqual([]);
    });
});
