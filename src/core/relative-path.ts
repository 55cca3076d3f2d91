/**
 * @module core/relative-path — the one rule for a relative, "/"-separated file path (GROVE_HOME
 * paths, a manifest's `source_path`, a backup index's paths): not empty, not absolute, no `.`,
 * `..` or empty segments, no control characters (NUL included), no backslash, at most 255 bytes
 * per segment and 1024 bytes in all (UTF-8). Pure: ingest/home-path adds its reserved names, and
 * store/manifest checks manifests with it without depending on ingest.
 */

/** Longest path, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 1024;
/** Longest segment (file or folder name), in UTF-8 bytes: what common file systems allow. */
export const MAX_SEGMENT_BYTES = 255;

const enc = new TextEncoder();

/** `s`'s length in UTF-8 bytes is over `max`. A UTF-16 code unit is at most 3 UTF-8 bytes, so most names need no encoding (a watcher checks every file's path). */
function overBytes(s: string, max: number): boolean {
  return s.length * 3 > max && enc.encode(s).byteLength > max;
}

/**
 * What is wrong with `p` as a normalised relative path, in one line, or null when nothing is.
 * A trailing "/" counts as an empty segment (callers that accept one strip it first).
 *
 * @example relativePathProblem("a/../b") // "path contains a '..' segment"
 */
export function relativePathProblem(p: unknown): string | null {
  if (typeof p !== "string" || p.length === 0) return "path is empty";
  if (p.includes("\0")) return "path contains a NUL byte";
  if (/[\x00-\x1f\x7f]/.test(p)) return "path contains a control character";
  if (p.includes("\\")) return "path contains a backslash";
  if (p.startsWith("/") || /^[A-Za-z]:/.test(p)) return "path must be relative to GROVE_HOME, not absolute";
  if (overBytes(p, MAX_PATH_BYTES)) return `path is longer than ${MAX_PATH_BYTES} bytes`;
  for (const s of p.split("/")) {
    if (s === "") return "path contains an empty segment ('//')";
    if (s === "." || s === "..") return `path contains a '${s}' segment`;
    if (overBytes(s, MAX_SEGMENT_BYTES)) return `a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return null;
}

/** True when `p` is a normalised relative path (see relativePathProblem). */
export function isRelativePath(p: unknown): p is string {
  return relativePathProblem(p) === null;
}
