/**
 * @module web/user-content — the headers every stored file is served with.
 *
 * A stored file is the user's (or a friend's) content, not the dashboard's: served inline from the
 * dashboard's origin, an .html or .svg file could run script with the dashboard's rights. So a file
 * is inline only when its type cannot carry script in a browser (raster images, audio, video, PDF,
 * plain text); anything else is an attachment. Every answer carries `X-Content-Type-Options:
 * nosniff` (the browser may not guess a scriptable type) and `Content-Security-Policy: sandbox`
 * (opened anyway, it runs in an opaque origin with no script). Only the dashboard's own pages may
 * frame a file (`frame-ancestors 'self'`: a PDF's preview is an <iframe> of it); no other site can.
 */
import { servedInline, typeOfName } from "../core/media-type.ts";

/** The CSP of a stored file: it loads nothing, runs no script, and only the dashboard's origin frames it. */
export const USER_CONTENT_CSP = "default-src 'none'; frame-ancestors 'self'; sandbox";

/** A Content-Disposition header for `filename` (RFC 6266: an ASCII fallback and the UTF-8 name). */
export function disposition(kind: "attachment" | "inline", filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const utf8 = encodeURIComponent(filename).replace(/['()*]/g, (ch) => "%" + ch.charCodeAt(0).toString(16).toUpperCase());
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

/** Headers for serving the stored file `filename`; `download` forces an attachment. */
export function userContentHeaders(filename: string, download = false): Record<string, string> {
  const type = typeOfName(filename);
  const inline = !download && servedInline(type);
  return {
    "Content-Type": type === "text/plain" ? "text/plain; charset=utf-8" : type,
    "Content-Disposition": disposition(inline ? "inline" : "attachment", filename),
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": USER_CONTENT_CSP,
  };
}
