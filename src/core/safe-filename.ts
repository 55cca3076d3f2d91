/**
 * @module core/safe-filename — turn a file name chosen by someone else (a friend's grant) into
 * one that is safe to create in a local folder: a single plain name that is not hidden, cannot
 * leave the folder, means the same on Linux, macOS and Windows, and fits every file system.
 */
import { replaceUnsafe } from "./unsafe-text.ts";

/**
 * Longest result, in UTF-8 bytes. File systems take 255; the rest is room for what tools add to
 * a name (`.part`, ` (1)`, the `.{name}.tmp-{hex}` temp names of older Grove builds).
 */
export const MAX_FILENAME_BYTES = 200;
/** The name used when nothing usable is left. */
export const FALLBACK_FILENAME = "shared-file";

// Path separators and the characters Windows refuses in names.
const RESERVED_CHARS = /[/\\<>:"|?*]+/g;
// Names Windows keeps for devices, with any extension ("con.txt" is the console too).
const DEVICE_NAME = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])$/i;
// Longest extension kept whole when a long name is shortened.
const MAX_EXTENSION_BYTES = 16;

const utf8Length = (s: string) => Buffer.byteLength(s, "utf8");

/** `s` cut to at most `max` UTF-8 bytes, never inside a character. */
function cutBytes(s: string, max: number): string {
  let out = "";
  let n = 0;
  for (const ch of s) {
    n += utf8Length(ch);
    if (n > max) break;
    out += ch;
  }
  return out;
}

const trimEdges = (s: string) => s.replace(/^[\s.]+/u, "").replace(/[\s.]+$/u, "");

/**
 * A safe local file name for `name`:
 * - control, bidi and invisible characters, path separators (`/`, `\`) and the characters
 *   Windows refuses (`<>:"|?*`) become `_` (a run of them one `_`);
 * - leading dots and spaces go (no hidden dotfile such as `.bashrc`, no `.` or `..`), and so
 *   do trailing dots and spaces (Windows drops them); a leading `-` becomes `_` (not an option
 *   to a command run on `*`);
 * - Windows device names (`CON`, `nul.txt`, `COM1`, …) get a `_` in front;
 * - at most MAX_FILENAME_BYTES bytes of UTF-8 (NFC), the extension kept when it is short;
 * - `fallback` when nothing is left.
 * @example safeFilename(".bashrc") // "bashrc"
 * @example safeFilename("../../x") // "_.._x"
 * @example safeFilename("evil\x1b[2J.txt") // "evil_[2J.txt"
 */
export function safeFilename(name: string, fallback = FALLBACK_FILENAME): string {
  let s = replaceUnsafe(name.normalize("NFC"), "_").replace(RESERVED_CHARS, "_");
  s = trimEdges(s).replace(/^-/, "_");
  if (DEVICE_NAME.test(s.split(".")[0]!.trimEnd())) s = `_${s}`;
  if (utf8Length(s) > MAX_FILENAME_BYTES) {
    const ext = s.lastIndexOf(".") > 0 ? s.slice(s.lastIndexOf(".")) : "";
    const keep = ext && utf8Length(ext) <= MAX_EXTENSION_BYTES ? ext : "";
    const head = trimEdges(cutBytes(s.slice(0, s.length - keep.length), MAX_FILENAME_BYTES - utf8Length(keep)));
    s = head ? head + keep : trimEdges(cutBytes(s, MAX_FILENAME_BYTES));
  }
  return s || (fallback === FALLBACK_FILENAME ? fallback : safeFilename(fallback));
}
