/**
 * @module crypto/keys — key derivation and signatures: HKDF-SHA256 labels, Ed25519 (crypto/ed25519), X25519.
 *
 * One 256-bit root secret derives every long-lived key (docs/design.md: Identity), each under its own
 * HKDF label, so the 24-word recovery phrase brings back the same identity and master key.
 */
import { hkdfSync } from "node:crypto";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { ed25519Impl } from "./ed25519.ts";
import type { CellId } from "../core/types.ts";

const enc = new TextEncoder();

/** HKDF labels. Changing one changes every derived key: never do it. */
export const LABELS = {
  ed25519: "grove/v1/identity-ed25519",
  x25519: "grove/v1/identity-x25519",
  master: "grove/v1/master-key",
  fileKey: "grove/v1/file-key/",
  /** From the master key: the AEAD key of manifest and index backups (format 2, protocol/backup-blob). */
  backupKey: "grove/v1/backup-key",
  /** From the master key: the HMAC key that names backups on peers (protocol/backup-blob). */
  backupName: "grove/v1/backup-name",
} as const;

/** HKDF-SHA256 (RFC 5869). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array {
  // The runtime's native HKDF (about 1 µs; @noble/hashes' about 18 µs, and a file key is derived
  // per file stored); the same RFC 5869 output (test/crypto checks the two agree).
  if (nativeHkdf) return new Uint8Array(nativeHkdf("sha256", ikm, salt ?? EMPTY, info, length));
  return hkdf(sha256, ikm, salt, info, length);
}

/** HKDF-SHA256 by @noble/hashes alone: the reference the native path is checked against. */
export function hkdfSha256Noble(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array {
  return hkdf(sha256, ikm, salt, info, length);
}

const EMPTY = new Uint8Array(0);
const nativeHkdf = typeof hkdfSync === "function" ? hkdfSync : null;

export interface Identity {
  ed25519Secret: Uint8Array; // 32-byte seed
  ed25519Public: Uint8Array;
  x25519Secret: Uint8Array;
  x25519Public: Uint8Array;
  masterKey: Uint8Array;
}

/** A cell's keys as loaded from GROVE_DIR: the identity, the root secret behind it, its id and its API token. */
export interface CellKeys extends Identity {
  root: Uint8Array;
  id: CellId;
  apiToken: string;
}

/** Derive every key of a cell from its root secret. */
export function deriveIdentity(root: Uint8Array): Identity {
  if (root.byteLength !== 32) throw new Error("root secret must be 32 bytes");
  const ed25519Secret = hkdfSha256(root, undefined, enc.encode(LABELS.ed25519), 32);
  const x25519Secret = hkdfSha256(root, undefined, enc.encode(LABELS.x25519), 32);
  const masterKey = hkdfSha256(root, undefined, enc.encode(LABELS.master), 32);
  return {
    ed25519Secret,
    ed25519Public: ed25519Impl().publicKey(ed25519Secret),
    x25519Secret,
    x25519Public: x25519.getPublicKey(x25519Secret),
    masterKey,
  };
}

/** file_key = HKDF-SHA256(master key, info = label + file_hash hex) (docs/design.md: Data). */
export function deriveFileKey(masterKey: Uint8Array, fileHashHex: string): Uint8Array {
  return hkdfSha256(masterKey, undefined, enc.encode(LABELS.fileKey + fileHashHex), 32);
}

/** The two backup keys: `seal` (XChaCha20-Poly1305) and `name` (HMAC-SHA256), each HKDF-SHA256 of the master key. */
export function deriveBackupKeys(masterKey: Uint8Array): { seal: Uint8Array; name: Uint8Array } {
  return {
    seal: hkdfSha256(masterKey, undefined, enc.encode(LABELS.backupKey), 32),
    name: hkdfSha256(masterKey, undefined, enc.encode(LABELS.backupName), 32),
  };
}

export function sign(secret: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519Impl().sign(secret, message);
}

/**
 * Strict Ed25519 verification (RFC 8032, not ZIP-215): non-canonical encodings are refused, and
 * so is a small-order public key, under which an all-zero "signature" verifies for any message
 * (found testing the relay operator's proof; no real key is small-order). See crypto/ed25519.
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  return ed25519Impl().verify(signature, message, publicKey);
}

export function ed25519PublicKey(secret: Uint8Array): Uint8Array {
  return ed25519Impl().publicKey(secret);
}
