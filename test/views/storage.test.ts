/**
 * The Storage tab's words about risk (views/storage): a holder that has not been seen lately is
 * said, not hidden behind a green "nothing at risk"; and the round summary says when the factor
 * counts copies on peers the round did not reach.
 */
import { describe, expect, test } from "bun:test";
import { awayHolders, StorageBody, type StorageState } from "../../views/storage.tsx";
import { summarize } from "../../src/sync/summary.ts";
import type { PeerPlacement, PlacementReport } from "../../src/sync/placement-report.ts";
import type { CellId } from "../../src/core/types.ts";
import type { SyncReport } from "../../src/sync/round.ts";

const NOW = Date.UTC(2026, 11, 5, 16, 0, 0);
const peer = (lastSeenAgoS: number | null, chunks = 3): PeerPlacement => ({
  id: "b".repeat(64) as CellId,
  name: "pi-in-the-attic",
  counted: true,
  last_seen: lastSeenAgoS === null ? null : NOW - lastSeenAgoS * 1000,
  holds_for_us: { chunks, bytes: chunks * 1000 },
  we_hold_for_it: { chunks: 0, bytes: 0, backups: 0, backup_bytes: 0 },
});
const report = (peers: PeerPlacement[]): PlacementReport => ({
  factor: 2,
  files: [],
  at_risk: [],
  peers,
  totals: { files: 1, at_risk: 0, held_for_others_bytes: 0, max_peer_storage_bytes: 1 },
});
const state = (r: PlacementReport): StorageState => ({
  report: r,
  sync: { available: true, running: false, progress: null, last: null, lastError: null, intervalS: 300, history: [] },
  lostAfterS: 86400,
});
const html = async (s: StorageState) => String(await StorageBody(s));

describe("a holder not seen lately", () => {
  test("is named with a warning, not a green line, once it has been away for two sync intervals", async () => {
    expect(awayHolders(report([peer(601)]), 300, NOW).map((p) => p.name)).toEqual(["pi-in-the-attic"]);
    expect(awayHolders(report([peer(599)]), 300, NOW)).toEqual([]);
    expect(awayHolders(report([peer(601, 0)]), 300, NOW)).toEqual([]); // holds nothing of ours
    const page = await html(state(report([peer(3 * 3600)])));
    expect(page).toContain('id="away-holders"');
    expect(page).toContain("pi-in-the-attic");
    expect(page).toContain("Their copies count until it has been away for 1 day");
    expect(page).not.toContain("Nothing at risk");
  });

  test("a holder seen in the last round: the green line", async () => {
    const page = await html(state(report([{ ...peer(0), last_seen: Date.now() }])));
    expect(page).toContain("Nothing at risk");
    expect(page).not.toContain('id="away-holders"');
  });

  test("the round summary says the factor counts copies on peers it did not reach", () => {
    const r = { reached: 0, peers: 1, unreached: ["pi (bbbbbbbb)"], chunks: 4, under_replicated: 0, missing: 0 } as Partial<SyncReport>;
    const text = summarize({ ...base(), ...r } as SyncReport);
    expect(text).toContain("counting copies on 1 peer not reached in this round");
  });
});

function base(): Record<string, unknown> {
  return {
    routes_probed: 0,
    benchmarks: 0,
    chunks_pushed: 0,
    bytes_pushed: 0,
    healed: 0,
    chunks_pulled: 0,
    bytes_pulled: 0,
    released: 0,
    audited: 0,
    audit_failed: 0,
    backups_pushed: 0,
    backups_deferred: 0,
    duration_ms: 10,
    errors: [],
  };
}

describe("more files than the tables show", () => {
  test("says how many more, naming no command", async () => {
    const file = (i: number): PlacementReport["files"][number] => ({
      path: `f${i}.txt`,
      version: 1,
      size: 1,
      chunks: 1,
      copies: 1,
      desired: 2,
      holders: ["self"],
    });
    const files = Array.from({ length: 501 }, (_, i) => file(i));
    const page = await html(state({ ...report([]), files, at_risk: files }));
    expect(page).toContain("… and 1 more, not listed here");
    expect(page).not.toContain("grove placement");
  });
});
