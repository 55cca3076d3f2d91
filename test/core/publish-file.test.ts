// Putting a finished temp file in place: replacing when asked, else never replacing anything,
// even a file (or a dangling symlink) that appeared a moment before (core/publish-file).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publishFile } from "../../src/core/publish-file.ts";

const dir = mkdtempSync(join(tmpdir(), "grove-publish-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function fresh(): { tmp: string; target: string } {
  const sub = join(dir, String(n++));
  mkdirSync(sub);
  const tmp = join(sub, ".grove-tmp-0123456789abcdef");
  writeFileSync(tmp, "new bytes");
  return { tmp, target: join(sub, "file.txt") };
}

describe("publishFile", () => {
  test("a new name: written, the temp file gone", async () => {
    const { tmp, target } = fresh();
    expect(await publishFile(tmp, target, { replace: false, sync: true })).toBe("written");
    expect(readFileSync(target, "utf8")).toBe("new bytes");
    expect(existsSync(tmp)).toBe(false);
  });

  test("an existing file is never replaced without `replace`, and left byte-identical", async () => {
    const { tmp, target } = fresh();
    writeFileSync(target, "mine");
    expect(await publishFile(tmp, target, { replace: false })).toBe("exists");
    expect(readFileSync(target, "utf8")).toBe("mine");
    expect(readdirSync(join(target, ".."))).toEqual(["file.txt"]);
  });

  test("a dangling symlink counts as existing: nothing is written through it", async () => {
    const { tmp, target } = fresh();
    const elsewhere = join(dir, `victim-${n}`);
    symlinkSync(elsewhere, target);
    expect(await publishFile(tmp, target, { replace: false })).toBe("exists");
    expect(existsSync(elsewhere)).toBe(false);
    expect(readlinkSync(target)).toBe(elsewhere);
  });

  test("with `replace`, the target is replaced whole (a symlink itself, not what it points to)", async () => {
    const { tmp, target } = fresh();
    const elsewhere = join(dir, `kept-${n}`);
    writeFileSync(elsewhere, "untouched");
    symlinkSync(elsewhere, target);
    expect(await publishFile(tmp, target, { replace: true, sync: true })).toBe("written");
    expect(readFileSync(target, "utf8")).toBe("new bytes");
    expect(readFileSync(elsewhere, "utf8")).toBe("untouched");
  });

  test("a race: a file created after the download began is not clobbered", async () => {
    const { tmp, target } = fresh();
    // The check before the download found nothing; then someone else creates the name.
    expect(existsSync(target)).toBe(false);
    writeFileSync(target, "created meanwhile");
    expect(await publishFile(tmp, target, { replace: false })).toBe("exists");
    expect(readFileSync(target, "utf8")).toBe("created meanwhile");
    expect(existsSync(tmp)).toBe(false);
  });
});
