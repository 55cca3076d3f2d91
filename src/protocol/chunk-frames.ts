/**
 * @module protocol/chunk-frames — a batch of sealed chunks as one body: frames of name (32 raw
 * bytes) ‖ length (u32 big-endian) ‖ sealed chunk (docs/protocol.md: POST /peer/sync/chunks, and
 * the answer of POST /peer/tree/chunks). Each chunk is checked against its name when read.
 */
import { GroveError } from "../core/errors.ts";

/**
 * A batch of sealed chunks (POST /peer/sync/chunks, or an answer of POST /peer/tree/chunks): at most this many chunks, and a body of at
 * most this many bytes (frames included), so that it fits a relay frame as one chunk does.
 */
export const MAX_BATCH_CHUNKS = 256;
export const MAX_CHUNK_BATCH_BODY = 4 * 1024 * 1024;
/** Chunks up to this size go in batches; larger ones alone (PUT /peer/sync/chunks/:hash). */
export const BATCH_CHUNK_MAX = 512 * 1024;
export const CHUNK_FRAME_HEAD = 32 + 4;

/** POST /peer/sync/chunks body: frames of name (32 raw bytes) ‖ length (u32 big-endian) ‖ sealed chunk. */
export function encodeChunkBatch(chunks: readonly { hash: string; bytes: Uint8Array }[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + CHUNK_FRAME_HEAD + c.bytes.byteLength, 0));
  const view = new DataView(out.buffer);
  let o = 0;
  for (const c of chunks) {
    out.set(Buffer.from(c.hash, "hex"), o);
    view.setUint32(o + 32, c.bytes.byteLength);
    out.set(c.bytes, o + CHUNK_FRAME_HEAD);
    o += CHUNK_FRAME_HEAD + c.bytes.byteLength;
  }
  return out;
}

/**
 * Parse a chunk batch, each chunk checked against its name (SHA-256 of its sealed bytes): a
 * malformed batch (truncated, too many, a chunk shorter than its tag, altered bytes) is a 400,
 * and nothing of it is kept.
 */
export function decodeChunkBatch(
  body: Uint8Array,
  sha256Hex: (b: Uint8Array) => string,
  minBytes: number,
): { hash: string; bytes: Uint8Array }[] {
  const bad = (why: string) => new GroveError(`bad chunk batch: ${why}`, 400, "bad_request");
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: { hash: string; bytes: Uint8Array }[] = [];
  let o = 0;
  while (o < body.byteLength) {
    if (out.length >= MAX_BATCH_CHUNKS) throw bad(`more than ${MAX_BATCH_CHUNKS} chunks`);
    if (o + CHUNK_FRAME_HEAD > body.byteLength) throw bad(`truncated frame header at byte ${o}`);
    const len = view.getUint32(o + 32);
    if (len < minBytes) throw bad(`a sealed chunk has at least ${minBytes} bytes (frame at byte ${o})`);
    if (o + CHUNK_FRAME_HEAD + len > body.byteLength) throw bad(`frame at byte ${o} runs past the end`);
    const hash = Buffer.from(body.subarray(o, o + 32)).toString("hex");
    const bytes = body.subarray(o + CHUNK_FRAME_HEAD, o + CHUNK_FRAME_HEAD + len);
    if (sha256Hex(bytes) !== hash) throw bad(`chunk ${hash.slice(0, 12)} does not match its name (truncated or altered)`);
    out.push({ hash, bytes });
    o += CHUNK_FRAME_HEAD + len;
  }
  if (!out.length) throw bad("no chunks");
  return out;
}
