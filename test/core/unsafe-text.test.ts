// Names that could rewrite a terminal or a log, or disguise themselves: found, described, and
// printed as escapes, while ordinary names in any script pass untouched.
import { describe, expect, test } from "bun:test";
import { displayName, displayText, firstUnsafeChar, isSafeName, replaceUnsafe, unsafeNameProblem } from "../../src/core/unsafe-text.ts";

const UNSAFE = [
  ["ESC (C0)", "\x1b[2J"],
  ["NUL", "a\0b"],
  ["newline", "a\nb"],
  ["tab", "a\tb"],
  ["carriage return", "ok\rfake"],
  ["DEL", "a\x7f"],
  ["C1 CSI", "a\u009b31m"],
  ["C1 NEL", "a\u0085b"],
  ["bidi override (RLO)", "invoice\u202Efdp.exe"],
  ["bidi embedding (LRE)", "a\u202Ab"],
  ["bidi isolate (RLI)", "a\u2067b"],
  ["pop isolate", "a\u2069"],
  ["right-to-left mark", "a\u200Fb"],
  ["Arabic letter mark", "a\u061Cb"],
  ["zero-width space", "ad\u200Bmin"],
  ["word joiner", "a\u2060b"],
  ["BOM", "\uFEFFname"],
  ["soft hyphen", "pay\u00ADpal"],
  ["line separator", "a\u2028b"],
  ["paragraph separator", "a\u2029b"],
  ["tag character", "a\u{E0041}"],
  ["Hangul filler", "\u3164"],
  ["lone surrogate", "a\uD800b"],
] as const;

const SAFE = [
  "alice-laptop",
  "Mom's phone",
  "Zoë's Mac",
  "東京の家",
  "שלום",
  "مرحبا",
  "👩‍💻 dev box",
  "👨‍👩‍👧",
  "می‌خواهم",
  "a\\b",
  "x".repeat(64),
];

describe("unsafe characters in names", () => {
  for (const [what, s] of UNSAFE) {
    test(`${what} is refused and described without the character itself`, () => {
      expect(isSafeName(s)).toBe(false);
      const why = unsafeNameProblem(s)!;
      expect(why).toMatch(
        /^contains (a control character|a bidi control|an invisible formatting character) \(U\+[0-9A-F]{4,5}\) at position \d+/,
      );
      expect(isSafeName(why)).toBe(true);
      expect(why).not.toContain(firstUnsafeChar(s)!.char);
    });
  }

  test("names in any script, with emoji sequences (ZWJ) and Persian ZWNJ, are fine", () => {
    for (const s of SAFE) {
      expect(isSafeName(s)).toBe(true);
      expect(unsafeNameProblem(s)).toBeNull();
      expect(displayName(s)).toBe(s);
    }
  });

  test("the problem names the kind and the position", () => {
    expect(unsafeNameProblem("ab\x1b[2J")).toStartWith("contains a control character (U+001B) at position 3");
    expect(unsafeNameProblem("x\u202Eyz")).toStartWith("contains a bidi control (U+202E) at position 2");
    expect(unsafeNameProblem("\u200B")).toStartWith("contains an invisible formatting character (U+200B) at position 1");
  });
});

describe("display", () => {
  test("displayName shows every unsafe character as a visible escape, on one line", () => {
    expect(displayName("evil\x1b[2J\x1b]0;pwned\x07")).toBe("evil\\x1b[2J\\x1b]0;pwned\\x07");
    expect(displayName("a\nb\tc\rd")).toBe("a\\x0ab\\x09c\\x0dd");
    expect(displayName("invoice\u202Efdp.exe")).toBe("invoice\\u202efdp.exe");
    expect(displayName("a\u009bb")).toBe("a\\x9bb");
    expect(displayName("tag\u{E0041}")).toBe("tag\\u{e0041}");
    expect(displayName("a\uD800")).toBe("a\\ud800");
  });

  test("displayText keeps newlines and tabs, escapes the rest", () => {
    expect(displayText("line 1\n\tline 2\x1b[31m red\r")).toBe("line 1\n\tline 2\\x1b[31m red\\x0d");
  });

  test("the output holds no unsafe character, and escaping again changes nothing", () => {
    for (const [, s] of UNSAFE) {
      const shown = displayName(s);
      expect(isSafeName(shown)).toBe(true);
      expect(displayName(shown)).toBe(shown);
      expect(displayText(displayText(s))).toBe(displayText(s));
      expect(displayText(s).replace(/[\n\t]/g, "")).toSatisfy(isSafeName);
    }
  });

  test("replaceUnsafe turns each run into one replacement", () => {
    expect(replaceUnsafe("a\x1b\x1b[2Jb\u202E\u200Bc")).toBe("a_[2Jb_c");
    expect(replaceUnsafe("plain name.txt")).toBe("plain name.txt");
  });
});
