/**
 * @module store/set-digest — cheap inventories: a digest of a set of 64-hex names, split into
 * 256 buckets by the names' first byte. Two cells that agree compare one root (32 bytes); when
 * they differ they compare the 256 bucket digests and list only the buckets that differ.
 *
 * bucket digest = SHA-256 over the bucket's names in ascending order, each as 32 raw bytes
 * (the empty bucket's digest is SHA-256 of nothing); root = SHA-256 of the 256 bucket digests.
 */
import { sha256 } from "../core/sha256.ts";

export const BUCKETS = 256;

export interface SetDigest {
  root: string;
  /** 256 hex digests, bucket i holding the names that start with byte i. */
  buckets: string[];
  count: number;
}

/** The bucket of a 64-hex name: its first byte. */
export function bucketOf(name: string): number {
  return parseInt(name.slice(0, 2), 16);
}

/** Digest of `names` (any order, no duplicates expected; duplicates are ignored). */
export function digestSet(names: Iterable<string>): SetDigest {
  const sorted = [...new Set(names)].sort();
  const hashers = Array.from({ length: BUCKETS }, () => sha256());
  for (const n of sorted) hashers[bucketOf(n)]!.update(Buffer.from(n, "hex"));
  const buckets = hashers.map((h) => h.digest("hex"));
  const root = sha256();
  for (const b of buckets) root.update(Buffer.from(b, "hex"));
  return { root: root.digest("hex"), buckets, count: sorted.length };
}

/** Indexes of the buckets where `a` and `b` differ. */
export function differingBuckets(a: readonly string[], b: readonly string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < BUCKETS; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

/** Only the names of `names` that fall in one of `buckets`. */
export function inBuckets<T extends string>(names: Iterable<T>, buckets: readonly number[]): T[] {
  const want = new Set(buckets);
  const out: T[] = [];
  for (const n of names) if (want.has(bucketOf(n))) out.push(n);
  return out;
}
