/** @module crypto/native — the fast CipherSuite: libsodium ChaCha20-Poly1305 + Bun's native SHA-256. */
import type { CipherSuite } from "./cipher.ts";
import type { SodiumBinding } from "./sodium-addon.ts";

/** Build the native suite on a loaded binding. */
export function nativeSuite(sodium: SodiumBinding): CipherSuite {
  return {
    name: "native",
    seal(key, nonce, plaintext, aad, into) {
      const out = into ? into.subarray(0, plaintext.byteLength + 16) : new Uint8Array(plaintext.byteLength + 16);
      const r = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, aad, nonce, key);
      if (r < 0) throw new Error("chacha20-poly1305 seal failed");
      return out;
    },
    open(key, nonce, sealed, aad, into) {
      if (sealed.byteLength < 16) return null;
      const out = into ? into.subarray(0, sealed.byteLength - 16) : new Uint8Array(sealed.byteLength - 16);
      const r = sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, sealed, aad, nonce, key);
      return r < 0 ? null : out;
    },
    sha256(data) {
      const h = new Bun.CryptoHasher("sha256");
      h.update(data);
      return new Uint8Array(h.digest().buffer);
    },
    sha256Stream() {
      const h = new Bun.CryptoHasher("sha256");
      return {
        update: (d) => void h.update(d),
        digest: () => new Uint8Array(h.digest().buffer),
      };
    },
  };
}
