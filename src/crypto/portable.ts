/** @module crypto/portable — the @noble implementation of CipherSuite: pure JS, runs everywhere, the reference. */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { CipherSuite } from "./cipher.ts";

export const portableSuite: CipherSuite = {
  name: "portable",
  seal(key, nonce, plaintext, aad, out) {
    const c = chacha20poly1305(key, nonce, aad);
    return out ? c.encrypt(plaintext, out.subarray(0, plaintext.byteLength + 16)) : c.encrypt(plaintext);
  },
  open(key, nonce, sealed, aad, out) {
    if (sealed.byteLength < 16) return null;
    try {
      const c = chacha20poly1305(key, nonce, aad);
      return out ? c.decrypt(sealed, out.subarray(0, sealed.byteLength - 16)) : c.decrypt(sealed);
    } catch {
      return null;
    }
  },
  sha256(data) {
    return sha256(data);
  },
  sha256Stream() {
    const h = sha256.create();
    return {
      update: (d) => void h.update(d),
      digest: () => h.digest(),
    };
  },
};
