/**
 * The direction of imports between top-level folders (docs/architecture.md): no two folders may
 * import each other, directly or through others. Read from the sources themselves (every
 * `import … from` and `export … from`, types included), so a new loop fails here.
 */
import { expect, test } from "bun:test";
import { folderGraph, loops } from "../helpers/import-graph.ts";

test("no import loop between top-level folders", () => {
  const g = folderGraph();
  expect(g.size).toBeGreaterThan(10);
  const found = loops(g).map((c) => {
    const pairs = c.flatMap((a) => c.filter((b) => g.get(a)!.has(b)).map((b) => `${a}→${b}`));
    return `${c.join(" ↔ ")} (${pairs.join(", ")})`;
  });
  expect(found).toEqual([]);
});

test("core imports no other folder", () => {
  expect([...(folderGraph().get("core") ?? [])]).toEqual([]);
});

/**
 * The layers, lowest first (docs/architecture.md, "Layers"): a folder may import only folders of a
 * lower layer. cli and runtime wire, web and views present, features in the middle, then the
 * pieces they share, then core.
 */
const LAYERS: string[][] = [
  ["core"],
  ["crypto"],
  ["protocol", "store", "tree"],
  ["net", "ingest"],
  ["config", "relay"],
  ["cell"],
  ["fleet", "trash"],
  ["ai", "bounty", "message", "mine", "share", "update"],
  ["dav", "sync", "build"],
  ["api"],
  ["views"],
  ["web"],
  ["runtime"],
  ["cli"],
];

test("every import goes down the layers", () => {
  const rank = new Map(LAYERS.flatMap((l, i) => l.map((f) => [f, i] as const)));
  const g = folderGraph();
  const unknown = [...g.keys()].filter((f) => !rank.has(f));
  expect(unknown).toEqual([]); // a new folder needs its place in LAYERS (and in docs/architecture.md)
  const upward: string[] = [];
  for (const [from, tos] of g) for (const to of tos) if (rank.get(to)! >= rank.get(from)!) upward.push(`${from} → ${to}`);
  expect(upward).toEqual([]);
});
