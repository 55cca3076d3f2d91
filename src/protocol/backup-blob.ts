/**
 * @module protocol/backup-blob — the manifest and index backups a cell keeps on its peers
 * (docs/protocol.md, Sync, "Backups"), format 2, and the names peers keep them under:
 *
 *   blob = 0x02 ‖ nonce (24 random bytes) ‖ XChaCha20-Poly1305(seal key, nonce, plaintext, aad)
 *   aad  = UTF-8 of "grove/v2/backup" \n owner id \n kind \n subject
 *   name = hex HMAC-SHA256(name key, kind \n subject-of-the-name)
 *
 * kind is "manifest" or "index"; the subject of a manifest backup is its manifest hash (in the
 * aad and in the name), the index has none in the aad ("") and its content digest in the name.
 * Both keys are HKDF-SHA256 of the master key (crypto/keys deriveBackupKeys): only the owner
 * (whoever has its 24 words) can make a blob that opens, or compute a name. A blob stored under
 * another name, for another kind, owner or manifest, does not open. Format 1 (HPKE base mode to
 * the owner's public X25519 key, byte 0x01 first) proved nothing about who made it: refused.
 */
import { createHmac } from "node:crypto";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { GroveError } from "../core/errors.ts";
import type { CellId } from "../core/types.ts";
import { deriveBackupKeys } from "../crypto/keys.ts";
import { BACKUP_AAD } from "./labels.ts";

/** First byte of a format-2 blob. */
export const BACKUP_FORMAT = 0x02;
/** First byte of a format-1 blob (protocol/seal's HPKE frame): refused when restoring. */
export const LEGACY_BACKUP_FORMAT = 0x01;
export const BACKUP_NONCE_BYTES = 24;
const TAG_BYTES = 16;
/** Bytes a blob adds to its plaintext. */
export const BACKUP_OVERHEAD = 1 + BACKUP_NONCE_BYTES + TAG_BYTES;

export type BackupKind = "manifest" | "index";

/** One cell's backup keys (derive once with `backupKeys`). */
export interface BackupKeys {
  owner: CellId;
  /** XChaCha20-Poly1305 key. */
  seal: Uint8Array;
  /** HMAC-SHA256 key for names. */
  name: Uint8Array;
}

/** A backup that failed a check: not made by its owner, for this name, kind or manifest (or not readable). */
export class BackupRefusedError extends GroveError {
  constructor(why: string) {
    super(`backup failed its authenticity check: ${why}`, 400, "backup_refused");
    this.name = "BackupRefusedError";
  }
}

const enc = new TextEncoder();

export function backupKeys(owner: CellId, masterKey: Uint8Array): BackupKeys {
  return { owner, ...deriveBackupKeys(masterKey) };
}

/**
 * The name a backup is kept under on peers: 64 hex, which a peer cannot link to a manifest and a
 * stranger cannot compute. `subject`: the manifest hash, or the index's content digest.
 *
 * @example backupName(keys, "manifest", manifestHash) // "3f9c…" (64 hex)
 */
export function backupName(k: BackupKeys, kind: BackupKind, subject: string): string {
  return createHmac("sha256", k.name).update(`${kind}\n${subject}`).digest("hex");
}

function aad(k: BackupKeys, kind: BackupKind, subject: string): Uint8Array {
  return enc.encode(`${BACKUP_AAD}\n${k.owner}\n${kind}\n${subject}`);
}

/**
 * Seal `plaintext` as a backup of `kind` about `subject` (the manifest hash; "" for the index).
 * A fresh random nonce each time (24 bytes: random nonces never repeat in practice).
 */
export function sealBackup(k: BackupKeys, kind: BackupKind, subject: string, plaintext: Uint8Array): Uint8Array {
  const nonce = crypto.getRandomValues(new Uint8Array(BACKUP_NONCE_BYTES));
  const ct = xchacha20poly1305(k.seal, nonce, aad(k, kind, subject)).encrypt(plaintext);
  const out = new Uint8Array(1 + BACKUP_NONCE_BYTES + ct.byteLength);
  out[0] = BACKUP_FORMAT;
  out.set(nonce, 1);
  out.set(ct, 1 + BACKUP_NONCE_BYTES);
  return out;
}

/** Open a backup of `kind` about `subject`; throws BackupRefusedError unless it is exactly that, made with our key. */
export function openBackup(k: BackupKeys, kind: BackupKind, subject: string, blob: Uint8Array): Uint8Array {
  if (blob.byteLength === 0) throw new BackupRefusedError("the blob is empty");
  if (blob[0] === LEGACY_BACKUP_FORMAT) {
    throw new BackupRefusedError("it is in the old format 1, sealed to the cell's public key, which anyone holding its card can do");
  }
  if (blob[0] !== BACKUP_FORMAT) throw new BackupRefusedError(`unknown backup format ${blob[0]}`);
  if (blob.byteLength < BACKUP_OVERHEAD) throw new BackupRefusedError(`${blob.byteLength} bytes is too short for a backup`);
  const nonce = blob.subarray(1, 1 + BACKUP_NONCE_BYTES);
  try {
    return xchacha20poly1305(k.seal, nonce, aad(k, kind, subject)).decrypt(blob.subarray(1 + BACKUP_NONCE_BYTES));
  } catch {
    throw new BackupRefusedError(
      `it does not open as this cell's ${kind} backup${subject ? ` of ${subject.slice(0, 12)}` : ""} (forged, altered, kept under another name, or made with another key)`,
    );
  }
}
