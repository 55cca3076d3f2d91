/**
 * @module protocol/seal — HPKE (RFC 9180) base mode sealing to a cell's X25519 key (docs/design.md: Talking between cells).
 *
 * Suite: DHKEM(X25519, HKDF-SHA256) 0x0020, HKDF-SHA256 0x0001, ChaCha20-Poly1305 0x0003, mode 0
 * (base), single-shot (one message per encapsulation), all from @hpke/* — nothing home-made.
 *
 * Sealed bytes (49 bytes of overhead):
 *   byte 0       format version, 0x01 = the suite above
 *   bytes 1..32  enc, the sender's ephemeral X25519 public key (Nenc = 32)
 *   bytes 33..   ciphertext: AEAD output, plaintext length + 16-byte tag
 * `info` names what the message is for (e.g. "grove/v1/manifest") so a message sealed for one
 * purpose does not open as another; `aad` is optional extra context that must match on open.
 */
import { CipherSuite, HkdfSha256 } from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { x25519 } from "@noble/curves/ed25519.js";
import { GroveError } from "../core/errors.ts";

export const SEAL_FORMAT = 0x01;
export const ENC_BYTES = 32;
export const TAG_BYTES = 16;
/** Bytes a sealed message adds to its plaintext. */
export const SEAL_OVERHEAD = 1 + ENC_BYTES + TAG_BYTES;
const KEY_BYTES = 32;

/** The one HPKE suite Grove uses. Exported for tests (RFC 9180 vectors). */
export const hpkeSuite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Chacha20Poly1305(),
});

/** A sealed message could not be produced or opened; `message` is one line. */
export class SealError extends GroveError {
  constructor(message: string) {
    super(message, 400, "sealed");
    this.name = "SealError";
  }
}

/** `info` and `aad` may be given as text (UTF-8) or bytes. */
export type Context = string | Uint8Array;

/** Seal `plaintext` to the holder of the X25519 secret behind `recipientPublic` (32 raw bytes). */
export async function sealTo(recipientPublic: Uint8Array, plaintext: Uint8Array, info: Context, aad?: Context): Promise<Uint8Array> {
  checkKey(recipientPublic, "recipient public key");
  const recipientPublicKey = await hpkeSuite.kem.deserializePublicKey(recipientPublic);
  let out: { ct: ArrayBuffer; enc: ArrayBuffer };
  try {
    out = await hpkeSuite.seal({ recipientPublicKey, info: bytes(info) }, plaintext, bytes(aad));
  } catch (e) {
    // DHKEM refuses a low-order public key (the shared secret would be all zero).
    throw new SealError(`cannot seal to this key: ${e instanceof Error ? e.message : String(e)}`);
  }
  return frame(new Uint8Array(out.enc), new Uint8Array(out.ct));
}

/**
 * Open a message sealed to us. Throws SealError when it is not a sealed message, or when it does
 * not open: sealed to another cell, another `info` or `aad`, or altered.
 */
export async function openSealed(
  recipientSecret: Uint8Array,
  recipientPublic: Uint8Array,
  sealed: Uint8Array,
  info: Context,
  aad?: Context,
): Promise<Uint8Array> {
  checkKey(recipientSecret, "recipient secret key");
  checkKey(recipientPublic, "recipient public key");
  if (!equalBytes(x25519.getPublicKey(recipientSecret), recipientPublic)) {
    throw new SealError("recipient public key does not belong to the secret key");
  }
  const { enc, ct } = unframe(sealed);
  const recipientKey = {
    privateKey: await hpkeSuite.kem.deserializePrivateKey(recipientSecret),
    publicKey: await hpkeSuite.kem.deserializePublicKey(recipientPublic),
  };
  try {
    return new Uint8Array(await hpkeSuite.open({ recipientKey, enc, info: bytes(info) }, ct, bytes(aad)));
  } catch {
    throw new SealError("sealed message does not open: not for this cell, wrong purpose, or altered");
  }
}

/** Frame `enc` and `ct` as sealed bytes (format byte, enc, ciphertext). */
export function frame(enc: Uint8Array, ct: Uint8Array): Uint8Array {
  if (enc.byteLength !== ENC_BYTES) throw new SealError(`enc must be ${ENC_BYTES} bytes`);
  const out = new Uint8Array(1 + ENC_BYTES + ct.byteLength);
  out[0] = SEAL_FORMAT;
  out.set(enc, 1);
  out.set(ct, 1 + ENC_BYTES);
  return out;
}

/** Split sealed bytes into `enc` and `ct`, checking the format byte and the minimum length. */
export function unframe(sealed: Uint8Array): { enc: Uint8Array; ct: Uint8Array } {
  if (!(sealed instanceof Uint8Array) || sealed.byteLength < SEAL_OVERHEAD) {
    throw new SealError(`sealed message is too short (at least ${SEAL_OVERHEAD} bytes)`);
  }
  if (sealed[0] !== SEAL_FORMAT) throw new SealError(`unknown sealed-message format ${sealed[0]}`);
  return { enc: sealed.subarray(1, 1 + ENC_BYTES), ct: sealed.subarray(1 + ENC_BYTES) };
}

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) {
    throw new SealError(`${what} must be ${KEY_BYTES} raw bytes`);
  }
}

function bytes(v: Context | undefined): Uint8Array {
  if (v === undefined) return new Uint8Array(0);
  return typeof v === "string" ? new TextEncoder().encode(v) : v;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
