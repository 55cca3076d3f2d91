/** @module core/types — Grove's vocabulary: branded ids and hex helpers every stage imports. */

declare const brand: unique symbol;
/** A string that the type system keeps apart from other strings of the same shape. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Lowercase hex of a cell's Ed25519 public key (64 chars). */
export type CellId = Brand<string, "CellId">;
/** SHA-256 (hex) of a sealed chunk: its name in the store. */
export type ChunkHash = Brand<string, "ChunkHash">;
/** SHA-256 (hex) of a file's plaintext. */
export type FileHash = Brand<string, "FileHash">;
/** SHA-256 (hex) of a manifest's canonical JSON. */
export type ManifestHash = Brand<string, "ManifestHash">;

const HEX64 = /^[0-9a-f]{64}$/;

/** True when `s` is 64 lowercase hex characters (a SHA-256 or Ed25519 key in hex). */
export function isHex64(s: string): boolean {
  return HEX64.test(s);
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error("invalid hex string");
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/** Size of one plaintext chunk: 4 MiB (docs/design.md: Data). */
export const CHUNK_SIZE = 4 * 1024 * 1024;
/** Poly1305 tag length appended to each sealed chunk. */
export const TAG_SIZE = 16;
/** The largest sealed chunk. */
export const MAX_SEALED_SIZE = CHUNK_SIZE + TAG_SIZE;
/**
 * Bytes in a chunk buffer: a sealed chunk rounded up to 4 KiB, so a chunk's direct read or write
 * is one request (core/direct-io `spareTail`).
 */
export const CHUNK_BUFFER_SIZE = CHUNK_SIZE + 4096;
