/**
 * @module ingest/home-path — turns a user-supplied file path into a safe path inside GROVE_HOME.
 *
 * Refused (400): empty, absolute, `.` or `..` segments, empty segments, NUL or other control
 * characters, backslashes, a segment over 255 bytes, a path over 1024 bytes, and names that
 * Grove reserves for its temp files. Accepted paths are relative, "/"-separated, normalised.
 */
import { join } from "node:path";
import { badRequest } from "../core/errors.ts";
import type { Brand } from "../core/types.ts";

/** A path checked by `safePath`: relative to GROVE_HOME, no traversal. */
export type HomePath = Brand<string, "HomePath">;

export const MAX_PATH_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;
export const UPLOAD_TEMP_MARK = ".grove-upload-";

const enc = new TextEncoder();

/** Validate `raw` (already URL-decoded). Throws a 400 GroveError naming the problem. */
export function safePath(raw: string): HomePath {
  if (typeof raw !== "string" || raw.length === 0) throw badRequest("path is empty");
  if (raw.includes("\0")) throw badRequest("path contains a NUL byte");
  if (/[\x00-\x1f\x7f]/.test(raw)) throw badRequest("path contains a control character");
  if (raw.includes("\\")) throw badRequest("path contains a backslash");
  if (raw.startsWith("/") || /^[A-Za-z]:/.test(raw)) throw badRequest("path must be relative to GROVE_HOME, not absolute");
  const trimmed = raw.endsWith("/") ? raw.slice(0, -1) : raw;
  if (enc.encode(trimmed).byteLength > MAX_PATH_BYTES) throw badRequest(`path is longer than ${MAX_PATH_BYTES} bytes`);
  const segs = trimmed.split("/");
  for (const s of segs) {
    if (s === "") throw badRequest("path contains an empty segment ('//')");
    if (s === "." || s === "..") throw badRequest(`path contains a '${s}' segment`);
    if (enc.encode(s).byteLength > MAX_SEGMENT_BYTES) throw badRequest(`a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
    if (s.startsWith(UPLOAD_TEMP_MARK)) throw badRequest(`names starting with '${UPLOAD_TEMP_MARK}' are reserved`);
  }
  return segs.join("/") as HomePath;
}

/** Validate an optional directory prefix ("" = the root of GROVE_HOME). */
export function safeDir(raw: string | undefined): string {
  if (!raw || raw === "/" || raw === ".") return "";
  return safePath(raw.replace(/^\/+/, ""));
}

/** Absolute location of `p` in GROVE_HOME. */
export function homeFile(home: string, p: HomePath): string {
  return join(home, ...p.split("/"));
}
