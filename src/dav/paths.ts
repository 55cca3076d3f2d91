/**
 * @module dav/paths — where a WebDAV request points: the URL path under the mount (`/dav/`) ↔ a
 * path of the tree ("" = the root; otherwise what ingest/home-path accepts), the hrefs answers
 * carry, the Destination header of COPY and MOVE, and the names macOS writes beside files.
 */
import { badRequest } from "../core/errors.ts";
import { safePath } from "../ingest/home-path.ts";

/** A request's resource: its tree path and whether the URL ended in "/" (a collection was meant). */
export interface Target {
  path: string;
  slash: boolean;
}

function decodeSegment(s: string): string {
  let d: string;
  try {
    d = decodeURIComponent(s);
  } catch {
    throw badRequest("the path is not valid percent-encoding");
  }
  if (d.includes("/")) throw badRequest("a name may not contain '/' (%2F)");
  return d;
}

/**
 * The tree path of a URL path (still percent-encoded) under `base`. 400 for what the tree refuses.
 *
 * @example targetOf("/dav/Photos/a%20b.jpg", "/dav") // { path: "Photos/a b.jpg", slash: false }
 */
export function targetOf(pathname: string, base: string): Target {
  if (pathname !== base && !pathname.startsWith(base + "/")) throw badRequest(`not under ${base}/`);
  const rest = pathname.slice(base.length + 1);
  if (rest === "") return { path: "", slash: true };
  const slash = rest.endsWith("/");
  const segs = (slash ? rest.slice(0, -1) : rest).split("/").map(decodeSegment);
  return { path: safePath(segs.join("/")), slash };
}

/** A URL path segment: percent-encoded UTF-8, nothing but unreserved characters left bare. */
function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (ch) => "%" + ch.charCodeAt(0).toString(16).toUpperCase());
}

/**
 * The href of a tree path under `base`; a folder's ends in "/".
 *
 * @example hrefOf("/dav", "Photos/a b.jpg", false) // "/dav/Photos/a%20b.jpg"
 */
export function hrefOf(base: string, path: string, folder: boolean): string {
  if (!path) return base + "/";
  return `${base}/${path.split("/").map(encodeSegment).join("/")}${folder ? "/" : ""}`;
}

/** The folder holding `path` ("" for a top-level name). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/** The last segment of `path`. */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** True when `path` is `dir` or inside it ("" holds everything). */
export function within(path: string, dir: string): boolean {
  return dir === "" || path === dir || path.startsWith(dir + "/");
}

/** `path` (inside `from`) moved to the same place under `to`. */
export function rebase(path: string, from: string, to: string): string {
  return path === from ? to : to + path.slice(from.length);
}

/**
 * The Destination of a COPY or MOVE (RFC 4918 section 10.3: an absolute URI, or an absolute path),
 * resolved against the request's URL. null when it names another server (answered 502).
 */
export function destinationOf(header: string | undefined, requestUrl: URL, base: string): Target | null {
  if (!header) throw badRequest("COPY and MOVE need a Destination header");
  let u: URL;
  try {
    u = new URL(header.trim(), requestUrl);
  } catch {
    throw badRequest("the Destination header is not a URL");
  }
  if (u.host.toLowerCase() !== requestUrl.host.toLowerCase()) return null;
  if (u.pathname !== base && !u.pathname.startsWith(base + "/")) return null;
  return targetOf(u.pathname, base);
}

/**
 * Names macOS writes beside a user's files on a network volume: `._name` (AppleDouble: extended
 * attributes and resource forks) and `.DS_Store` (Finder's window layout). They are accepted and
 * not stored (docs/design.md, "WebDAV"): they would reach every cell of the tree and its history.
 */
export function isMacMetadata(path: string): boolean {
  const name = nameOf(path);
  return name.startsWith("._") || name === ".DS_Store";
}
