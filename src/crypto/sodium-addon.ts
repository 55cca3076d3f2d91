/**
 * @module crypto/sodium-addon — loads libsodium's prebuilt N-API addon (from sodium-native).
 *
 * Each platform's `.node` file is required with a literal path so `bun build --compile`
 * embeds it in the executable (sodium-native's own loader searches node_modules at run
 * time, which a single-file executable has not). Returns null where no addon fits.
 */

/** The raw binding calls Grove uses (sodium-native's binding.cc signatures). */
export interface SodiumBinding {
  crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | undefined,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    c: Uint8Array,
    ad: Uint8Array | undefined,
    npub: Uint8Array,
    k: Uint8Array,
  ): number;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): number;
  crypto_sign_detached(sig: Uint8Array, m: Uint8Array, sk: Uint8Array): number;
  /** Raw binding: each argument as (ArrayBuffer, byte offset, byte length). */
  crypto_sign_verify_detached(
    sig: ArrayBufferLike,
    sigOffset: number,
    sigLength: number,
    m: ArrayBufferLike,
    mOffset: number,
    mLength: number,
    pk: ArrayBufferLike,
    pkOffset: number,
    pkLength: number,
  ): boolean;
}

export function loadSodium(): SodiumBinding | null {
  try {
    switch (`${process.platform}-${process.arch}`) {
      case "linux-x64":
        return require("sodium-native/prebuilds/linux-x64/sodium-native.node");
      case "linux-arm64":
        return require("sodium-native/prebuilds/linux-arm64/sodium-native.node");
      case "darwin-arm64":
        return require("sodium-native/prebuilds/darwin-arm64/sodium-native.node");
      case "darwin-x64":
        return require("sodium-native/prebuilds/darwin-x64/sodium-native.node");
      default:
        return null;
    }
  } catch {
    return null;
  }
}

/**
 * `make(binding)` once, on first call, when the addon loads here; null (also remembered) when it
 * does not. For the native implementations built on the binding (cipher suite, Ed25519).
 */
export function onSodium<T>(make: (sodium: SodiumBinding) => T): () => T | null {
  let made: T | null | undefined;
  return () => {
    if (made === undefined) {
      const b = loadSodium();
      made = b ? make(b) : null;
    }
    return made;
  };
}
