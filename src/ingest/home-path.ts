/**
 * @module ingest/home-path — turns a user-supplied file path into a safe path inside GROVE_HOME.
 *
 * Refused (400): what core/relative-path refuses (empty, absolute, `.` or `..` segments, empty
 * segments, NUL or other control characters, backslashes, a segment over 255 bytes, a path over
 * 1024 bytes), and names that Grove reserves for its temp files (`.grove-upload-…`,
 * `.grove-tmp-…`). Accepted paths are relative, "/"-separated, normalised.
 */
import { badRequest } from "../core/errors.ts";
import { confinedPath } from "../core/confine.ts";
import { TEMP_MARK } from "../core/atomic.ts";
import { relativePathProblem } from "../core/relative-path.ts";
import type { Brand } from "../core/types.ts";

export { MAX_PATH_BYTES, MAX_SEGMENT_BYTES } from "../core/relative-path.ts";

/** A path checked by `safePath`: relative to GROVE_HOME, no traversal. */
export type HomePath = Brand<string, "HomePath">;

export const UPLOAD_TEMP_MARK = ".grove-upload-";
/** Name prefixes of Grove's own temp files: never a user's file. */
const RESERVED = [UPLOAD_TEMP_MARK, TEMP_MARK];

/** Validate `raw` (already URL-decoded). Throws a 400 GroveError naming the problem. */
export function safePath(raw: string): HomePath {
  if (typeof raw !== "string" || raw.length === 0) throw badRequest("path is empty");
  // A trailing "/" is allowed (a folder typed as such); "/" alone is refused as absolute.
  const trimmed = raw.endsWith("/") && raw !== "/" ? raw.slice(0, -1) : raw;
  const problem = relativePathProblem(trimmed);
  if (problem) throw badRequest(problem);
  const segs = trimmed.split("/");
  for (const s of segs) {
    const mark = RESERVED.find((m) => s.startsWith(m));
    if (mark) throw badRequest(`names starting with '${mark}' are reserved`);
  }
  return trimmed as HomePath;
}

/** Validate an optional directory prefix ("" = the root of GROVE_HOME). */
export function safeDir(raw: string | undefined): string {
  if (!raw || raw === "/" || raw === ".") return "";
  return safePath(raw.replace(/^\/+/, ""));
}

/** Absolute location of `p` in GROVE_HOME (confined to it: a 400 if it would lead outside). */
export function homeFile(home: string, p: HomePath): string {
  return confinedPath(home, p);
}
