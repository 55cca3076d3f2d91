/**
 * @module protocol/signed-object — what a signed object's signature covers, on both sides: the
 * canonical JSON (core/canonical-json) of every field but `signature`, as received.
 *
 * Fields this build does not know are ignored when the object is read, but they stay in the
 * object and under its signature: a newer build may add optional fields without older builds
 * refusing its cards, grants or statements, and an object passed on (a card in a backup index)
 * still verifies wherever it goes. Each verifier checks the known fields with its zod schema
 * first, then the signature over `signedBytes` of the object as received, and returns that object.
 */
import { canonicalJson } from "../core/canonical-json.ts";

const enc = new TextEncoder();

/** The bytes a signature over `obj` covers (its `signature` field left out). */
export function signedBytes(obj: object): Uint8Array {
  const { signature: _signature, ...rest } = obj as Record<string, unknown>;
  return enc.encode(canonicalJson(rest));
}
