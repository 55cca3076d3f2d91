import { describe, expect, test } from "bun:test";
import { deriveIdentity, sign } from "../../src/crypto/keys.ts";
import { toHex, type CellId, type ChunkHash } from "../../src/core/types.ts";
import { DeleteRequestError, MAX_DELETE, makeDeleteRequest, verifyDeleteRequest } from "../../src/protocol/delete-request.ts";
import { canonicalJson } from "../../src/core/canonical-json.ts";

const alice = deriveIdentity(new Uint8Array(32).fill(1));
const mallory = deriveIdentity(new Uint8Array(32).fill(9));
const id = (x: typeof alice) => toHex(x.ed25519Public) as CellId;
const chunks = ["aa".repeat(32), "bb".repeat(32)] as ChunkHash[];

describe("DeleteRequest", () => {
  test("made by its owner, it verifies (also after a JSON round trip); the signature covers the canonical JSON", () => {
    const dr = makeDeleteRequest(alice.ed25519Secret, id(alice), chunks);
    expect(dr).toMatchObject({ type: "delete-request", v: 1, owner: id(alice), chunks });
    expect(verifyDeleteRequest(JSON.parse(JSON.stringify(dr)))).toEqual(dr);
    // Key order does not matter: the signature is over the canonical form.
    const reordered = JSON.parse(canonicalJson(dr)) as Record<string, unknown>;
    expect(verifyDeleteRequest(Object.fromEntries(Object.entries(reordered).reverse()))).toEqual(dr);
  });

  test("forged, altered or malformed requests are refused (400)", () => {
    const dr = makeDeleteRequest(alice.ed25519Secret, id(alice), chunks);
    // Signed by another key but naming alice as the owner.
    const forged = { ...makeDeleteRequest(mallory.ed25519Secret, id(alice), chunks) };
    expect(() => verifyDeleteRequest(forged)).toThrow(/signature does not verify/);
    expect(() => verifyDeleteRequest({ ...dr, chunks: [chunks[0]] })).toThrow(/signature does not verify/);
    expect(() => verifyDeleteRequest({ ...dr, at: dr.at + 1 })).toThrow(/signature does not verify/);
    expect(() => verifyDeleteRequest({ ...dr, owner: id(mallory) })).toThrow(/signature does not verify/);
    expect(() => verifyDeleteRequest({ ...dr, type: "revocation" })).toThrow(DeleteRequestError);
    expect(() => verifyDeleteRequest({ ...dr, extra: 1 })).toThrow(/signature does not verify/); // added after signing
    const { signature: _s, ...unsignedDr } = dr;
    const newer = { ...unsignedDr, extra: 1 };
    const signedNewer = { ...newer, signature: toHex(sign(alice.ed25519Secret, new TextEncoder().encode(canonicalJson(newer)))) };
    expect(verifyDeleteRequest(signedNewer)).toMatchObject({ extra: 1, chunks: dr.chunks }); // a newer build's field: ignored, kept
    expect(() => verifyDeleteRequest({ ...dr, chunks: [] })).toThrow(DeleteRequestError);
    expect(() => verifyDeleteRequest({ ...dr, chunks: ["AB".repeat(32)] })).toThrow(/64 lowercase hex/);
    expect(() => verifyDeleteRequest(makeDeleteRequest(alice.ed25519Secret, id(alice), [chunks[0]!, chunks[0]!]))).toThrow(
      /must not repeat/,
    );
    expect(() =>
      verifyDeleteRequest(
        makeDeleteRequest(
          alice.ed25519Secret,
          id(alice),
          Array.from({ length: MAX_DELETE + 1 }, (_, i) => i.toString(16).padStart(64, "0") as ChunkHash),
        ),
      ),
    ).toThrow(DeleteRequestError);
    expect(() => verifyDeleteRequest(null)).toThrow(DeleteRequestError);
    try {
      verifyDeleteRequest(forged);
    } catch (e) {
      expect((e as DeleteRequestError).status).toBe(400);
    }
  });

  test("dated too far in the future or older than a day: refused", () => {
    const now = Date.now();
    expect(() => verifyDeleteRequest(makeDeleteRequest(alice.ed25519Secret, id(alice), chunks, now + 10 * 60_000), now)).toThrow(/future/);
    expect(() => verifyDeleteRequest(makeDeleteRequest(alice.ed25519Secret, id(alice), chunks, now - 2 * 86400_000), now)).toThrow(
      /too old/,
    );
    expect(verifyDeleteRequest(makeDeleteRequest(alice.ed25519Secret, id(alice), chunks, now + 60_000), now).owner).toBe(id(alice));
  });
});
