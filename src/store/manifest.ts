/**
 * @module store/manifest — the manifest format (DESIGN: Data), its hash and its file on disk.
 *
 * A manifest describes one version of one file: ordered chunk list, sizes, file hash and
 * encryption metadata. manifest_hash = SHA-256 of its canonical JSON. On disk it is
 * manifests/{dir of source_path}/{filename}.{hash8}.json (the directory mirrors GROVE_HOME so
 * two files with one name in different folders never collide).
 */
import { existsSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { z } from "zod";
import { writeFileAtomicSync } from "../core/atomic.ts";
import type { CellId, ChunkHash, FileHash, ManifestHash } from "../core/types.ts";
import { CHUNK_SIZE } from "../core/types.ts";
import { canonicalJson } from "./canonical-json.ts";
import { LABELS } from "../crypto/keys.ts";

export const MANIFEST_FORMAT = 1;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const ManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  filename: z.string().min(1).max(255),
  source_path: z.string().min(1).max(4096),
  total_size: z.number().int().min(0),
  file_hash: hex64,
  chunks: z.array(z.object({ hash: hex64, size: z.number().int().min(16), index: z.number().int().min(0) })),
  encryption: z.object({
    cipher: z.literal("chacha20-poly1305-ietf"),
    kdf: z.literal("hkdf-sha256"),
    kdf_info: z.string(),
    nonce: z.literal("chunk-index-96-be"),
    chunk_size: z.number().int().positive(),
  }),
  version: z.number().int().min(1),
  created_at: z.string(),
  synced_at: z.string().nullable(),
  owner: hex64,
});

export interface ChunkRef {
  hash: ChunkHash;
  /** Sealed size in bytes (plaintext + 16-byte tag). */
  size: number;
  index: number;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  filename: string;
  source_path: string;
  total_size: number;
  file_hash: FileHash;
  chunks: ChunkRef[];
  encryption: {
    cipher: "chacha20-poly1305-ietf";
    kdf: "hkdf-sha256";
    kdf_info: string;
    nonce: "chunk-index-96-be";
    chunk_size: number;
  };
  version: number;
  created_at: string;
  synced_at: string | null;
  owner: CellId;
}

/** The encryption block every manifest of this format carries. */
export function encryptionInfo(): Manifest["encryption"] {
  return {
    cipher: "chacha20-poly1305-ietf",
    kdf: "hkdf-sha256",
    kdf_info: LABELS.fileKey + "{file_hash}",
    nonce: "chunk-index-96-be",
    chunk_size: CHUNK_SIZE,
  };
}

/** SHA-256 of the canonical JSON, hex. */
export function manifestHash(m: Manifest, sha256: (d: Uint8Array) => Uint8Array): ManifestHash {
  return Buffer.from(sha256(new TextEncoder().encode(canonicalJson(m)))).toString("hex") as ManifestHash;
}

/** Path of a manifest file relative to manifests/: "{dir}/{filename}.{hash8}.json". */
export function manifestRelPath(sourcePath: string, fileHash: string): string {
  const dir = posix.dirname(sourcePath);
  const name = `${posix.basename(sourcePath)}.${fileHash.slice(0, 8)}.json`;
  return dir === "." ? name : `${dir}/${name}`;
}

/** Write a manifest atomically under `manifestsDir`; returns its relative path. */
export function writeManifest(manifestsDir: string, m: Manifest, rel = manifestRelPath(m.source_path, m.file_hash)): string {
  writeFileAtomicSync(join(manifestsDir, rel), JSON.stringify(m, null, 1) + "\n", 0o600);
  return rel;
}

/** Read and validate a manifest file. */
export function readManifest(manifestsDir: string, rel: string): Manifest {
  const p = join(manifestsDir, rel);
  if (!existsSync(p)) throw new Error(`manifest ${rel} is missing`);
  return ManifestSchema.parse(JSON.parse(readFileSync(p, "utf8"))) as Manifest;
}

