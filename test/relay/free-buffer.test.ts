import { expect, test } from "bun:test";
import { freeBuffer } from "../../src/relay/free-buffer.ts";

test("a large buffer is freed at once (detached: its views read as empty); a small one, or none, is left alone", () => {
  const big = new Uint8Array(1024 * 1024).fill(1);
  const view = big.subarray(10, 20);
  freeBuffer(view);
  expect(big.buffer.detached).toBe(true);
  expect(big.byteLength).toBe(0);
  const small = new Uint8Array(100).fill(2);
  freeBuffer(small);
  expect(small[99]).toBe(2);
  freeBuffer(null);
  freeBuffer(big); // twice: nothing happens
});
