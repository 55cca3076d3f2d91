/**
 * @module core/stream-head — the first bytes of a stream, as text for a preview: read up to a
 * limit, then the stream is cancelled (no more chunks are fetched or unsealed).
 */

/** The first `max` bytes of a stream (then it is cancelled: no more chunks are fetched). */
export async function readHead(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < max) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
      n += r.value.byteLength;
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
  return Buffer.concat(parts).subarray(0, max);
}

/** The first `max` bytes of a stream as UTF-8 text; a character cut in half at the end is left out. */
export async function readTextHead(body: ReadableStream<Uint8Array>, max: number): Promise<string> {
  return new TextDecoder("utf-8").decode(await readHead(body, max), { stream: true });
}
