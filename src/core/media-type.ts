/**
 * @module core/media-type — the MIME type a file's name suggests, as the dashboard serves it
 * (web/user-content) and WebDAV lists it (dav/props, getcontenttype), and which types are safe to
 * show inline (the answer's headers and the pages' previews): one answer for all.
 */

/**
 * Bun's older "x-" names for some audio and video types, and the registered names browsers play
 * (so a .wav, .flac or .m4a gets its <audio> preview and is served inline like an .mp3).
 */
const REGISTERED: Record<string, string> = {
  "audio/x-wav": "audio/wav",
  "audio/wave": "audio/wav",
  "audio/x-flac": "audio/flac",
  "audio/x-m4a": "audio/mp4",
  "audio/x-aac": "audio/aac",
  "video/x-m4v": "video/mp4",
};

/** The MIME type a name's extension suggests, without parameters, under its registered name. */
export function typeOfName(filename: string): string {
  const type = (Bun.file(filename).type || "application/octet-stream").split(";")[0]!.trim().toLowerCase();
  return REGISTERED[type] ?? type;
}

/** Types shown inline. Not SVG, HTML, XML or any script type. */
const INLINE = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
  "image/bmp",
  "audio/mpeg",
  "audio/ogg",
  "audio/wav",
  "audio/webm",
  "audio/flac",
  "audio/mp4",
  "audio/aac",
  "video/mp4",
  "video/webm",
  "video/ogg",
  "video/quicktime",
  "application/pdf",
  "text/plain",
]);

/** True when a stored file of `type` is served inline (and so may be previewed in a page). */
export function servedInline(type: string): boolean {
  return INLINE.has(type);
}
