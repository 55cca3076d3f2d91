/**
 * @module core/bounded-read — read a byte stream whole, but never more than a limit: the reading
 * stops (and the stream is cancelled) at the first byte past it, so a sender that lies about its
 * length, or never stops, costs at most the limit in memory.
 */
import { releasePiece } from "./piece-release.ts";

/**
 * The stream's bytes, or null when it held more than `max` (nothing past max + one piece was read).
 * With `into`, the bytes are copied into it as they come while they fit (a view of it is
 * returned): a reused buffer, whose pages are already in memory, instead of a new one per body,
 * which costs a page fault per 4 KiB and leaves garbage the collector frees late. With
 * `release` (a stream whose pieces no one else holds: core/piece-release), each piece copied into
 * `into` is freed at once.
 */
export async function readAtMost(
  stream: ReadableStream<Uint8Array> | null | undefined,
  max: number,
  into?: Uint8Array,
  release = false,
): Promise<Uint8Array | null> {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  let inInto = into !== undefined; // still filling `into`
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      const piece = r.value;
      if (n + piece.byteLength > max) {
        void reader.cancel().catch(() => {});
        return null;
      }
      const size = piece.byteLength; // a released piece reads as empty
      if (inInto && n + size <= into!.byteLength) {
        into!.set(piece, n);
        if (release) releasePiece(piece);
      } else {
        if (inInto) {
          parts.push(into!.slice(0, n)); // it outgrew the buffer: on as without one
          inInto = false;
        }
        parts.push(piece);
      }
      n += size;
    }
  } finally {
    reader.releaseLock();
  }
  if (inInto) return into!.subarray(0, n);
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
