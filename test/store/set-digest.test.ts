import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { BUCKETS, bucketOf, differingBuckets, digestSet, inBuckets } from "../../src/store/set-digest.ts";

const name = (i: number) => createHash("sha256").update(String(i)).digest("hex");

describe("set digest", () => {
  test("order and duplicates do not change the digest; any change does", () => {
    const names = Array.from({ length: 1000 }, (_, i) => name(i));
    const a = digestSet(names);
    const b = digestSet([...names].reverse().concat(names.slice(0, 10)));
    expect(b.root).toBe(a.root);
    expect(a.count).toBe(1000);
    expect(a.buckets.length).toBe(BUCKETS);
    const c = digestSet(names.slice(1));
    expect(c.root).not.toBe(a.root);
    const d = digestSet([...names, name(5000)]);
    expect(d.root).not.toBe(a.root);
  });

  test("only the buckets of the names that differ differ", () => {
    const names = Array.from({ length: 5000 }, (_, i) => name(i));
    const extra = [name(90001), name(90002)];
    const a = digestSet(names);
    const b = digestSet([...names, ...extra]);
    const diff = differingBuckets(a.buckets, b.buckets);
    expect(diff.sort((x, y) => x - y)).toEqual([...new Set(extra.map(bucketOf))].sort((x, y) => x - y));
    expect(inBuckets([...names, ...extra], diff).filter((n) => !names.includes(n))).toEqual(extra);
  });

  test("the empty set has a fixed digest", () => {
    expect(digestSet([]).root).toBe(digestSet([]).root);
    expect(digestSet([]).count).toBe(0);
  });
});
