/**
 * @module core/unsafe-text — characters that must not reach a terminal or a log raw: control
 * characters (C0, DEL, C1: terminal escapes, fake log lines), bidi embeddings, overrides,
 * isolates and marks (text shown in another order than stored), and other invisible characters
 * (zero-width spaces, BOM, word joiners, tag characters, Hangul fillers: names that look alike
 * or blank). Zero-width joiner and non-joiner (U+200D, U+200C) stay allowed: emoji sequences
 * and Persian and Indic scripts need them, and they cannot reorder or hide text.
 *
 * Names (cell names, shared file names) with any of them are refused where they enter
 * (protocol/card, protocol/grant, config); anything printed from another cell goes through
 * `displayName` or `displayText` (cli, core/log).
 */

// Cc: C0, DEL, C1. Cf: format characters (bidi controls and marks, ZW*, BOM, tags, …).
// Zl/Zp: U+2028/2029 (line breaks to some readers). Cs: lone surrogates. The Hangul fillers are
// letters that render as nothing.
const UNSAFE_SOURCE = "(?![\\u200c\\u200d])[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}\\u115f\\u1160\\u3164\\uffa0]";
const UNSAFE = new RegExp(UNSAFE_SOURCE, "u");
const UNSAFE_ALL = new RegExp(UNSAFE_SOURCE, "gu");
const UNSAFE_RUNS = new RegExp(`(?:${UNSAFE_SOURCE})+`, "gu");
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const CONTROL = /\p{Cc}/u;

/** "U+001B" for a character. */
export function codePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The first character of `s` that a name may not hold, with its index (UTF-16), or null. */
export function firstUnsafeChar(s: string): { char: string; index: number } | null {
  const m = UNSAFE.exec(s);
  return m ? { char: m[0], index: m.index } : null;
}

/** True when `s` holds no control, bidi or invisible formatting character. */
export function isSafeName(s: string): boolean {
  return !UNSAFE.test(s);
}

/**
 * Why `s` is not a safe name (one line, without the character itself), or null when it is.
 * @example unsafeNameProblem("a\x1b[2J") // "contains a control character (U+001B) at position 2: …"
 */
export function unsafeNameProblem(s: string): string | null {
  const bad = firstUnsafeChar(s);
  if (!bad) return null;
  const kind = CONTROL.test(bad.char)
    ? "a control character"
    : BIDI.test(bad.char)
      ? "a bidi control"
      : "an invisible formatting character";
  return `contains ${kind} (${codePoint(bad.char)}) at position ${bad.index + 1}: names may not hold control, bidi or invisible characters (they rewrite terminals and logs, or disguise a name)`;
}

/** `s` with each run of unsafe characters replaced by `by` (for names this cell makes itself). */
export function replaceUnsafe(s: string, by = "_"): string {
  return s.replace(UNSAFE_RUNS, by);
}

function escape(ch: string): string {
  const cp = ch.codePointAt(0)!;
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\u{${cp.toString(16)}}`;
}

/**
 * A name from elsewhere, safe to print on one line: every unsafe character (newline and tab
 * included) shown as a visible escape. Printable text is unchanged, so it is idempotent.
 * @example displayName("evil\x1b[2J") // "evil\\x1b[2J"
 */
export function displayName(s: string): string {
  return s.replace(UNSAFE_ALL, escape);
}

/**
 * A text from elsewhere (a message, an answer, an error), safe to print: like `displayName`,
 * but newlines and tabs are kept.
 * @example displayText("hi\nthere\u202e") // "hi\nthere\\u202e"
 */
export function displayText(s: string): string {
  return s.replace(UNSAFE_ALL, (ch) => (ch === "\n" || ch === "\t" ? ch : escape(ch)));
}
