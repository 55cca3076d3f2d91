/** @module crypto/recovery — the root secret as a 24-word BIP-39 recovery phrase, and back. */
import { entropyToMnemonic, mnemonicToEntropy, validateMnemonic } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";

/** 32 bytes -> 24 English words. */
export function phraseFromSecret(root: Uint8Array): string {
  if (root.byteLength !== 32) throw new Error("root secret must be 32 bytes");
  return entropyToMnemonic(root, wordlist);
}

/** 24 words -> 32 bytes; throws a clear error on a wrong word or checksum. */
export function secretFromPhrase(phrase: string): Uint8Array {
  const words = phrase.trim().toLowerCase().split(/\s+/).join(" ");
  if (words.split(" ").length !== 24) throw new Error(`a recovery phrase has 24 words, got ${words.split(" ").length}`);
  if (!validateMnemonic(words, wordlist)) throw new Error("recovery phrase is not valid (unknown word or bad checksum)");
  return mnemonicToEntropy(words, wordlist);
}
