/**
 * @module crypto — picks the CipherSuite for this process and re-exports the crypto vocabulary.
 *
 * `selectSuite("auto")` uses the native suite when libsodium's addon loads, else the portable
 * one. `GROVE_CRYPTO=portable|native` overrides the config (tests and benchmarks use it).
 */
import type { CipherSuite } from "./cipher.ts";
import { portableSuite } from "./portable.ts";
import { nativeSuite } from "./native.ts";
import { onSodium } from "./sodium-addon.ts";

export type { CipherSuite, Sha256Stream } from "./cipher.ts";
export { chunkNonce } from "./cipher.ts";
export { portableSuite } from "./portable.ts";

/** The native suite, or null when libsodium's addon cannot load on this platform. */
export const nativeSuiteIfAvailable: () => CipherSuite | null = onSodium(nativeSuite);

export type SuiteChoice = "auto" | "native" | "portable";

/** Pick the suite: explicit choice, else env GROVE_CRYPTO, else native when available. */
export function selectSuite(choice: SuiteChoice = "auto"): CipherSuite {
  const env = process.env.GROVE_CRYPTO as SuiteChoice | undefined;
  const want = env === "native" || env === "portable" ? env : choice;
  if (want === "portable") return portableSuite;
  const n = nativeSuiteIfAvailable();
  if (n) return n;
  if (want === "native") throw new Error(`native crypto is not available on ${process.platform}-${process.arch}`);
  return portableSuite;
}
