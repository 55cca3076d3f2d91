/**
 * @module protocol/grant — the signed objects of sharing (docs/design.md: Sharing; docs/protocol.md).
 *
 * Grant (to the recipient only): { type: "grant", v: 1, manifest_hash, encrypted_file_key,
 *   creator, recipient, granted_at, expires_at, filename, file_type, total_size, signature }.
 *   encrypted_file_key = base64url of the file key HPKE-sealed to the recipient's X25519 key
 *   (info grove/v1/grant-key, aad = manifest_hash). creator/recipient = cell ids (hex Ed25519).
 * Fetch pass (shown to any cell holding the owner's chunks; names no file): { type:
 *   "fetch-pass", v: 1, grant_id, owner, recipient, chunks_digest, expires_at, signature };
 *   chunks_digest = SHA-256 of the manifest's chunk names (32 raw bytes each, in order).
 * Revocation: { type: "revocation", v: 1, grant_id, owner, revoked_at, signature }.
 *
 * signature = Ed25519 by the creator/owner over the canonical JSON of every other field; the
 * `type` field keeps one kind of signed object from passing as another. grant_id = SHA-256 of
 * the grant's canonical JSON without its signature. Unknown fields are ignored but kept, under
 * the signature (protocol/signed-object); an object whose JSON is over MAX_GRANT_BYTES is refused,
 * and so is a grant whose `filename` holds a control, bidi or invisible character (protocol/safe-name).
 */
import { sha256, sha256Hex } from "../core/sha256.ts";
import { z } from "zod";
import { GroveError } from "../core/errors.ts";
import { jsonLengthExceeds } from "../core/json-size.ts";
import { fromHex, toHex, type CellId, type ManifestHash } from "../core/types.ts";
import { sign, verify } from "../crypto/keys.ts";
import { safeName } from "./safe-name.ts";
import { signedBytes } from "./signed-object.ts";
import { openSealed, sealTo } from "./seal.ts";

/** Largest grant (or pass, or revocation) accepted, in bytes of its JSON. */
export const MAX_GRANT_BYTES = 8 * 1024;
export const GRANT_KEY_INFO = "grove/v1/grant-key";

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters");
const hex128 = z.string().regex(/^[0-9a-f]{128}$/, "must be 128 lowercase hex characters");
const time = z.number().int().nonnegative();
/** A plain MIME type: what a recipient may put in Content-Type (no control characters, no tricks). */
export const MIME_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}(;\s?[a-z0-9_-]{1,32}=[a-z0-9_.-]{1,32})*$/i;

export const GrantSchema = z.object({
  type: z.literal("grant"),
  v: z.literal(1),
  manifest_hash: hex64,
  encrypted_file_key: z.string().regex(/^[A-Za-z0-9_-]{40,200}$/, "must be base64url"),
  creator: hex64,
  recipient: hex64,
  granted_at: time,
  expires_at: time.nullable(),
  /** As the sharer named it: no control, bidi or invisible characters; made safe again before it names a local file (core/safe-filename). */
  filename: safeName(255),
  file_type: z.string().max(127).regex(MIME_RE, "must be a MIME type (type/subtype, optional ;param=value)"),
  total_size: z.number().int().nonnegative(),
  signature: hex128,
});
export type Grant = z.infer<typeof GrantSchema>;

export const FetchPassSchema = z.object({
  type: z.literal("fetch-pass"),
  v: z.literal(1),
  grant_id: hex64,
  owner: hex64,
  recipient: hex64,
  chunks_digest: hex64,
  expires_at: time.nullable(),
  signature: hex128,
});
export type FetchPass = z.infer<typeof FetchPassSchema>;

export const RevocationSchema = z.object({
  type: z.literal("revocation"),
  v: z.literal(1),
  grant_id: hex64,
  owner: hex64,
  revoked_at: time,
  signature: hex128,
});
export type Revocation = z.infer<typeof RevocationSchema>;

/** A signed sharing object that does not check out (the message says why). */
export class GrantError extends GroveError {
  constructor(message: string, status = 400) {
    super(message, status, "bad_grant");
  }
}

function signed<T extends { signature: string }>(secret: Uint8Array, unsigned: Omit<T, "signature">): T {
  return { ...unsigned, signature: toHex(sign(secret, signedBytes(unsigned))) } as T;
}

function check<S extends z.ZodTypeAny>(schema: S, value: unknown, what: string, signer: (v: z.infer<S>) => string): z.infer<S> {
  // Not JSON.stringify: a 100,000-deep value (JSON.parse takes it) would overflow it after seconds.
  if (jsonLengthExceeds(value ?? null, MAX_GRANT_BYTES)) throw new GrantError(`${what} is larger than ${MAX_GRANT_BYTES} bytes`, 413);
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new GrantError(`${what}: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  const { signature } = parsed.data as { signature: string };
  // Over the object as received: fields this build does not know are covered and kept (protocol/signed-object).
  if (!verify(fromHex(signature), signedBytes(value as object), fromHex(signer(parsed.data)))) {
    throw new GrantError(`${what}: signature does not verify (forged or altered)`);
  }
  return value as z.infer<S>;
}

/** The id of a grant: SHA-256 of its canonical JSON without the signature (the bytes it signs). */
export function grantId(g: Grant): string {
  return sha256Hex(signedBytes(g));
}

/** SHA-256 of the chunk names in order, each as 32 raw bytes. */
export function chunksDigest(chunks: readonly string[]): string {
  const h = sha256();
  for (const c of chunks) h.update(Buffer.from(c, "hex"));
  return h.digest("hex");
}

export interface GrantInput {
  creatorSecret: Uint8Array;
  creator: CellId;
  recipient: CellId;
  recipientX25519: Uint8Array;
  manifestHash: ManifestHash;
  fileKey: Uint8Array;
  chunks: readonly string[];
  filename: string;
  fileType: string;
  totalSize: number;
  expiresAt: number | null;
  now?: number;
}

/** Make a grant and its fetch pass. */
export async function makeGrant(i: GrantInput): Promise<{ grant: Grant; pass: FetchPass; id: string }> {
  const sealedKey = await sealTo(i.recipientX25519, i.fileKey, GRANT_KEY_INFO, i.manifestHash);
  const grant = signed<Grant>(i.creatorSecret, {
    type: "grant",
    v: 1,
    manifest_hash: i.manifestHash,
    encrypted_file_key: Buffer.from(sealedKey).toString("base64url"),
    creator: i.creator,
    recipient: i.recipient,
    granted_at: i.now ?? Date.now(),
    expires_at: i.expiresAt,
    filename: i.filename,
    file_type: i.fileType,
    total_size: i.totalSize,
  });
  const id = grantId(grant);
  const pass = signed<FetchPass>(i.creatorSecret, {
    type: "fetch-pass",
    v: 1,
    grant_id: id,
    owner: i.creator,
    recipient: i.recipient,
    chunks_digest: chunksDigest(i.chunks),
    expires_at: i.expiresAt,
  });
  return { grant, pass, id };
}

export function makeRevocation(ownerSecret: Uint8Array, owner: CellId, grantIdHex: string, now = Date.now()): Revocation {
  return signed<Revocation>(ownerSecret, { type: "revocation", v: 1, grant_id: grantIdHex, owner, revoked_at: now });
}

/** Check a grant's shape and signature (by its creator). */
export function verifyGrant(value: unknown): Grant {
  return check(GrantSchema, value, "grant", (g) => g.creator);
}

export function verifyPass(value: unknown): FetchPass {
  return check(FetchPassSchema, value, "fetch pass", (p) => p.owner);
}

export function verifyRevocation(value: unknown): Revocation {
  return check(RevocationSchema, value, "revocation", (r) => r.owner);
}

/** The file key inside a grant made for us; a tampered or misdirected key throws GrantError. */
export async function openFileKey(keys: { x25519Secret: Uint8Array; x25519Public: Uint8Array }, g: Grant): Promise<Uint8Array> {
  try {
    const key = await openSealed(
      keys.x25519Secret,
      keys.x25519Public,
      new Uint8Array(Buffer.from(g.encrypted_file_key, "base64url")),
      GRANT_KEY_INFO,
      g.manifest_hash,
    );
    if (key.byteLength !== 32) throw new Error("wrong length");
    return key;
  } catch {
    throw new GrantError("grant: the sealed file key does not open for this cell (tampered, or sealed to another cell)");
  }
}

export function isExpired(x: { expires_at: number | null }, now = Date.now()): boolean {
  return x.expires_at !== null && x.expires_at <= now;
}
