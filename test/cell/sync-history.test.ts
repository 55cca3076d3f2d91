/**
 * The sync rounds' throughput kept across restarts (cell/sync-history): rounds written to
 * GROVE_DIR/sync_history.json are there again when the history is opened anew (as after a
 * restart) and drawn by the Storage tab's chart; older rounds are merged by quarter hour and by two
 * hours, rounds older than 7 days go, so a week of rounds every 10 s stays a few hundred points;
 * a torn or foreign file starts an empty history.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HISTORY_MS, SyncHistory, compact, syncHistoryPath, type HistoryPoint } from "../../src/cell/sync-history.ts";
import { ThroughputChart } from "../../views/charts.tsx";

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const root = mkdtempSync(join(tmpdir(), "grove-sync-history-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const round = (at: number, sent = 1000, received = 0): HistoryPoint => ({
  at,
  duration_ms: 100,
  bytes_sent: sent,
  bytes_received: received,
  reached: 1,
  peers: 1,
  rounds: 1,
});

describe("sync history", () => {
  test("rounds written are read back by a history opened anew, and the chart draws them", async () => {
    const dir = join(root, "restart");
    const path = syncHistoryPath({ dir });
    let clock = NOW - 10 * MIN;
    const before = new SyncHistory(path, () => clock);
    await before.add(round(clock, 4 * 1024 * 1024));
    clock += 5 * MIN;
    await before.add(round(clock, 0, 2048));
    clock += 5 * MIN;
    await before.add(round(clock, 0, 0));
    expect(JSON.parse(readFileSync(path, "utf8")).points).toHaveLength(3);

    // "Restarted": a new history on the same file, a minute later.
    const after = new SyncHistory(path, () => clock + MIN);
    expect(after.list()).toEqual(before.list());
    expect(after.list().map((p) => p.bytes_sent + p.bytes_received)).toEqual([4 * 1024 * 1024, 2048, 0]);
    const svg = String(await ThroughputChart({ rounds: after.list(), now: clock + MIN }));
    expect(svg.match(/class="round-bar"/g)).toHaveLength(3);
    expect(svg).toContain(
      'aria-label="Bytes moved by the last 3 sync rounds: 4.0 MiB in all, at most 4.0 MiB in one round; the latest moved 0 B."',
    );
  });

  test("older rounds are merged (by quarter hour after an hour, by two hours after a day); older than 7 days go", () => {
    const points = [
      round(NOW - 8 * 24 * HOUR), // too old
      round(NOW - 2 * 24 * HOUR), // two-hour span [.., ..+2h)
      round(NOW - 2 * 24 * HOUR + 30 * MIN),
      round(NOW - 3 * HOUR), // quarter hour
      round(NOW - 3 * HOUR + 5 * MIN),
      round(NOW - 3 * HOUR + 20 * MIN), // next quarter hour
      round(NOW - 10 * MIN), // the last hour: as they ran
      round(NOW - 5 * MIN),
    ];
    const c = compact(points, NOW);
    expect(c.map((p) => [p.at, p.rounds])).toEqual([
      [NOW - 2 * 24 * HOUR, 2],
      [NOW - 3 * HOUR, 2],
      [NOW - 3 * HOUR + 20 * MIN, 1],
      [NOW - 10 * MIN, 1],
      [NOW - 5 * MIN, 1],
    ]);
    expect(c[0]!.bytes_sent).toBe(2000);
    expect(c[0]!.duration_ms).toBe(200);
    // Merged bars are said to be bars in the chart.
    const svg = String(ThroughputChart({ rounds: c, now: NOW }));
    expect(svg).toContain("in one bar;");
    expect(svg).toContain('data-rounds="2"');
    expect(svg).toContain("older rounds are grouped");
  });

  test("a week of rounds every 10 s stays a few hundred points", () => {
    const points: HistoryPoint[] = [];
    for (let at = NOW - HISTORY_MS; at <= NOW; at += 10_000) points.push(round(at));
    const c = compact(points, NOW);
    expect(c.length).toBeLessThanOrEqual(240);
    expect(c.reduce((n, p) => n + p.rounds, 0)).toBe(points.length - 1); // all but the one exactly 7 days old
    expect(compact(c, NOW)).toEqual(c); // compacting again changes nothing
  });

  test("a torn or foreign file starts an empty history, and the next round replaces it", async () => {
    const path = join(root, "torn.json");
    writeFileSync(path, '{"points": [{"at": 1, "dura');
    const h = new SyncHistory(path, () => NOW);
    expect(h.list()).toEqual([]);
    writeFileSync(path, JSON.stringify({ points: [{ at: "x" }, round(NOW - MIN), { ...round(NOW), rounds: 0 }] }));
    expect(new SyncHistory(path, () => NOW).list()).toEqual([round(NOW - MIN)]);
    await h.add(round(NOW));
    expect(new SyncHistory(path, () => NOW).list()).toEqual([round(NOW)]);
  });
});
