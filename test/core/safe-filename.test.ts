// A file name chosen by a friend becomes one plain, visible name that stays in its folder on
// every platform (core/safe-filename).
import { describe, expect, test } from "bun:test";
import { FALLBACK_FILENAME, MAX_FILENAME_BYTES, safeFilename } from "../../src/core/safe-filename.ts";
import { isSafeName } from "../../src/core/unsafe-text.ts";

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

describe("safeFilename", () => {
  const cases: [string, string][] = [
    ["report.pdf", "report.pdf"],
    ["Zoë's notes (v2).txt", "Zoë's notes (v2).txt"],
    ["東京.jpg", "東京.jpg"],
    // hidden files and dot names
    [".bashrc", "bashrc"],
    ["...profile", "profile"],
    [". .ssh", "ssh"],
    [".", FALLBACK_FILENAME],
    ["..", FALLBACK_FILENAME],
    // path separators, both kinds
    ["../../x", "_.._x"],
    ["..\\..\\x", "_.._x"],
    ["/etc/passwd", "_etc_passwd"],
    ["a/b\\c", "a_b_c"],
    ["C:\\Windows\\win.ini", "C_Windows_win.ini"],
    // control, bidi and invisible characters
    ["evil\x1b[2J.txt", "evil_[2J.txt"],
    ["a\0b", "a_b"],
    ["line\nbreak", "line_break"],
    ["invoice\u202Efdp.exe", "invoice_fdp.exe"],
    ["ad\u200Bmin", "ad_min"],
    ["\x1b", "_"],
    // characters Windows refuses
    ['a<b>c:d"e|f?g*h', "a_b_c_d_e_f_g_h"],
    // trailing dots and spaces, leading spaces
    ["name. . ", "name"],
    ["  spaced.txt  ", "spaced.txt"],
    // a leading dash is not an option to `rm *`
    ["-rf", "_rf"],
    ["--help.txt", "_-help.txt"],
    // Windows device names, with or without an extension, any case
    ["CON", "_CON"],
    ["nul.txt", "_nul.txt"],
    ["com1.tar.gz", "_com1.tar.gz"],
    ["Lpt9", "_Lpt9"],
    ["aux .txt", "_aux .txt"],
    ["console.txt", "console.txt"],
    // nothing left
    ["", FALLBACK_FILENAME],
    ["   ", FALLBACK_FILENAME],
    ["...", FALLBACK_FILENAME],
  ];
  for (const [input, want] of cases) {
    test(`${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => {
      expect(safeFilename(input)).toBe(want);
    });
  }

  test("the fallback can be chosen, and is made safe too", () => {
    expect(safeFilename("..", "shared-0123abcd")).toBe("shared-0123abcd");
    expect(safeFilename("", "../.x")).toBe("_.x");
  });

  test("decomposed characters are composed (NFC), so one name is one file", () => {
    expect(safeFilename("Zoe\u0308.txt")).toBe("Zo\u00eb.txt");
  });

  test(`at most ${MAX_FILENAME_BYTES} bytes of UTF-8, the extension kept, never a character cut in half`, () => {
    const long = safeFilename("a".repeat(300) + ".tar.gz");
    expect(bytes(long)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    expect(long).toEndWith("a.gz");
    const wide = safeFilename("東".repeat(200) + ".txt");
    expect(bytes(wide)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    expect(wide).toEndWith("東.txt");
    expect(isSafeName(wide)).toBe(true);
    const emoji = safeFilename("😀".repeat(100));
    expect(bytes(emoji)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    expect(emoji).toBe("😀".repeat(MAX_FILENAME_BYTES / 4));
    // An extension too long to keep is cut like the rest.
    const ext = safeFilename("x." + "e".repeat(300));
    expect(bytes(ext)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    expect(ext).toStartWith("x.eee");
  });

  test("whatever comes in, the result is one safe, visible name in the folder", () => {
    const nasty = [
      "../../.ssh/authorized_keys",
      "\u202E\x1b]0;x\x07/..\\..",
      " .\t.\n",
      "\uD800\uDFFF\uDC00",
      "CON.\u200B",
      "a".repeat(1000),
    ];
    const rand = (n: number) => Array.from({ length: n }, () => String.fromCharCode(Math.floor(Math.random() * 0x3000))).join("");
    for (const s of [...nasty, ...Array.from({ length: 500 }, () => rand(1 + Math.floor(Math.random() * 40)))]) {
      const out = safeFilename(s);
      expect(out.length).toBeGreaterThan(0);
      expect(bytes(out)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
      expect(isSafeName(out)).toBe(true);
      expect(out).not.toMatch(/[/\\<>:"|?*]/);
      expect(out).not.toMatch(/^[.\s-]/);
      expect(out).not.toMatch(/[.\s]$/);
      expect(out).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i);
      expect(safeFilename(out)).toBe(out);
    }
  });
});
