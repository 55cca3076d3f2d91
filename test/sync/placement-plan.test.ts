import { describe, expect, test } from "bun:test";
import { planPlacement, rankPeers, type PlanPeer } from "../../src/sync/placement-plan.ts";
import type { CellId, ChunkHash } from "../../src/core/types.ts";

const id = (c: string) => c.repeat(64) as CellId;
const h = (c: string) => c.repeat(64) as ChunkHash;
const peer = (c: string, o: Partial<PlanPeer> = {}): PlanPeer => ({
  id: id(c),
  counted: true,
  reachable: true,
  favorite: false,
  score: 10,
  ...o,
});

describe("placement plan", () => {
  test("favorites first, then lower score, unmeasured last", () => {
    const ranked = rankPeers([
      peer("a", { score: 5 }),
      peer("b", { score: null }),
      peer("c", { favorite: true, score: 90 }),
      peer("d", { score: 1 }),
    ]);
    expect(ranked.map((p) => p.id[0])).toEqual(["c", "d", "a", "b"]);
  });

  test("R=2 counting this cell: one push to the best peer, with the others as fallbacks", () => {
    const plan = planPlacement([{ hash: h("1"), local: true, holders: [] }], [peer("a", { score: 50 }), peer("b", { score: 5 })], 2);
    expect(plan.push).toEqual([{ hash: h("1"), need: 1, candidates: [id("b"), id("a")], wasPlaced: false }]);
    expect(plan.release).toEqual([]);
    expect(plan.under).toBe(1);
  });

  test("a chunk at the factor is left alone; R=3 wants two peers", () => {
    expect(planPlacement([{ hash: h("1"), local: true, holders: [id("a")] }], [peer("a"), peer("b")], 2).push).toEqual([]);
    expect(planPlacement([{ hash: h("1"), local: true, holders: [] }], [peer("a"), peer("b")], 3).push[0]!.need).toBe(2);
  });

  test("a lost peer's copy does not count: the chunk goes to another peer (healing)", () => {
    const plan = planPlacement(
      [{ hash: h("1"), local: true, holders: [id("a")] }],
      [peer("a", { counted: false, reachable: false }), peer("b")],
      2,
    );
    expect(plan.push).toEqual([{ hash: h("1"), need: 1, candidates: [id("b")], wasPlaced: true }]);
  });

  test("strict cap: when a lost peer returns, the least preferred copy is released", () => {
    const plan = planPlacement(
      [{ hash: h("1"), local: true, holders: [id("a"), id("b")] }],
      [peer("a", { favorite: true }), peer("b", { score: 1 })],
      2,
    );
    expect(plan.release).toEqual([{ peer: id("b"), hash: h("1") }]);
    expect(plan.push).toEqual([]);
  });

  test("never more than R: unreachable holders still count, so nothing is pushed over them", () => {
    const plan = planPlacement([{ hash: h("1"), local: true, holders: [id("a")] }], [peer("a", { reachable: false }), peer("b")], 2);
    expect(plan.push).toEqual([]);
  });

  test("a chunk this cell lacks is not pushed (it is pulled first); one with no copy at all is reported", () => {
    const plan = planPlacement(
      [
        { hash: h("1"), local: false, holders: [id("a")] },
        { hash: h("2"), local: false, holders: [] },
      ],
      [peer("a"), peer("b")],
      2,
    );
    expect(plan.push).toEqual([]);
    expect(plan.lost).toEqual([h("2")]);
  });
});
