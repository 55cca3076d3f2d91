/**
 * A join through the API (POST /api/join, what `grove join` calls) and the sync rounds after it,
 * with real cells. The inviter records the joiner, and the joiner the inviter, before the join
 * answers; the sync Worker reads the peers from placement.db when each round starts. So a round
 * started after the join answered always takes the new peer. What made a test's first `grove sync`
 * after a quick join miss the backups was the cell's own start-up round (one round when it
 * starts): late on a busy machine, it could start after the join and do that work first (a full
 * peer's 507 then deferred the test's round by 10 min). test/helpers' pair() waits it out.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { SyncReport } from "../../src/sync/round.ts";
import { destroyCell, pair, putFile, startCell, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";

const cfg = { replication_factor: 2, sync_interval_s: 3600, sync_after_change_s: 0 };
const cells: TestCell[] = [];
afterAll(async () => {
  await Promise.all(cells.map(destroyCell));
});
async function start(config: Record<string, unknown> = {}): Promise<TestCell> {
  const c = await startCell({ config: { ...cfg, ...config } });
  cells.push(c);
  return c;
}
/** The backups `holder` keeps for `owner`, by kind. */
function backupsOn(holder: TestCell, owner: TestCell): { manifest: number; index: number } {
  const db = new Database(join(holder.dir, "placement.db"), { readonly: true });
  try {
    const rows = db.query("SELECT kind, COUNT(*) AS n FROM backups WHERE owner = ? GROUP BY kind").all(cellIdOf(owner)) as {
      kind: "manifest" | "index";
      n: number;
    }[];
    return { manifest: 0, index: 0, ...Object.fromEntries(rows.map((r) => [r.kind, r.n])) };
  } finally {
    db.close();
  }
}
async function sync(c: TestCell): Promise<SyncReport> {
  const r = await c.api("/api/sync", { method: "POST" });
  expect(r.status).toBe(200);
  return (await r.json()) as SyncReport;
}

test("pair() through the API: the first round after it backs up to the new peer, and meets a full peer's refusal", async () => {
  const [x, roomy, full] = await Promise.all([start(), start(), start({ max_peer_storage_bytes: 0 })]);
  await pair(x, roomy);
  await pair(x, full);
  await putFile(x, "m.txt", "a manifest to back up\n");
  const first = await sync(x);
  expect(first.reached).toBe(2);
  expect(first.backups_pushed).toBe(2); // to the roomy peer: the manifest and the index
  expect(first.backups_deferred).toBe(0);
  const refused = first.errors.filter((e) => e.includes("backing up"));
  expect(refused.length).toBe(1);
  expect(refused[0]).toContain("max_peer_storage_bytes");
  expect(backupsOn(roomy, x)).toEqual({ manifest: 1, index: 1 });
  expect(backupsOn(full, x)).toEqual({ manifest: 0, index: 0 });
}, 60_000);

test("a round asked for right after the join answers takes the new peer, even while the start-up round still runs", async () => {
  const [x, z] = await Promise.all([start(), start()]);
  await putFile(x, "m.txt", "stored before the join\n");
  // No wait for the start-up rounds: the join lands wherever it lands.
  const inv = await x.api("/api/invites", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  const { token } = (await inv.json()) as { token: string };
  const joined = await z.api("/api/join", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token }),
  });
  expect(joined.status).toBe(200);
  // Whichever round pushed them (the start-up round, when it started after the join, or this one), the
  // round asked for now ends with the peer reached and holding every backup.
  const r = await sync(x);
  expect(r.reached).toBe(1);
  expect(r.errors).toEqual([]);
  expect(backupsOn(z, x)).toEqual({ manifest: 1, index: 1 });
  // And the joiner's round, asked for at once too, reaches the inviter.
  expect((await sync(z)).reached).toBe(1);
}, 60_000);
