import { describe, expect, test } from "bun:test";
import { HeldRing } from "../../src/sync/held-ring.ts";

const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);

describe("held ring (push on store's shared memory)", () => {
  test("places are taken in order, hold the bytes put, and none is given when there is no room", () => {
    const r = new HeldRing(100);
    const view = new Uint8Array(r.buffer);
    expect(r.put(bytes(40, 1))).toBe(0);
    expect(r.put(bytes(40, 2))).toBe(40);
    expect(r.put(bytes(30, 3))).toBeNull(); // 20 left at the end, nothing free before the oldest
    expect(r.held).toBe(80);
    expect(view[0]).toBe(1);
    expect(view[79]).toBe(2);
    expect(r.put(bytes(101, 4))).toBeNull();
    expect(r.put(new Uint8Array(0))).toBeNull();
  });

  test("space is reused once the oldest place is given back, wrapping around; a place given back early waits", () => {
    const r = new HeldRing(100);
    const a = r.put(bytes(40, 1))!;
    const b = r.put(bytes(40, 2))!;
    r.give(b); // not the oldest: nothing reusable yet
    expect(r.held).toBe(40);
    expect(r.put(bytes(30, 3))).toBeNull();
    r.give(a);
    expect(r.held).toBe(0);
    expect(r.put(bytes(30, 3))).toBe(0); // empty: from the start
    expect(r.put(bytes(50, 4))).toBe(30);
    const c = r.put(bytes(20, 5))!; // fits at the end exactly
    expect(c).toBe(80);
    r.give(0);
    expect(r.put(bytes(31, 6))).toBeNull(); // wrapped: 30 free before the oldest (30)
    expect(r.put(bytes(30, 6))).toBe(0);
    expect(new Uint8Array(r.buffer)[0]).toBe(6);
    expect(r.held).toBe(100);
  });

  test("an offset given twice, or never taken, changes nothing", () => {
    const r = new HeldRing(64);
    const a = r.put(bytes(16, 1))!;
    r.put(bytes(16, 2));
    r.give(a);
    r.give(a);
    r.give(7);
    expect(r.held).toBe(16);
  });

  test("a long run of puts and out-of-order gives never overlaps two live places", () => {
    const r = new HeldRing(1000);
    const live = new Map<number, number>();
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let i = 0; i < 5000; i++) {
      if (rnd(3) && live.size) {
        const keys = [...live.keys()];
        const at = keys[rnd(keys.length)]!;
        r.give(at);
        live.delete(at);
      } else {
        const n = 1 + rnd(300);
        const at = r.put(bytes(n, 9));
        if (at === null) continue;
        expect(at + n).toBeLessThanOrEqual(1000);
        for (const [o, m] of live) expect(at + n <= o || o + m <= at).toBe(true);
        live.set(at, n);
      }
    }
  });
});
