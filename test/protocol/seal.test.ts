// HPKE sealing to a cell's X25519 key: RFC 9180 A.2.1 vector, round trips, and every way opening must fail.
import { describe, expect, test } from "bun:test";
import {
  ENC_BYTES,
  SEAL_FORMAT,
  SEAL_OVERHEAD,
  SealError,
  frame,
  hpkeSuite,
  openSealed,
  sealTo,
  unframe,
} from "../../src/protocol/seal.ts";
import { deriveIdentity } from "../../src/crypto/keys.ts";
import { fromHex, toHex } from "../../src/core/types.ts";

const h = (s: string) => fromHex(s.replace(/\s/g, ""));
const text = (s: string) => new TextEncoder().encode(s);

const alice = deriveIdentity(new Uint8Array(32).fill(1));
const bob = deriveIdentity(new Uint8Array(32).fill(2));

/** Expect `p` to reject with a SealError whose message matches `message`. */
async function expectSealError(p: Promise<unknown>, message: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SealError);
  expect((caught as Error).message).toMatch(message);
}

// RFC 9180 Appendix A.2.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305; mode 0,
// kem_id 32, kdf_id 1, aead_id 3), first encryption (sequence number 0). Copied from the RFC text.
const A21 = {
  info: h("4f6465206f6e2061204772656369616e2055726e"),
  ikmE: h("909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b"),
  pkEm: h("1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a"),
  pkRm: h("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a"),
  skRm: h("8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb"),
  enc: h("1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a"),
  pt: h("4265617574792069732074727574682c20747275746820626561757479"),
  aad: h("436f756e742d30"),
  ct: h(`1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db
         21993c62ce81883d2dd1b51a28`),
};

describe("RFC 9180 A.2.1 (base mode, X25519 / HKDF-SHA256 / ChaCha20-Poly1305)", () => {
  test("the suite has the RFC's algorithm ids", () => {
    expect(hpkeSuite.kem.id).toBe(0x0020);
    expect(hpkeSuite.kdf.id).toBe(0x0001);
    expect(hpkeSuite.aead.id).toBe(0x0003);
  });

  test("sealing with the vector's ephemeral key gives the vector's enc and ciphertext", async () => {
    const recipientPublicKey = await hpkeSuite.kem.deserializePublicKey(A21.pkRm);
    const { enc, ct } = await hpkeSuite.seal({ recipientPublicKey, info: A21.info, ekm: A21.ikmE }, A21.pt, A21.aad);
    expect(toHex(new Uint8Array(enc))).toBe(toHex(A21.enc));
    expect(toHex(new Uint8Array(enc))).toBe(toHex(A21.pkEm));
    expect(toHex(new Uint8Array(ct))).toBe(toHex(A21.ct));
  });

  test("openSealed opens the vector's message with the vector's raw recipient keys", async () => {
    const sealed = frame(A21.enc, A21.ct);
    expect(await openSealed(A21.skRm, A21.pkRm, sealed, A21.info, A21.aad)).toEqual(A21.pt);
  });

  test("and refuses it with a flipped bit or the next sequence's aad", async () => {
    const sealed = frame(A21.enc, A21.ct);
    const bad = sealed.slice();
    bad[bad.length - 1]! ^= 1;
    await expectSealError(openSealed(A21.skRm, A21.pkRm, bad, A21.info, A21.aad), /does not open/);
    await expectSealError(openSealed(A21.skRm, A21.pkRm, sealed, A21.info, text("Count-1")), /does not open/);
  });
});

describe("sealTo / openSealed", () => {
  const msg = text('{"manifest":"secret plan.txt"}');

  test("round trip to a cell's derived X25519 key, with and without aad", async () => {
    const sealed = await sealTo(bob.x25519Public, msg, "grove/v1/manifest");
    expect(sealed.byteLength).toBe(msg.byteLength + SEAL_OVERHEAD);
    expect(sealed[0]).toBe(SEAL_FORMAT);
    expect(await openSealed(bob.x25519Secret, bob.x25519Public, sealed, "grove/v1/manifest")).toEqual(msg);

    const withAad = await sealTo(bob.x25519Public, msg, "grove/v1/manifest", "request 1234");
    expect(await openSealed(bob.x25519Secret, bob.x25519Public, withAad, "grove/v1/manifest", text("request 1234"))).toEqual(msg);
  });

  test("empty and large plaintexts", async () => {
    const empty = await sealTo(bob.x25519Public, new Uint8Array(0), "i");
    expect(empty.byteLength).toBe(SEAL_OVERHEAD);
    expect((await openSealed(bob.x25519Secret, bob.x25519Public, empty, "i")).byteLength).toBe(0);
    const big = crypto.getRandomValues(new Uint8Array(65536));
    expect(await openSealed(bob.x25519Secret, bob.x25519Public, await sealTo(bob.x25519Public, big, "i"), "i")).toEqual(big);
  });

  test("each seal is fresh: same input, different bytes (new ephemeral key)", async () => {
    const a = await sealTo(bob.x25519Public, msg, "i");
    const b = await sealTo(bob.x25519Public, msg, "i");
    expect(toHex(a)).not.toBe(toHex(b));
    expect(toHex(unframe(a).enc)).not.toBe(toHex(unframe(b).enc));
  });

  test("the wrong recipient cannot open it", async () => {
    const sealed = await sealTo(bob.x25519Public, msg, "i");
    await expectSealError(openSealed(alice.x25519Secret, alice.x25519Public, sealed, "i"), /not for this cell/);
  });

  test("a tampered ciphertext, tag, enc or format byte fails", async () => {
    const sealed = await sealTo(bob.x25519Public, msg, "i");
    for (const pos of [1, ENC_BYTES, 1 + ENC_BYTES, sealed.length - 17, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[pos]! ^= 0x01;
      await expectSealError(openSealed(bob.x25519Secret, bob.x25519Public, bad, "i"), /does not open/);
    }
    const badFormat = sealed.slice();
    badFormat[0] = 2;
    await expectSealError(openSealed(bob.x25519Secret, bob.x25519Public, badFormat, "i"), /unknown sealed-message format 2/);
    await expectSealError(openSealed(bob.x25519Secret, bob.x25519Public, sealed.subarray(0, SEAL_OVERHEAD - 1), "i"), /too short/);
    const extended = new Uint8Array([...sealed, 0]);
    await expectSealError(openSealed(bob.x25519Secret, bob.x25519Public, extended, "i"), /does not open/);
  });

  test("the wrong info or aad fails", async () => {
    const sealed = await sealTo(bob.x25519Public, msg, "grove/v1/manifest", "ctx");
    await expectSealError(openSealed(bob.x25519Secret, bob.x25519Public, sealed, "grove/v1/grant", "ctx"), /wrong purpose/);
    await expectSealError(openSealed(bob.x25519Secret, bob.x25519Public, sealed, "grove/v1/manifest"), /does not open/);
    await expectSealError(openSealed(bob.x25519Secret, bob.x25519Public, sealed, "grove/v1/manifest", "other"), /does not open/);
  });

  test("info as text and as its UTF-8 bytes are the same", async () => {
    const sealed = await sealTo(bob.x25519Public, msg, "grove/v1/chat");
    expect(await openSealed(bob.x25519Secret, bob.x25519Public, sealed, text("grove/v1/chat"))).toEqual(msg);
  });

  test("bad keys are refused clearly", async () => {
    await expectSealError(sealTo(new Uint8Array(31), msg, "i"), /recipient public key must be 32 raw bytes/);
    await expectSealError(sealTo(new Uint8Array(32), msg, "i"), /cannot seal to this key/);
    const sealed = await sealTo(bob.x25519Public, msg, "i");
    await expectSealError(openSealed(bob.x25519Secret.subarray(1), bob.x25519Public, sealed, "i"), /secret key must be 32/);
    await expectSealError(openSealed(bob.x25519Secret, alice.x25519Public, sealed, "i"), /does not belong to the secret key/);
  });

  test("a sealed message is not readable: the plaintext does not appear in it", async () => {
    const sealed = await sealTo(bob.x25519Public, msg, "i");
    expect(Buffer.from(sealed).includes(Buffer.from("secret plan"))).toBe(false);
  });

  test("keys given as views into larger buffers work", async () => {
    const buf = new Uint8Array(100);
    buf.set(bob.x25519Public, 10);
    const pub = buf.subarray(10, 42);
    const sbuf = new Uint8Array(100);
    sbuf.set(bob.x25519Secret, 50);
    const sec = sbuf.subarray(50, 82);
    const sealed = await sealTo(pub, msg, "i");
    expect(await openSealed(sec, pub, sealed, "i")).toEqual(msg);
  });
});
