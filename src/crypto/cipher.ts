/**
 * @module crypto/cipher — the one interface every crypto implementation provides.
 *
 * Grove seals chunks with ChaCha20-Poly1305 (RFC 8439, 96-bit nonce) and names them by
 * SHA-256. Two implementations stand behind this interface: `portable` (@noble, pure JS,
 * the reference) and `native` (libsodium through sodium-native, >1 GB/s). Both must give
 * byte-identical output; test/crypto runs one shared suite over both.
 */

/** An incremental SHA-256. */
export interface Sha256Stream {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

export interface CipherSuite {
  readonly name: "native" | "portable";
  /**
   * ChaCha20-Poly1305 (IETF): returns ciphertext || 16-byte tag. With `out` (at least
   * plaintext + 16 bytes) the result is written there and a view of it returned: no allocation.
   */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array, out?: Uint8Array): Uint8Array;
  /** Returns the plaintext (in `out` when given), or null when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array, out?: Uint8Array): Uint8Array | null;
  sha256(data: Uint8Array): Uint8Array;
  sha256Stream(): Sha256Stream;
}

/** The nonce of chunk `index`: the index as a 96-bit big-endian integer (docs/design.md: Data). */
export function chunkNonce(index: number): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`bad chunk index ${index}`);
  const n = new Uint8Array(12);
  const view = new DataView(n.buffer);
  view.setUint32(4, Math.floor(index / 2 ** 32));
  view.setUint32(8, index >>> 0);
  return n;
}
