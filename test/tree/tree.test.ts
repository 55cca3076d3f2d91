/**
 * One tree across my cells, as pure functions (src/tree): the hybrid clock, the event schema, the
 * version vector, and the rule that turns a set of events into a tree. The property test makes
 * random puts, deletes, moves and conflict resolutions on three replicas with skewed clocks, syncs
 * random pairs with events lost, repeated and reordered, then syncs all: the three trees must be
 * equal, and no content that no event replaced may be missing from them.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { CellId, ManifestHash } from "../../src/core/types.ts";
import { HybridClock, compareStamps, MAX_SKEW_MS } from "../../src/tree/hlc.ts";
import { eventId, TreeEventSchema, type TreeEvent } from "../../src/tree/events.ts";
import { conflictName, materialize, type TreeEntry } from "../../src/tree/materialize.ts";
import { EventSet } from "../../src/tree/version-vector.ts";
import { LiveTree } from "../../src/tree/live-tree.ts";

const cell = (c: string) => c.repeat(64) as CellId;
const manifest = (n: number) => n.toString(16).padStart(64, "0") as ManifestHash;

/** One of my cells, as far as the tree goes: its events, its clock, and changes made on its view. */
class Replica {
  readonly set = new EventSet();
  /** The same tree kept event by event, as a cell keeps it (tree/live-tree). */
  readonly live = new LiveTree();
  readonly clock: HybridClock;
  constructor(
    readonly id: CellId,
    readonly name: string,
    now: () => number,
  ) {
    this.clock = new HybridClock(now);
  }
  tree(): Map<string, TreeEntry> {
    return materialize(this.set.events());
  }
  private make(e: Omit<TreeEvent, "origin" | "by" | "seq" | "at">): TreeEvent {
    const ev: TreeEvent = { origin: this.id, by: this.name, seq: this.set.nextSeq(this.id), at: this.clock.tick(), ...e };
    if (this.set.add(TreeEventSchema.parse(ev))) this.live.add(ev);
    return ev;
  }
  put(path: string, m: ManifestHash): TreeEvent {
    const cur = this.tree().get(path);
    return this.make({ kind: "put", path, manifest: m, replaces: cur ? [cur.event] : [] });
  }
  remove(path: string): TreeEvent | null {
    const cur = this.tree().get(path);
    return cur ? this.make({ kind: "delete", path, replaces: [cur.event] }) : null;
  }
  move(from: string, to: string): TreeEvent | null {
    const t = this.tree();
    const src = t.get(from);
    if (!src || from === to) return null;
    const dst = t.get(to);
    return this.make({ kind: "move", from, path: to, manifest: src.manifest, replaces: dst ? [src.event, dst.event] : [src.event] });
  }
  /** Take what `other` has and this one lacks (all of it, or the part `keep` lets through). */
  pullFrom(other: Replica, keep: (i: number) => boolean = () => true): void {
    other.set.missingFrom(this.set.vector()).forEach((e, i) => {
      if (!keep(i)) return;
      this.clock.observe(e.at);
      if (this.set.add(e)) this.live.add(e);
    });
  }
}

const flat = (t: Map<string, TreeEntry>) => [...t.entries()];
/** The live tree in path order, as materialize gives it. */
const sorted = (t: ReadonlyMap<string, TreeEntry>) => [...t.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe("hybrid clock", () => {
  test("never goes backwards, even when the wall clock does; a stamp seen comes before the next one made", () => {
    let now = 1000;
    const c = new HybridClock(() => now);
    const a = c.tick();
    now = 500; // the wall clock stepped back
    const b = c.tick();
    expect(compareStamps(b, a)).toBeGreaterThan(0);
    c.observe({ wall: 5000, n: 3 });
    expect(compareStamps(c.tick(), { wall: 5000, n: 3 })).toBeGreaterThan(0);
  });
  test("a stamp more than a day ahead is refused", () => {
    const c = new HybridClock(() => 0);
    expect(() => c.observe({ wall: MAX_SKEW_MS + 1, n: 0 })).toThrow(/too far in the future/);
    c.observe({ wall: MAX_SKEW_MS, n: 0 }); // at the limit: taken
  });
});

describe("events from another cell are checked", () => {
  const ok = {
    origin: cell("a"),
    by: "laptop",
    seq: 1,
    at: { wall: 1, n: 0 },
    kind: "put",
    path: "a.txt",
    manifest: manifest(1),
    replaces: [],
  };
  test("a well-formed event parses", () => {
    expect(TreeEventSchema.parse(ok).path).toBe("a.txt");
  });
  test.each([
    ["a path with ..", { path: "../x" }],
    ["an absolute path", { path: "/etc/passwd" }],
    ["a delete with a manifest", { kind: "delete" }],
    ["a put without a manifest", { manifest: undefined }],
    ["a put with `from`", { from: "b.txt" }],
    ["a move without `from`", { kind: "move" }],
    ["an event that replaces itself", { replaces: [`${cell("a")}:1`] }],
    ["seq 0", { seq: 0 }],
    ["a malformed replaced id", { replaces: ["x:1"] }],
  ])("refused: %s", (_why, change) => {
    expect(TreeEventSchema.safeParse({ ...ok, ...change }).success).toBe(false);
  });
});

describe("the rule", () => {
  const mk = (name: string, c: string, start: number) => {
    let t = start;
    return new Replica(cell(c), name, () => t++);
  };

  test("edits one after another: the last is current, no conflict", () => {
    const a = mk("laptop", "a", 1000);
    const b = mk("pi", "b", 1000);
    a.put("x.txt", manifest(1));
    b.pullFrom(a);
    b.put("x.txt", manifest(2));
    a.pullFrom(b);
    a.put("x.txt", manifest(3));
    b.pullFrom(a);
    expect(flat(a.tree())).toEqual(flat(b.tree()));
    expect([...a.tree().keys()]).toEqual(["x.txt"]);
    expect(a.tree().get("x.txt")!.manifest).toBe(manifest(3));
  });

  test("concurrent edits: the later stamp is current, the other a conflict copy named after its cell; both contents stay", () => {
    const a = mk("laptop", "a", Date.UTC(2026, 11, 5, 15, 30, 0));
    const b = mk("pi", "b", Date.UTC(2026, 11, 5, 15, 31, 0));
    a.put("docs/report.txt", manifest(1));
    b.pullFrom(a);
    a.put("docs/report.txt", manifest(2)); // both edit the version they share
    b.put("docs/report.txt", manifest(3));
    a.pullFrom(b);
    b.pullFrom(a);
    expect(flat(a.tree())).toEqual(flat(b.tree()));
    const t = a.tree();
    expect(t.get("docs/report.txt")!.manifest).toBe(manifest(3)); // pi's stamp is later
    const copy = "docs/report (conflict laptop 2026-12-05 153000).txt";
    expect(t.get(copy)).toMatchObject({ manifest: manifest(2), conflictOf: "docs/report.txt" });

    // Deleting the copy resolves it on every cell.
    b.remove(copy);
    a.pullFrom(b);
    expect([...a.tree().keys()]).toEqual(["docs/report.txt"]);
  });

  test("deleting the current file while a conflict copy remains brings the copy back as current (nothing unseen is deleted)", () => {
    const a = mk("laptop", "a", 1000);
    const b = mk("pi", "b", 2000);
    a.put("x.txt", manifest(1));
    b.put("x.txt", manifest(2)); // concurrent: b wins, a's is a copy
    a.pullFrom(b);
    expect([...a.tree().values()].filter((e) => e.conflictOf).length).toBe(1);
    a.remove("x.txt");
    expect(flat(a.tree())).toEqual([["x.txt", { manifest: manifest(1), event: `${cell("a")}:1` }]]);
  });

  test("a delete concurrent with an edit: the edit stays", () => {
    const a = mk("laptop", "a", 1000);
    const b = mk("pi", "b", 5000); // b's clock is ahead: its delete is "later", and still loses to the edit
    a.put("x.txt", manifest(1));
    b.pullFrom(a);
    a.put("x.txt", manifest(2));
    b.remove("x.txt");
    a.pullFrom(b);
    b.pullFrom(a);
    expect(flat(a.tree())).toEqual(flat(b.tree()));
    expect(a.tree().get("x.txt")!.manifest).toBe(manifest(2));
  });

  test("a move is kept as a move: gone from the old path, the same content at the new one", () => {
    const a = mk("laptop", "a", 1000);
    a.put("old/name.txt", manifest(7));
    a.move("old/name.txt", "new/name.txt");
    expect(flat(a.tree())).toEqual([["new/name.txt", { manifest: manifest(7), event: `${cell("a")}:2` }]]);
  });

  test("a move concurrent with an edit of its source: both survive (the moved file, and the edit at the old path)", () => {
    const a = mk("laptop", "a", 1000);
    const b = mk("pi", "b", 1000);
    a.put("f.txt", manifest(1));
    b.pullFrom(a);
    a.move("f.txt", "g.txt");
    b.put("f.txt", manifest(2));
    a.pullFrom(b);
    b.pullFrom(a);
    expect(flat(a.tree())).toEqual(flat(b.tree()));
    expect(a.tree().get("g.txt")!.manifest).toBe(manifest(1));
    expect(a.tree().get("f.txt")!.manifest).toBe(manifest(2));
  });

  test("conflict names: the extension kept last, no extension, a dotfile, a taken name, a long name", () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5);
    expect(conflictName("a/b/photo.tar.gz", "pi", at)).toBe("a/b/photo.tar (conflict pi 2026-01-02 030405).gz");
    expect(conflictName("README", "my/pi", at)).toBe("README (conflict my_pi 2026-01-02 030405)");
    expect(conflictName(".env", "pi", at)).toBe(".env (conflict pi 2026-01-02 030405)");
    const long = conflictName(`${"é".repeat(120)}.txt`, "pi", at);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(250);
    expect(long.endsWith(" (conflict pi 2026-01-02 030405).txt")).toBe(true);
  });
});

describe("three replicas converge", () => {
  const PATHS = ["a.txt", "b.txt", "d/c.txt", "d/e/f.bin"];
  const op = fc.oneof(
    fc.record({ t: fc.constant("put" as const), r: fc.nat(2), p: fc.constantFrom(...PATHS), m: fc.integer({ min: 1, max: 50 }) }),
    fc.record({ t: fc.constant("delete" as const), r: fc.nat(2), p: fc.constantFrom(...PATHS) }),
    fc.record({ t: fc.constant("move" as const), r: fc.nat(2), p: fc.constantFrom(...PATHS), q: fc.constantFrom(...PATHS) }),
    fc.record({ t: fc.constant("resolve" as const), r: fc.nat(2), edit: fc.boolean() }),
    fc.record({ t: fc.constant("sync" as const), r: fc.nat(2), from: fc.nat(2), lose: fc.nat(3) }),
    fc.record({ t: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
  );

  test("random concurrent changes, lossy and reordered exchange, then a full sync: one tree, nothing lost", () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: -30_000, max: 30_000 }), { minLength: 3, maxLength: 3 }),
        (ops, skews) => {
          let now = Date.UTC(2026, 11, 5);
          const rs = ["a", "b", "c"].map((c, i) => new Replica(cell(c), `cell-${c}`, () => now + skews[i]!));
          for (const o of ops) {
            if (o.t === "tick") now += o.ms;
            else if (o.t === "put") rs[o.r]!.put(o.p, manifest(o.m));
            else if (o.t === "delete") rs[o.r]!.remove(o.p);
            else if (o.t === "move") rs[o.r]!.move(o.p, o.q);
            else if (o.t === "resolve") {
              const copy = [...rs[o.r]!.tree()].find(([, e]) => e.conflictOf);
              if (copy) {
                if (o.edit) rs[o.r]!.put(copy[0], manifest(99));
                else rs[o.r]!.remove(copy[0]);
              }
            } else if (o.from !== o.r) {
              // Every `lose`-th event is lost on the way (1 = none); the exchange is retried later.
              rs[o.r]!.pullFrom(rs[o.from]!, (i) => o.lose === 0 || i % (o.lose + 1) !== o.lose);
            }
            // The tree kept event by event is the tree materialized from scratch, at every step.
            if (o.t !== "tick") expect(sorted(rs[o.r]!.live.view())).toEqual(flat(rs[o.r]!.tree()));
          }
          for (let round = 0; round < 2; round++) for (const x of rs) for (const y of rs) if (x !== y) x.pullFrom(y);

          const trees = rs.map((r) => flat(r.tree()));
          for (const r of rs) expect(sorted(r.live.view())).toEqual(flat(r.tree()));
          expect(trees[1]).toEqual(trees[0]!);
          expect(trees[2]).toEqual(trees[0]!);
          expect(rs.map((r) => r.set.size)).toEqual([rs[0]!.set.size, rs[0]!.set.size, rs[0]!.set.size]);
          // Nothing lost: every put or move that no event replaced is in the tree, current or as a copy.
          const all = [...rs[0]!.set.events()];
          const replaced = new Set(all.flatMap((e) => e.replaces));
          const shown = new Set(trees[0]!.map(([, e]) => e.event));
          for (const e of all) if (e.kind !== "delete" && !replaced.has(eventId(e))) expect(shown.has(eventId(e))).toBe(true);
          // And the tree does not depend on the order the events arrived in.
          expect(flat(materialize([...all].reverse()))).toEqual(trees[0]!);
        },
      ),
      { numRuns: 300 },
    );
  });
});
