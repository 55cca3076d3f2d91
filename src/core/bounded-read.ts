/**
 * @module core/bounded-read — read a byte stream whole, but never more than a limit: the reading
 * stops (and the stream is cancelled) at the first byte past it, so a sender that lies about its
 * length, or never stops, costs at most the limit in memory.
 */

/** The stream's bytes, or null when it held more than `max` (nothing past max + one piece was read). */
export async function readAtMost(stream: ReadableStream<Uint8Array> | null | undefined, max: number): Promise<Uint8Array | null> {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      n += r.value.byteLength;
      if (n > max) {
        void reader.cancel().catch(() => {});
        return null;
      }
      parts.push(r.value);
    }
  } finally {
    reader.releaseLock();
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
