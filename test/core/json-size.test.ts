/**
 * core/json-size: the bounded JSON length check agrees with JSON.stringify on every JSON value
 * (property-based), and answers on a 100,000-deep value that JSON.stringify overflows on.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { jsonLengthExceeds } from "../../src/core/json-size.ts";

describe("jsonLengthExceeds", () => {
  test("agrees with JSON.stringify(value).length at and around the exact length", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const n = JSON.stringify(v).length;
        expect(jsonLengthExceeds(v, n)).toBe(false);
        if (n > 0) expect(jsonLengthExceeds(v, n - 1)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test("a 100,000-deep value is answered (JSON.stringify overflows on it)", () => {
    const deep = JSON.parse("[".repeat(100_000) + "]".repeat(100_000));
    const wide = new Array(1_000_000).fill(0);
    expect(jsonLengthExceeds(deep, 8192)).toBe(true);
    expect(jsonLengthExceeds(wide, 8192)).toBe(true);
  });

  test("a cycle is endless JSON: over any limit", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(jsonLengthExceeds(a, 16_384)).toBe(true);
  });
});
