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

export function sealChunk(suite: CipherSuite, key: Uint8Array, index: number, plain: Uint8Array): SealedChunk {
  const sealed = suite.seal(key, chunkNonce(index), plain);
  return { sealed, hash: toHex(suite.sha256(sealed)) };
}

export function openChunk(suite: CipherSuite, key: Uint8Array, index: number, sealed: Uint8Array, expectedHash: string): OpenResult {
  const actual = toHex(suite.sha256(sealed));
  if (actual !== expectedHash) return { ok: false, reason: `content does not match its name (SHA-256 ${actual.slice(0, 12)}…)` };
  const plain = suite.open(key, chunkNonce(index), sealed);
  if (!plain) return { ok: false, reason: "authentication tag does not verify" };
  return { ok: true, plain };
}
