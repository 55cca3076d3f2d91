/**
 * @module ingest/chunk-crypto — seal and open one chunk (the per-chunk step of ingest and restore).
 *
 * seal: plaintext chunk i -> ChaCha20-Poly1305 under the file key, nonce i -> name = SHA-256.
 * open: check the name against SHA-256 of the bytes, then the Poly1305 tag; any mismatch is
 * reported, never returned as bytes. Runs on the main thread or inside a crypto worker.
 */
import { chunkNonce, type CipherSuite } from "../crypto/index.ts";
import { toHex } from "../core/types.ts";

export interface SealedChunk {
  sealed: Uint8Array;
  hash: string;
}

export type OpenResult = { ok: true; plain: Uint8Array } | { ok: false; reason: string };

/** Seal chunk `index`; with `out` (>= plain + 16 bytes) the sealed bytes are written there. */
export function sealChunk(suite: CipherSuite, key: Uint8Array, index: number, plain: Uint8Array, out?: Uint8Array): SealedChunk {
  const sealed = inOut(suite.seal(key, chunkNonce(index), plain, undefined, out), out);
  return { sealed, hash: toHex(suite.sha256(sealed)) };
}

/** Verify and open chunk `index`; with `out` (>= sealed - 16 bytes) the plaintext is written there. */
export function openChunk(
  suite: CipherSuite,
  key: Uint8Array,
  index: number,
  sealed: Uint8Array,
  expectedHash: string,
  out?: Uint8Array,
): OpenResult {
  const actual = toHex(suite.sha256(sealed));
  if (actual !== expectedHash) return { ok: false, reason: `content does not match its name (SHA-256 ${actual.slice(0, 12)}…)` };
  const plain = suite.open(key, chunkNonce(index), sealed, undefined, out);
  if (!plain) return { ok: false, reason: "authentication tag does not verify" };
  return { ok: true, plain: inOut(plain, out) };
}

/** The result as a view of `out` (copied there if an implementation returned its own array). */
function inOut(result: Uint8Array, out: Uint8Array | undefined): Uint8Array {
  if (!out || (result.buffer === out.buffer && result.byteOffset === out.byteOffset)) return result;
  out.set(result);
  return out.subarray(0, result.byteLength);
}
