// Fixed test vectors: RFC 8439 (ChaCha20-Poly1305), RFC 5869 (HKDF), RFC 8032 (Ed25519), FIPS 180 (SHA-256),
// run against every CipherSuite implementation available here.
import { describe, expect, test } from "bun:test";
import { portableSuite, nativeSuiteIfAvailable, type CipherSuite } from "../../src/crypto/index.ts";
import { hkdfSha256, hkdfSha256Noble, sign, verify, ed25519PublicKey } from "../../src/crypto/keys.ts";
import { ed25519Impl, nativeEd25519IfAvailable, portableEd25519, type Ed25519 } from "../../src/crypto/ed25519.ts";
import { fromHex, toHex } from "../../src/core/types.ts";

const h = (s: string) => fromHex(s.replace(/[\s:]/g, ""));

const native = nativeSuiteIfAvailable();
const suites: CipherSuite[] = [portableSuite, ...(native ? [native] : [])];
const nativeSigs = nativeEd25519IfAvailable();
const signers: Ed25519[] = [portableEd25519, ...(nativeSigs ? [nativeSigs] : [])];

test("the native suite and native signatures load on this platform, and are the ones used", () => {
  // linux-x64 is where CI runs: the fast path must be there, not silently replaced.
  if (process.platform === "linux" && process.arch === "x64") {
    expect(native?.name).toBe("native");
    expect(nativeSigs?.name).toBe("native");
    expect(ed25519Impl().name).toBe(process.env.GROVE_CRYPTO === "portable" ? "portable" : "native");
  }
});

// RFC 8439 section 2.8.2
const rfc8439 = {
  key: h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
  nonce: h("070000004041424344454647"),
  aad: h("50515253c0c1c2c3c4c5c6c7"),
  plaintext: new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  ),
  ciphertext: h(`d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
    3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
    92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
    3ff4def08e4b7a9de576d26586cec64b6116`),
  tag: h("1ae10b594f09e26a7e902ecbd0600691"),
};

for (const suite of suites) {
  describe(`${suite.name} suite`, () => {
    test("RFC 8439 2.8.2 seal", () => {
      const sealed = suite.seal(rfc8439.key, rfc8439.nonce, rfc8439.plaintext, rfc8439.aad);
      expect(toHex(sealed)).toBe(toHex(rfc8439.ciphertext) + toHex(rfc8439.tag));
    });
    test("RFC 8439 2.8.2 open, and a flipped bit is refused", () => {
      const sealed = new Uint8Array([...rfc8439.ciphertext, ...rfc8439.tag]);
      expect(new TextDecoder().decode(suite.open(rfc8439.key, rfc8439.nonce, sealed, rfc8439.aad)!)).toStartWith("Ladies and Gentlemen");
      for (const pos of [0, 57, sealed.length - 1]) {
        const bad = sealed.slice();
        bad[pos]! ^= 1;
        expect(suite.open(rfc8439.key, rfc8439.nonce, bad, rfc8439.aad)).toBeNull();
      }
      expect(suite.open(rfc8439.key, rfc8439.nonce, sealed, h("00"))).toBeNull();
      expect(suite.open(rfc8439.key, rfc8439.nonce, sealed.subarray(0, 10), rfc8439.aad)).toBeNull();
    });
    test("SHA-256 (FIPS 180-2 'abc', empty, and streamed)", () => {
      expect(toHex(suite.sha256(new TextEncoder().encode("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
      expect(toHex(suite.sha256(new Uint8Array(0)))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
      const s = suite.sha256Stream();
      s.update(new TextEncoder().encode("a"));
      s.update(new TextEncoder().encode("bc"));
      expect(toHex(s.digest())).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    });
  });
}

describe("RFC 5869 HKDF-SHA256", () => {
  test("test case 1", () => {
    const okm = hkdfSha256(h("0b".repeat(22)), h("000102030405060708090a0b0c"), h("f0f1f2f3f4f5f6f7f8f9"), 42);
    expect(toHex(okm)).toBe("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  });
  test("test case 3 (no salt, no info)", () => {
    const okm = hkdfSha256(h("0b".repeat(22)), new Uint8Array(0), new Uint8Array(0), 42);
    expect(toHex(okm)).toBe("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  });
  test("the native path (used) and @noble/hashes agree: salts absent and present, lengths 8 to 64", () => {
    for (let i = 0; i < 50; i++) {
      const ikm = h(((i * 37) % 256).toString(16).padStart(2, "0").repeat(32));
      const info = new TextEncoder().encode(`grove/v1/file-key/${i}`);
      const salt = i % 2 ? undefined : h("a5".repeat(i % 7));
      const len = 8 + (i % 57);
      expect(toHex(hkdfSha256(ikm, salt, info, len))).toBe(toHex(hkdfSha256Noble(ikm, salt, info, len)));
    }
  });
});

for (const impl of signers)
  describe(`RFC 8032 Ed25519 (${impl.name})`, () => {
    const cases = [
      {
        secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        pub: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        msg: "",
        sig: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
      },
      {
        secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        pub: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        msg: "72",
        sig: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
      },
    ];
    for (const [i, c] of cases.entries()) {
      test(`test ${i + 1}: public key, signature, verification`, () => {
        expect(toHex(impl.publicKey(h(c.secret)))).toBe(c.pub);
        expect(toHex(impl.sign(h(c.secret), h(c.msg)))).toBe(c.sig);
        expect(impl.verify(h(c.sig), h(c.msg), h(c.pub))).toBe(true);
        const bad = h(c.sig);
        bad[0]! ^= 1;
        expect(impl.verify(bad, h(c.msg), h(c.pub))).toBe(false);
      });
    }

    test("strict: a small-order public key verifies nothing (an all-zero signature would pass ZIP-215 rules)", () => {
      // y = 0 (order 4) and the identity point y = 1 (order 1), both small-order encodings.
      const identity = new Uint8Array(32);
      identity[0] = 1;
      for (const pub of [new Uint8Array(32), identity]) {
        for (const msg of [new Uint8Array(0), new TextEncoder().encode("anything at all")])
          expect(impl.verify(new Uint8Array(64), msg, pub)).toBe(false);
      }
      // A non-canonical S (S + L) of a valid signature is refused.
      const c = cases[0]!;
      const sig = h(c.sig);
      const L = 2n ** 252n + 27742317777372353535851937790883648493n;
      let s = 0n;
      for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
      s += L;
      for (let i = 0; i < 32; i++) sig[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn);
      expect(impl.verify(sig, h(c.msg), h(c.pub))).toBe(false);
    });

    test("malformed input is a plain false, never a throw: short or long signature, short key", () => {
      const c = cases[1]!;
      const sig = h(c.sig);
      expect(impl.verify(sig.subarray(0, 63), h(c.msg), h(c.pub))).toBe(false);
      expect(impl.verify(new Uint8Array([...sig, 0]), h(c.msg), h(c.pub))).toBe(false);
      expect(impl.verify(sig, h(c.msg), h(c.pub).subarray(0, 31))).toBe(false);
      expect(impl.verify(new Uint8Array(0), h(c.msg), new Uint8Array(0))).toBe(false);
    });
  });

test("keys.ts signs and verifies with the implementation in use (RFC 8032 test 2)", () => {
  const secret = h("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  expect(toHex(ed25519PublicKey(secret))).toBe("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  const sig = sign(secret, h("72"));
  expect(toHex(sig)).toBe(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  );
  expect(verify(sig, h("72"), ed25519PublicKey(secret))).toBe(true);
  expect(verify(sig, h("73"), ed25519PublicKey(secret))).toBe(false);
});
