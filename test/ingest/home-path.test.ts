// Paths are confined to GROVE_HOME: a table of what is accepted and what is refused (400).
import { expect, test } from "bun:test";
import { safePath, safeDir } from "../../src/ingest/home-path.ts";

const ok: [string, string][] = [
  ["a.txt", "a.txt"],
  ["Photos/2026/beach.jpg", "Photos/2026/beach.jpg"],
  ["dir/", "dir"],
  ["ünïcödé/файл.txt", "ünïcödé/файл.txt"],
  ["name with spaces.txt", "name with spaces.txt"],
  ["...", "..."],
  [".hidden", ".hidden"],
  ["x".repeat(255), "x".repeat(255)],
  ["é".repeat(127) + "x", "é".repeat(127) + "x"], // 255 bytes in UTF-8
  ["€".repeat(85), "€".repeat(85)], // 255 bytes: 3 per character
  ["😀".repeat(63) + "xyz", "😀".repeat(63) + "xyz"], // 255 bytes: 4 per emoji, 2 UTF-16 units each
  [("€".repeat(80) + "/").repeat(4) + "x".repeat(60), ("€".repeat(80) + "/").repeat(4) + "x".repeat(60)], // 1024 bytes
  [".grove-notes", ".grove-notes"],
];
for (const [input, want] of ok) test(`accepts ${JSON.stringify(input)}`, () => expect(String(safePath(input))).toBe(want));

const refused: [string, RegExp][] = [
  ["", /empty/],
  ["../etc/passwd", /'\.\.'/],
  ["a/../../b", /'\.\.'/],
  ["a/./b", /'\.'/],
  ["/etc/passwd", /absolute/],
  ["C:/windows", /absolute/],
  ["a//b", /empty segment/],
  ["a\0b", /NUL/],
  ["a\nb", /control/],
  ["a\\..\\b", /backslash/],
  ["x".repeat(256), /segment is longer/],
  [("d".repeat(200) + "/").repeat(6) + "f", /longer than 1024/],
  ["dir/.grove-upload-abc", /reserved/],
  ["dir/.grove-tmp-0123456789abcdef", /reserved/],
  ["é".repeat(128), /segment is longer than 255 bytes/],
  ["€".repeat(86), /segment is longer than 255 bytes/],
  ["😀".repeat(64), /segment is longer than 255 bytes/],
  [("€".repeat(80) + "/").repeat(4) + "x".repeat(61), /longer than 1024 bytes/],
];
for (const [input, re] of refused) {
  test(`refuses ${JSON.stringify(input.slice(0, 40))}`, () => {
    let err: unknown;
    try {
      safePath(input);
    } catch (e) {
      err = e;
    }
    expect((err as { status?: number })?.status).toBe(400);
    expect((err as Error).message).toMatch(re);
  });
}

test("safeDir: empty and / mean the root", () => {
  expect(safeDir(undefined)).toBe("");
  expect(safeDir("/")).toBe("");
  expect(safeDir("/a/b")).toBe("a/b");
  expect(() => safeDir("a/../..")).toThrow();
});
