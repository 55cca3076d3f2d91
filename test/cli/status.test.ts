// cli/status: the sync line of `grove status` for each state a cell's rounds can be in.
import { expect, test } from "bun:test";
import { syncLine } from "../../src/cli/status.ts";
import type { SyncStatus } from "../../src/web/api/status.ts";

const NOW = 1_800_000_000_000;
const base: SyncStatus = { running: false, progress: null, last: null, last_error: null, interval_s: 300, after_change_s: 5 };
const last = {
  started_at: NOW - 185_000,
  duration_ms: 5_000,
  reached: 2,
  peers: 3,
  chunks_pushed: 16,
  chunks_pulled: 1,
  under_replicated: 0,
  missing: 0,
  errors: 0,
};

test("off, no round yet, running (with and without a report yet)", () => {
  expect(syncLine(null, NOW)).toBe("off (this cell runs no sync rounds)");
  expect(syncLine({ ...base, after_change_s: 0 }, NOW)).toBe(
    "no round has finished since the cell started; every 300 s; `grove sync` runs one now",
  );
  expect(syncLine(base, NOW)).toBe(
    "no round has finished since the cell started; every 300 s, and 5 s after a file is stored; `grove sync` runs one now",
  );
  expect(syncLine({ ...base, running: true }, NOW)).toBe("running: starting…");
  const progress = { phase: "pushing" as const, done: 3, total: 16, bytes_done: 3 * 4194320, bytes_total: 16 * 4194320 };
  expect(syncLine({ ...base, running: true, progress }, NOW)).toBe("running: pushing chunks 3/16, 12 MiB of 64 MiB (18%)…");
});

test("the last round in brief: how long ago it ended, peers, chunks moved, what is at risk, errors", () => {
  expect(syncLine({ ...base, last }, NOW)).toBe(
    "last round 3 min ago: 2 of 3 peers reached, 16 pushed, 1 pulled; it left every chunk at the replication factor; every 300 s, and 5 s after a file is stored; `grove sync` runs one now",
  );
  expect(syncLine({ ...base, last: { ...last, under_replicated: 4, missing: 2, errors: 1 } }, NOW)).toBe(
    "last round 3 min ago: 2 of 3 peers reached, 16 pushed, 1 pulled; it left 2 chunks with no copy known, 4 chunks under the replication factor, 1 error (`grove sync` shows them); every 300 s, and 5 s after a file is stored; `grove sync` runs one now",
  );
  expect(syncLine({ ...base, last, last_error: "sync worker crashed: out of memory" }, NOW)).toBe(
    "the last round failed: sync worker crashed: out of memory; every 300 s, and 5 s after a file is stored; `grove sync` runs one now",
  );
});

test("a cell with nothing stored says so, instead of every chunk being at the replication factor", () => {
  const empty = { ...last, chunks_pushed: 0, chunks_pulled: 0, reached: 0, peers: 0 };
  expect(syncLine({ ...base, last: empty }, NOW, 0)).toBe(
    "last round 3 min ago: 0 of 0 peers reached, 0 pushed, 0 pulled; nothing stored yet; every 300 s, and 5 s after a file is stored; `grove sync` runs one now",
  );
  expect(syncLine({ ...base, last: { ...empty, errors: 1 } }, NOW, 0)).toContain(
    "; nothing stored yet; 1 error (`grove sync` shows them); ",
  );
  // Something stored: the round's verdict, as before.
  expect(syncLine({ ...base, last }, NOW, 5)).toContain("it left every chunk at the replication factor");
  expect(syncLine({ ...base, last: { ...last, under_replicated: 2 } }, NOW, 0)).toContain("it left 2 chunks under the replication factor");
});
