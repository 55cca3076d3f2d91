/**
 * @module core/media-type — the MIME type a file's name suggests, as the dashboard serves it
 * (web/user-content) and WebDAV lists it (dav/props, getcontenttype): one answer for both.
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
