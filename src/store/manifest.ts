/**
 * @module store/manifest — the manifest format (docs/design.md: Data), its hash and its file on disk.
 *
 * A manifest describes one version of one file: ordered chunk list, sizes, file hash and
 * encryption metadata. manifest_hash = SHA-256 of its canonical JSON. On disk it is
 * manifests/{dir of source_path}/{filename}.{hash8}.json (the directory mirrors GROVE_HOME so
 * two files with one name in different folders never collide). A name too long for that (the
 * file system takes 255 bytes per name, and a file's own name may be 255 bytes) keeps its start,
 * cut at a character boundary, and gains `~` + 16 hex of SHA-256(filename) before the suffix.
 *
 * `source_path` obeys core/relative-path (no absolute path, no `..`), and every manifest file
 * is read and written through core/confine: a manifest from a peer or a backup cannot name a
 * file outside manifests/.
 */
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { z } from "zod";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { confinedPath } from "../core/confine.ts";
import { MAX_SEGMENT_BYTES, relativePathProblem } from "../core/relative-path.ts";
import type { CellId, ChunkHash, FileHash, ManifestHash } from "../core/types.ts";
import { CHUNK_SIZE } from "../core/types.ts";
import { canonicalJson } from "../core/canonical-json.ts";
import { LABELS } from "../crypto/keys.ts";

export const MANIFEST_FORMAT = 1;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** A path by the GROVE_HOME rules (core/relative-path): `source_path`, and the paths of a backup index. */
export const RelativePathSchema = z.string().superRefine((p, ctx) => {
  const problem = relativePathProblem(p);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const ManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  filename: z.string().min(1).max(255),
  source_path: RelativePathSchema,
  total_size: z.number().int().min(0),
  file_hash: hex64,
  chunks: z.array(z.object({ hash: hex64, size: z.number().int().min(16), index: z.number().int().min(0) })),
  encryption: z.object({
    cipher: z.literal("chacha20-poly1305-ietf"),
    kdf: z.literal("hkdf-sha256"),
    kdf_info: z.string(),
    nonce: z.literal("chunk-index-96-be"),
    chunk_size: z.number().int().positive(),
    /** The key it is sealed under (crypto/key-ring); absent: the master key of `owner`. */
    key_id: z
      .string()
      .regex(/^[0-9a-f]{16}$/)
      .optional(),
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
    key_id?: string;
  };
  version: number;
  created_at: string;
  synced_at: string | null;
  owner: CellId;
}

/** The encryption block every manifest of this format carries. */
export function encryptionInfo(keyId?: string): Manifest["encryption"] {
  return {
    ...(keyId ? { key_id: keyId } : {}),
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

const enc = new TextEncoder();

/** The longest prefix of `s` that takes at most `max` bytes in UTF-8, cut between characters. */
function cutUtf8(s: string, max: number): string {
  let out = "";
  let n = 0;
  for (const ch of s) {
    n += enc.encode(ch).byteLength;
    if (n > max) break;
    out += ch;
  }
  return out;
}

/**
 * Name of a manifest file: "{filename}.{tag}.json" (tag = the file hash's first 8 hex, or all of
 * it after a clash), or, when that is over 255 bytes, "{start of filename}~{16 hex}.{tag}.json"
 * (16 hex of SHA-256 of the whole filename, so two long names sharing a start still differ).
 */
export function manifestFileName(filename: string, tag: string): string {
  const suffix = `.${tag}.json`;
  const plain = filename + suffix;
  if (enc.encode(plain).byteLength <= MAX_SEGMENT_BYTES) return plain;
  const mark = `~${Buffer.from(nobleSha256(enc.encode(filename)))
    .toString("hex")
    .slice(0, 16)}`;
  return cutUtf8(filename, MAX_SEGMENT_BYTES - enc.encode(suffix + mark).byteLength) + mark + suffix;
}

/**
 * Path of a manifest file relative to manifests/: "{dir}/{manifestFileName}". `full` uses the
 * whole file hash as the tag (the rare clash of two contents of one path on the first 8 hex).
 */
export function manifestRelPath(sourcePath: string, fileHash: string, full = false): string {
  const dir = posix.dirname(sourcePath);
  const name = manifestFileName(posix.basename(sourcePath), full ? fileHash : fileHash.slice(0, 8));
  return dir === "." ? name : `${dir}/${name}`;
}

/** Write a manifest atomically under `manifestsDir` (confined to it); returns its relative path. */
export function writeManifest(manifestsDir: string, m: Manifest, rel = manifestRelPath(m.source_path, m.file_hash)): string {
  writeFileAtomicSync(confinedPath(manifestsDir, rel), manifestFileText(m), 0o600);
  return rel;
}

/** A manifest file's exact content. */
export function manifestFileText(m: Manifest): string {
  return JSON.stringify(m, null, 1) + "\n";
}

/**
 * Per manifests folder, in this thread: the body placement.db keeps of a manifest whose file is
 * not written yet (`manifest_pending`). A store records a new manifest's body with its version and
 * writes the file just after that commit (ingest/ingest-batch, mine/write-versions), so what the
 * commit made visible can be read in between (my other cells pulling it, the sync Worker).
 */
const pendingBodies = new Map<string, (rel: string) => string | null>();

/** Where readers of `manifestsDir` find a manifest's body before its file is written (cell/cell, sync/sync-worker). */
export function findPendingManifests(manifestsDir: string, lookup: (rel: string) => string | null): void {
  pendingBodies.set(manifestsDir, lookup);
}

/** A manifest file's exact text (`rel` confined to `manifestsDir`), from its file or, not written yet, from placement.db. */
export function manifestText(manifestsDir: string, rel: string): string {
  const p = confinedPath(manifestsDir, rel);
  try {
    return readFileSync(p, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw e;
  }
  let body: string | null = null;
  try {
    body = pendingBodies.get(manifestsDir)?.(rel) ?? null;
  } catch {
    // its database closed (the cell stopping): missing, as the file is
  }
  if (body === null) throw new Error(`manifest ${rel} is missing`);
  return body;
}

/** Read and validate a manifest (`rel` confined to `manifestsDir`): its file, or its body not written yet. */
export function readManifest(manifestsDir: string, rel: string): Manifest {
  return ManifestSchema.parse(JSON.parse(manifestText(manifestsDir, rel))) as Manifest;
}
