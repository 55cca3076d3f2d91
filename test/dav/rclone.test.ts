/**
 * A real WebDAV client: Debian's `rclone` (webdav backend, vendor other, the API token as the
 * password) copies a tree of 300 files into a real cell's /dav/ (folders, an empty one, names with
 * spaces and UTF-8, sizes from 0 to 3 MB, streamed as it likes) and back out, and `rclone check`
 * finds them byte-identical both ways. Skipped, loudly, without rclone (.ci/run installs it).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { destroyCell, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { pseudoRandom } from "../helpers/vault.ts";

const RCLONE = "/usr/bin/rclone";
const HAVE_RCLONE = existsSync(RCLONE);
if (!HAVE_RCLONE) console.warn(`rclone tests skipped: ${RCLONE} not found (apt-get update && apt-get install -y rclone)`);

const FILES = 300;
const FOLDERS = ["", "Photos", "Photos/2026 summer", "Docs/Été ünïcode", "Docs/deep/er/still", "music & more", "日本語 フォルダ"];

let cell: TestCell | undefined;
let root = "";
let bytesIn = 0;

beforeAll(async () => {
  if (!HAVE_RCLONE) return;
  root = tempRoot("grove-rclone-");
  const src = join(root, "src");
  for (let i = 0; i < FILES; i++) {
    const dir = join(src, FOLDERS[i % FOLDERS.length]!);
    const name = i % 3 === 0 ? `file ${i} – ñ.bin` : i % 3 === 1 ? `é${i}.txt` : `plain${i}`;
    // Mostly small; every 50th empty; a few of 1-3 MB.
    const size = i % 50 === 0 ? 0 : i % 75 === 1 ? 1_000_000 + i * 6_000 : 1 + ((i * 7919) % 20_000);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), pseudoRandom(size, i + 1));
    bytesIn += size;
  }
  mkdirSync(join(src, "empty folder"), { recursive: true });
  cell = await startCell();
});
afterAll(async () => {
  await destroyCell(cell);
  if (root) rmSync(root, { recursive: true, force: true });
});

async function rclone(args: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn([RCLONE, ...args], {
    env: { ...process.env, RCLONE_CONFIG: join(root, "rclone.conf") },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [o, e, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: o + e };
}

test.skipIf(!HAVE_RCLONE)(
  "rclone copies 300 files in and out of /dav/ byte-identical (rclone check)",
  async () => {
    writeFileSync(join(root, "rclone.conf"), "");
    const pass = (await rclone(["obscure", cell!.token])).out.trim();
    const remote = ["--webdav-url", `${cell!.url}/dav/`, "--webdav-vendor", "other", "--webdav-user", "grove", "--webdav-pass", pass];
    const t0 = performance.now();
    const up = await rclone(["copy", "--create-empty-src-dirs", ...remote, join(root, "src"), ":webdav:tree"]);
    expect(up.code, up.out).toBe(0);
    const t1 = performance.now();
    const down = await rclone(["copy", "--create-empty-src-dirs", ...remote, ":webdav:tree", join(root, "out")]);
    expect(down.code, down.out).toBe(0);
    const t2 = performance.now();
    const local = await rclone(["check", join(root, "src"), join(root, "out")]);
    expect(local.code, local.out).toBe(0);
    expect(local.out).toContain(`${FILES} matching files`);
    const remoteCheck = await rclone(["check", "--download", ...remote, join(root, "src"), ":webdav:tree"]);
    expect(remoteCheck.code, remoteCheck.out).toBe(0);
    expect(remoteCheck.out).toContain(`${FILES} matching files`);
    expect(statSync(join(root, "out", "empty folder")).isDirectory()).toBe(true);
    const inJapanese = Array.from({ length: FILES }, (_, i) => i).filter((i) => FOLDERS[i % FOLDERS.length] === "日本語 フォルダ").length;
    expect(readdirSync(join(root, "out", "日本語 フォルダ")).length).toBe(inJapanese);
    // The cell stored them as `grove put` does: listed by the local API, each a current version.
    const listed = (await (await cell!.api("/api/files?prefix=tree")).json()).files as { size: number }[];
    expect(listed.length).toBe(FILES);
    expect(listed.reduce((n, f) => n + f.size, 0)).toBe(bytesIn);
    console.log(
      `rclone: ${FILES} files, ${bytesIn} bytes: in ${((t1 - t0) / 1000).toFixed(1)} s, out ${((t2 - t1) / 1000).toFixed(1)} s; rclone check: 0 differences (local and --download)`,
    );
  },
  180_000,
);
