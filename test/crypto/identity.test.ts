// One root secret derives every key; the 24-word phrase brings the same identity back.
import { expect, test } from "bun:test";
import { deriveIdentity, deriveFileKey } from "../../src/crypto/keys.ts";
import { phraseFromSecret, secretFromPhrase } from "../../src/crypto/recovery.ts";
import { toHex } from "../../src/core/types.ts";
import { pseudoRandom } from "../helpers/vault.ts";

test("derivation is deterministic and each label gives a different key", () => {
  const root = pseudoRandom(32, 42);
  const a = deriveIdentity(root);
  const b = deriveIdentity(root.slice());
  expect(toHex(a.ed25519Public)).toBe(toHex(b.ed25519Public));
  expect(toHex(a.masterKey)).toBe(toHex(b.masterKey));
  const all = [a.ed25519Secret, a.x25519Secret, a.masterKey].map(toHex);
  expect(new Set(all).size).toBe(3);
  expect(toHex(deriveIdentity(pseudoRandom(32, 43)).ed25519Public)).not.toBe(toHex(a.ed25519Public));
  expect(toHex(deriveFileKey(a.masterKey, "aa".repeat(32)))).not.toBe(toHex(deriveFileKey(a.masterKey, "ab".repeat(32))));
});

test("24-word phrase round-trips to the same root secret", () => {
  const root = pseudoRandom(32, 9);
  const phrase = phraseFromSecret(root);
  expect(phrase.split(" ").length).toBe(24);
  expect(toHex(secretFromPhrase(phrase))).toBe(toHex(root));
  expect(toHex(secretFromPhrase("  " + phrase.toUpperCase().replace(/ /g, "\n ") + " "))).toBe(toHex(root));
});

test("a wrong word, a wrong count or a bad checksum is refused with a clear message", () => {
  const words = phraseFromSecret(pseudoRandom(32, 9)).split(" ");
  expect(() => secretFromPhrase(words.slice(0, 23).join(" "))).toThrow(/24 words, got 23/);
  expect(() => secretFromPhrase([...words.slice(0, 23), "notaword"].join(" "))).toThrow(/not valid/);
  const swapped = [...words];
  [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
  if (swapped.join(" ") !== words.join(" ")) expect(() => secretFromPhrase(swapped.join(" "))).toThrow(/not valid/);
});
