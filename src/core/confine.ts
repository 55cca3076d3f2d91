/**
 * @module core/confine — keep a path that came from data (a manifest's `source_path`, a
 * `manifest_file` row, a backup, a grant) inside the folder it belongs to. The check is on the
 * resolved path, so `a/../../x`, an absolute `rel` or one that resolves to the folder itself are
 * refused whatever checked them before. Symbolic links are not followed: a link the user put
 * inside the folder is theirs to make.
 */
import { resolve, sep } from "node:path";
import { badRequest } from "./errors.ts";

/**
 * `rel` resolved against `root`, when it names something strictly inside `root`; else a 400
 * GroveError. The message names `rel` (it came from data) but never `root` (a server path).
 *
 * @example confinedPath("/srv/grove/manifests", "docs/a.txt.1234abcd.json") // "/srv/grove/manifests/docs/a.txt.1234abcd.json"
 * @example confinedPath("/srv/grove/manifests", "../../.config/x")        // throws 400
 */
export function confinedPath(root: string, rel: string): string {
  if (typeof rel !== "string" || rel.length === 0) throw badRequest("refusing an empty path");
  if (rel.includes("\0")) throw badRequest("refusing a path that contains a NUL byte");
  const base = resolve(root);
  const full = resolve(base, rel);
  if (full === base || !full.startsWith(base.endsWith(sep) ? base : base + sep)) {
    throw badRequest(`refusing path '${printable(rel)}': it leads outside the folder it belongs in`);
  }
  return full;
}

/** `rel` for a one-line message: control characters shown as \\uXXXX, at most 200 characters. */
function printable(rel: string): string {
  const shown = rel.replace(/[\x00-\x1f\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return shown.length > 200 ? shown.slice(0, 200) + "…" : shown;
}
