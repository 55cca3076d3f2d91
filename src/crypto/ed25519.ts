/**
 * @module crypto/ed25519 — Ed25519 signing and strict verification, with two implementations
 * that give byte-identical signatures: libsodium (native, where its addon loads) and
 * @noble/curves (portable reference). Every peer call is signed and its answer verified, so this
 * runs several times per chunk transfer; libsodium signs about 15x and verifies about 8x faster (bench/crypto.ts).
 *
 * Strict means RFC 8032, not ZIP-215: non-canonical encodings (S >= L, a public key whose y is
 * not reduced) and small-order public keys are refused, by both. libsodium also refuses a
 * small-order R, which no honest signer produces.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { onSodium, type SodiumBinding } from "./sodium-addon.ts";

export interface Ed25519 {
  readonly name: "native" | "portable";
  /** The public key of a 32-byte secret seed. */
  publicKey(seed: Uint8Array): Uint8Array;
  sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /** False for any malformed input (wrong lengths included), never a throw. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

export const portableEd25519: Ed25519 = {
  name: "portable",
  publicKey: (seed) => ed25519.getPublicKey(seed),
  sign: (seed, message) => ed25519.sign(message, seed),
  verify(signature, message, publicKey) {
    try {
      if (ed25519.Point.fromBytes(publicKey).isSmallOrder()) return false;
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};

/** libsodium's Ed25519 on a loaded binding. Expanded secret keys are cached per seed object. */
export function nativeEd25519(sodium: SodiumBinding): Ed25519 {
  const expanded = new WeakMap<Uint8Array, { pk: Uint8Array; sk: Uint8Array }>();
  const keypair = (seed: Uint8Array) => {
    let kp = expanded.get(seed);
    if (!kp) {
      if (seed.byteLength !== 32) throw new Error("an Ed25519 secret seed is 32 bytes");
      kp = { pk: new Uint8Array(32), sk: new Uint8Array(64) };
      if (sodium.crypto_sign_seed_keypair(kp.pk, kp.sk, seed) !== 0) throw new Error("ed25519 key expansion failed");
      // Keyed by the seed object (a cell's key lives as long as the process; seeds are never changed in place).
      expanded.set(seed, kp);
    }
    return kp;
  };
  return {
    name: "native",
    publicKey: (seed) => keypair(seed).pk.slice(),
    sign(seed, message) {
      const sig = new Uint8Array(64);
      if (sodium.crypto_sign_detached(sig, message, keypair(seed).sk) !== 0) throw new Error("ed25519 signing failed");
      return sig;
    },
    verify(signature, message, publicKey) {
      if (signature.byteLength !== 64 || publicKey.byteLength !== 32) return false;
      return sodium.crypto_sign_verify_detached(
        signature.buffer,
        signature.byteOffset,
        signature.byteLength,
        message.buffer,
        message.byteOffset,
        message.byteLength,
        publicKey.buffer,
        publicKey.byteOffset,
        publicKey.byteLength,
      );
    },
  };
}

/** The native implementation, or null when libsodium's addon cannot load on this platform. */
export const nativeEd25519IfAvailable: () => Ed25519 | null = onSodium(nativeEd25519);

let chosen: Ed25519 | undefined;

/**
 * Pick this process's implementation, like crypto/index's selectSuite: GROVE_CRYPTO overrides
 * `choice`; "auto" is native where it loads; "native" where it cannot load throws.
 */
export function chooseEd25519(choice: "auto" | "native" | "portable" = "auto"): Ed25519 {
  const env = process.env.GROVE_CRYPTO;
  const want = env === "native" || env === "portable" ? env : choice;
  const n = want === "portable" ? null : nativeEd25519IfAvailable();
  if (want === "native" && !n) throw new Error(`native Ed25519 is not available on ${process.platform}-${process.arch}`);
  chosen = n ?? portableEd25519;
  return chosen;
}

/** This process's implementation (chooseEd25519("auto") until a cell's config picks one). */
export function ed25519Impl(): Ed25519 {
  return chosen ?? chooseEd25519();
}
