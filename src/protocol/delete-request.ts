/**
 * @module protocol/delete-request — the signed DeleteRequest an owner sends to the cells keeping
 * its chunks when it no longer needs them (docs/protocol.md, "Deletion"):
 *
 *   { type: "delete-request", v: 1, owner, chunks: [hash…], at, signature }
 *
 * `owner` = the owner's cell id (hex Ed25519), `chunks` = 1 to MAX_DELETE distinct chunk names,
 * `at` = unix ms on the owner's clock, `signature` = Ed25519 by `owner` over the canonical JSON
 * of every other field (as for grants, protocol/grant.ts). The holder also requires `owner` to
 * be the cell that signed the request carrying it, and only ever trashes that owner's records.
 *
 * @example
 *   const dr = makeDeleteRequest(keys.ed25519Secret, keys.id, ["ab…", "cd…"]);
 *   verifyDeleteRequest(dr); // the same object, or a DeleteRequestError (400)
 */
import { z } from "zod";
import { GroveError } from "../core/errors.ts";
import { fromHex, toHex, type CellId, type ChunkHash } from "../core/types.ts";
import { sign, verify } from "../crypto/keys.ts";
import { signedBytes } from "./signed-object.ts";

/** Chunks named in one DeleteRequest at most (its sealed body stays under the 1 MiB peer limit). */
export const MAX_DELETE = 10_000;
/** How far in the future `at` may be (clock skew), and how old it may be. */
export const DELETE_SKEW_MS = 5 * 60_000;
export const DELETE_MAX_AGE_MS = 24 * 3600_000;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters");

export const DeleteRequestSchema = z.object({
  type: z.literal("delete-request"),
  v: z.literal(1),
  owner: hex64,
  chunks: z
    .array(hex64)
    .min(1)
    .max(MAX_DELETE)
    .refine((a) => new Set(a).size === a.length, "must not repeat a chunk"),
  at: z.number().int().nonnegative(),
  signature: z.string().regex(/^[0-9a-f]{128}$/, "must be 128 lowercase hex characters"),
});
export type DeleteRequest = z.infer<typeof DeleteRequestSchema>;

/** A DeleteRequest that does not check out (the message says why): nothing was changed. */
export class DeleteRequestError extends GroveError {
  constructor(message: string) {
    super(message, 400, "bad_delete_request");
  }
}

/** Sign a DeleteRequest for `chunks` (1 to MAX_DELETE, distinct) as `owner`. */
export function makeDeleteRequest(ownerSecret: Uint8Array, owner: CellId, chunks: readonly ChunkHash[], at = Date.now()): DeleteRequest {
  const unsigned = { type: "delete-request" as const, v: 1 as const, owner, chunks: [...chunks], at };
  return { ...unsigned, signature: toHex(sign(ownerSecret, signedBytes(unsigned))) };
}

/** Check shape, signature (by `owner`) and time; returns the request or throws DeleteRequestError. */
export function verifyDeleteRequest(value: unknown, now = Date.now()): DeleteRequest {
  const parsed = DeleteRequestSchema.safeParse(value);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new DeleteRequestError(`delete request: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  const { signature, ...unsigned } = parsed.data;
  // Over the request as received: fields this build does not know are covered and kept (protocol/signed-object).
  if (!verify(fromHex(signature), signedBytes(value as object), fromHex(unsigned.owner))) {
    throw new DeleteRequestError("delete request: signature does not verify (forged, altered, or not signed by its owner)");
  }
  if (unsigned.at > now + DELETE_SKEW_MS) throw new DeleteRequestError("delete request: dated in the future");
  if (unsigned.at < now - DELETE_MAX_AGE_MS) throw new DeleteRequestError("delete request: too old (made more than a day ago)");
  return value as DeleteRequest;
}
