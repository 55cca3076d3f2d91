/**
 * @module sync/wire — the sync messages between cells (docs/protocol.md, "Sync"): their paths,
 * HPKE labels and zod schemas, shared by the caller (sync/peer-link) and the answering cell
 * (web/peer-sync-api). JSON bodies travel sealed to the receiving cell; chunk and backup bytes
 * travel as they are (sealed already).
 */
import { z } from "zod";
import { GroveError } from "../core/errors.ts";
import { MAX_BATCH_CHUNKS } from "../protocol/chunk-frames.ts";
import { SYNC_INFO } from "../protocol/labels.ts";
import { BUCKETS } from "../store/set-digest.ts";

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const bucket = z
  .number()
  .int()
  .min(0)
  .max(BUCKETS - 1);

/** Largest manifest backup (or index) a cell keeps for another. */
export const MAX_BACKUP_BYTES = 16 * 1024 * 1024;
/** Chunks challenged in one audit request at most. */
export const MAX_AUDIT = 64;
/** Chunks released in one request at most. */
export const MAX_RELEASE = 10_000;

export const info = (name: string) => `${SYNC_INFO}/${name}`;
export const replyInfo = (name: string) => `${SYNC_INFO}/${name}/reply`;

/** Owner -> holder: "here is the digest of what I believe you keep for me". */
export const InventoryRequest = z.object({
  /** The caller's current signed card (so a moved or restarted cell is found again). */
  card: z.unknown().optional(),
  chunks: hex64,
  backups: hex64,
});
/** null = the digests agree; else the holder's 256 bucket digests. */
export const InventoryReply = z.object({
  chunks: z.array(hex64).length(BUCKETS).nullable(),
  backups: z.array(hex64).length(BUCKETS).nullable(),
});

export const ListRequest = z.object({
  chunks: z.array(bucket).max(BUCKETS),
  backups: z.array(bucket).max(BUCKETS),
});
export const ListReply = z.object({
  chunks: z.array(z.tuple([hex64, z.number().int().nonnegative()])),
  backups: z.array(z.object({ name: hex64, kind: z.enum(["manifest", "index"]) })),
});

export const AuditRequest = z.object({
  challenges: z
    .array(z.object({ hash: hex64, nonce: z.string().regex(/^[0-9a-f]{32}$/) }))
    .min(1)
    .max(MAX_AUDIT),
});
export const AuditReply = z.object({
  proofs: z.array(z.object({ hash: hex64, proof: hex64.nullable(), reason: z.string().max(200).optional() })),
});

export const ReleaseRequest = z.object({ chunks: z.array(hex64).min(1).max(MAX_RELEASE) });
export const ReleaseReply = z.object({ released: z.number().int().nonnegative() });

export const StoredReply = z.object({ stored: z.boolean() });

/** Owner -> holder: a signed DeleteRequest (protocol/delete-request) for chunks kept for it. */
export const DeleteBody = z.object({ request: z.unknown() });
/** `trashed`: named chunks now in the holder's trash; `not_held`: named chunks it never kept for the owner. */
export const DeleteReply = z.object({ trashed: z.number().int().nonnegative(), not_held: z.number().int().nonnegative() });

export type InventoryRequestT = z.infer<typeof InventoryRequest>;
export type InventoryReplyT = z.infer<typeof InventoryReply>;
export type ListRequestT = z.infer<typeof ListRequest>;
export type ListReplyT = z.infer<typeof ListReply>;
export type AuditRequestT = z.infer<typeof AuditRequest>;
export type AuditReplyT = z.infer<typeof AuditReply>;
export type DeleteReplyT = z.infer<typeof DeleteReply>;

/** The proof a holder gives for a challenge: SHA-256(nonce || chunk), hex. */
export function auditProof(nonceHex: string, chunk: Uint8Array): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(Buffer.from(nonceHex, "hex"));
  h.update(chunk);
  return h.digest("hex");
}

/** One backup blob in a batch. */
export interface BackupFrame {
  kind: "manifest" | "index";
  name: string;
  blob: Uint8Array;
}

/**
 * A batch of backups aims at this size, its whole body (frame heads included): one request, one
 * transaction on the peer, and a body the peer reads into one of its pooled buffers (a larger one
 * it collects in pieces and joins: garbage twice its size; thousands of manifests' heads alone
 * took a body of 4 MiB of blobs over that).
 */
export const BACKUP_BATCH_BYTES = 4 * 1024 * 1024;
/** A backup frame's head: kind, name, length. */
export const BACKUP_FRAME_HEAD = 1 + 32 + 4;
const FRAME_HEAD = BACKUP_FRAME_HEAD;

/**
 * POST /peer/sync/backups body: frames of kind (1 byte: 0 manifest, 1 index) ‖ name (32 raw
 * bytes) ‖ length (u32 big-endian) ‖ blob.
 */
export function encodeBackupBatch(frames: readonly BackupFrame[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + FRAME_HEAD + f.blob.byteLength, 0));
  const view = new DataView(out.buffer);
  let o = 0;
  for (const f of frames) {
    out[o] = f.kind === "index" ? 1 : 0;
    out.set(Buffer.from(f.name, "hex"), o + 1);
    view.setUint32(o + 33, f.blob.byteLength);
    out.set(f.blob, o + FRAME_HEAD);
    o += FRAME_HEAD + f.blob.byteLength;
  }
  return out;
}

/** Parse a batch; a malformed one (truncated, unknown kind, empty blob, empty batch) is a 400. */
export function decodeBackupBatch(body: Uint8Array): BackupFrame[] {
  const bad = (why: string) => new GroveError(`bad backup batch: ${why}`, 400, "bad_request");
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const frames: BackupFrame[] = [];
  let o = 0;
  while (o < body.byteLength) {
    if (o + FRAME_HEAD > body.byteLength) throw bad(`truncated frame header at byte ${o}`);
    const k = body[o]!;
    if (k > 1) throw bad(`unknown kind ${k} at byte ${o}`);
    const len = view.getUint32(o + 33);
    if (len === 0) throw bad(`empty blob at byte ${o}`);
    if (o + FRAME_HEAD + len > body.byteLength) throw bad(`frame at byte ${o} runs past the end`);
    frames.push({
      kind: k === 1 ? "index" : "manifest",
      name: Buffer.from(body.subarray(o + 1, o + 33)).toString("hex"),
      blob: body.slice(o + FRAME_HEAD, o + FRAME_HEAD + len),
    });
    o += FRAME_HEAD + len;
  }
  if (!frames.length) throw bad("no frames");
  return frames;
}

// The chunk batch framing, shared with my cells' POST /peer/tree/chunks (protocol/chunk-frames).
export {
  BATCH_CHUNK_MAX,
  CHUNK_FRAME_HEAD,
  MAX_BATCH_CHUNKS,
  MAX_CHUNK_BATCH_BODY,
  decodeChunkBatch,
  encodeChunkBatch,
} from "../protocol/chunk-frames.ts";
/** What the peer did with each chunk of a batch, in order. */
export const ChunkBatchReply = z.object({
  results: z.array(z.enum(["stored", "had", "full", "over_allowance"])).max(MAX_BATCH_CHUNKS),
});
export type ChunkBatchResult = z.infer<typeof ChunkBatchReply>["results"][number];
