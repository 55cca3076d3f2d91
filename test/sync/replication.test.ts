/**
 * Replication with real cells on loopback: three cells, R=2. After a put on A every chunk is on
 * exactly two cells; a chunk damaged on a peer is caught by the audit and placed again; when the
 * holder is lost the chunks reach the third cell; when it returns the surplus copy is released.
 */
import { chunkBytes, hasChunk, rotChunk } from "../helpers/chunks.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pair, destroyCell, startCell, type TestCell } from "../helpers/cell.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import type { SyncReport } from "../../src/sync/round.ts";
import type { PlacementReport } from "../../src/sync/placement-report.ts";

// Long enough that a round under a loaded CI machine (both test workers busy) ends inside it.
const LOST_AFTER_S = 4;
const config = { replication_factor: 2, sync_interval_s: 3600, peer_lost_after_s: LOST_AFTER_S, audit_sample: 8 };

let a: TestCell, b: TestCell, c: TestCell;
let chunks: string[] = [];
const names = new Map<TestCell, string>();

const holds = (cell: TestCell, h: string) => hasChunk(cell.dir, h);
const copies = (h: string) => [a, b, c].filter((x) => holds(x, h));

async function sync(cell: TestCell): Promise<SyncReport> {
  const r = await cell.cli(["sync", "--json"]);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout) as SyncReport;
}

beforeAll(async () => {
  [a, b, c] = await Promise.all([startCell({ config }), startCell({ config }), startCell({ config })]);
  names.set(a, "A").set(b, "B").set(c, "C");
  await pair(a, b);
  await pair(a, c);
  const src = join(a.root, "data.bin");
  writeFileSync(src, pseudoRandom(10 * 1024 * 1024 + 12345, 7));
  expect((await a.cli(["put", src, "--as", "data.bin"])).code).toBe(0);
  const meta = (await (await a.api("/api/files/data.bin?meta")).json()) as { manifest: { chunks: { hash: string }[] } };
  chunks = meta.manifest.chunks.map((x) => x.hash);
  expect(chunks.length).toBe(3);
}, 120_000);

afterAll(async () => {
  await Promise.all([destroyCell(a), destroyCell(b), destroyCell(c)]);
});

describe("replication across three cells, R=2", () => {
  let holder: TestCell;
  let third: TestCell;

  test("after a put and a round, every chunk is on exactly two cells (this one and one peer)", async () => {
    const r = await sync(a);
    expect(r.reached).toBe(2);
    expect(r.chunks_pushed).toBe(3);
    expect(r.under_replicated).toBe(0);
    for (const h of chunks) {
      expect(copies(h).length).toBe(2);
      expect(holds(a, h)).toBe(true);
    }
    // All three chunks went to the same (best-scored) peer.
    holder = holds(b, chunks[0]!) ? b : c;
    third = holder === b ? c : b;
    for (const h of chunks) expect(holds(holder, h)).toBe(true);
    const placement = (await (await a.api("/api/placement")).json()) as PlacementReport;
    expect(placement.files).toEqual([expect.objectContaining({ path: "data.bin", copies: 2, desired: 2 })]);
    expect(placement.at_risk).toEqual([]);
    // A second round has nothing to do: the inventories agree.
    const idle = await sync(a);
    expect(idle.chunks_pushed + idle.chunks_pulled + idle.released).toBe(0);
    expect(idle.audited).toBe(3);
    expect(idle.audit_failed).toBe(0);
  });

  test("a chunk damaged on the peer fails its audit and is replicated again", async () => {
    const victim = chunks[1]!;
    rotChunk(holder.dir, victim, 1000);
    const r = await sync(a);
    expect(r.audit_failed).toBe(1);
    expect(r.chunks_pushed).toBe(1);
    expect(r.under_replicated).toBe(0);
    const now = copies(victim);
    expect(now.length).toBe(2);
    for (const cell of now) expect(createHash("sha256").update(chunkBytes(cell.dir, victim)!).digest("hex")).toBe(victim);
    // Put the test back in its simple shape: every chunk on A and one peer, whichever it is.
    holder = holds(b, chunks[0]!) ? b : c;
    third = holder === b ? c : b;
  });

  test("a lost holder no longer counts: its chunks go to the third cell; when it returns the surplus is released", async () => {
    const onHolder = chunks.filter((h) => holds(holder, h));
    expect(onHolder.length).toBeGreaterThan(0);
    await holder.stop();
    const stoppedAt = Date.now(); // A last heard from the holder before this
    // Within the grace time the holder still counts: nothing moves.
    const early = await sync(a);
    expect(early.reached).toBe(1);
    expect(early.chunks_pushed).toBe(0);
    // Past the grace time since the holder stopped (the round above counts towards it).
    await Bun.sleep(Math.max(0, stoppedAt + LOST_AFTER_S * 1000 + 500 - Date.now()));
    const healed = await sync(a);
    expect(healed.chunks_pushed).toBe(onHolder.length);
    expect(healed.healed).toBe(onHolder.length);
    expect(healed.under_replicated).toBe(0);
    for (const h of chunks) expect(holds(third, h)).toBe(true);

    // The holder comes back (same GROVE_DIR, a new port): its first round tells A where it is now.
    const back = await startCell({ root: holder.root, config });
    try {
      const hello = await sync(back);
      expect(hello.reached).toBe(1);
      const r = await sync(a);
      expect(r.reached).toBe(2);
      expect(r.released).toBe(onHolder.length);
      for (const h of chunks) {
        const n = [a, back, third].filter((x) => holds(x, h)).length;
        expect(n).toBe(2);
        expect(holds(a, h)).toBe(true);
      }
      const placement = (await (await a.api("/api/placement")).json()) as PlacementReport;
      expect(placement.files[0]!.copies).toBe(2);
      // And it stays that way.
      const again = await sync(a);
      expect(again.chunks_pushed + again.released).toBe(0);
    } finally {
      await destroyCell(back);
    }
  });
});
