// The bounty ledger on a real placement.db: bytes from `held` and `placements`, byte-hours
// accrued from the bytes recorded at the previous accrual, history points when the balance
// changes or a minute passed, statements kept per peer.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PlacementDb } from "../../src/store/placement-db.ts";
import { PeerStore } from "../../src/fleet/peer-store.ts";
import { Placements } from "../../src/store/placements.ts";
import { BountyLedger } from "../../src/bounty/ledger.ts";
import { bountyReport } from "../../src/bounty/report.ts";
import type { CellId, ChunkHash } from "../../src/core/types.ts";

const dir = mkdtempSync(join(tmpdir(), "grove-bounty-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const P = "a".repeat(64) as CellId;
const Q = "b".repeat(64) as CellId;
const h = (n: number) => n.toString(16).padStart(64, "0") as ChunkHash;
const MiB = 1024 ** 2;
const HOUR = 3_600_000;

test("accrual, balances, history and statements", () => {
  const db = new PlacementDb(join(dir, "placement.db"));
  const peers = new PeerStore(db.db);
  peers.upsert(P, "pi", "{}");
  peers.upsert(Q, "vps", "{}");
  const ledger = new BountyLedger(db.db);
  const t0 = 1_800_000_000_000;

  // We keep 8 MiB for P; P keeps 2 MiB of ours (one record without a size, known from `chunks`).
  db.db.query("INSERT INTO held (owner, chunk_hash, size, stored_at) VALUES (?, ?, ?, ?)").run(P, h(1), 8 * MiB, t0);
  const pl = new Placements(db.db);
  pl.confirm(P, h(2), MiB);
  pl.addLocal(h(3), MiB);
  pl.confirm(P, h(3), null);
  expect(ledger.current(P)).toEqual({ given: 8 * MiB, received: 2 * MiB });

  ledger.accrue(t0);
  expect(ledger.entry(P)).toMatchObject({
    given_bytes: 8 * MiB,
    received_bytes: 2 * MiB,
    given_byte_hours: 0,
    received_byte_hours: 0,
    accrued_at: t0,
  });
  expect(ledger.entry(Q)).toMatchObject({ given_bytes: 0, received_bytes: 0 });

  // Two hours later, and meanwhile P pushed 4 MiB more: the hours count what was kept before.
  db.db.query("INSERT INTO held (owner, chunk_hash, size, stored_at) VALUES (?, ?, ?, ?)").run(P, h(4), 4 * MiB, t0);
  ledger.accrue(t0 + 2 * HOUR);
  expect(ledger.entry(P)).toMatchObject({
    given_bytes: 12 * MiB,
    received_bytes: 2 * MiB,
    given_byte_hours: 16 * MiB,
    received_byte_hours: 4 * MiB,
  });
  ledger.accrue(t0 + 3 * HOUR);
  expect(ledger.entry(P)).toMatchObject({ given_byte_hours: 28 * MiB, received_byte_hours: 6 * MiB });
  // A clock that went back counts nothing and moves nothing back.
  ledger.accrue(t0 + 2 * HOUR);
  expect(ledger.entry(P)).toMatchObject({ given_byte_hours: 28 * MiB, accrued_at: t0 + 3 * HOUR });

  // History: a point per accrual here (each over a minute apart, or the balance changed).
  expect(ledger.history(P).map((p) => p.balance_bytes)).toEqual([-6 * MiB, -10 * MiB, -10 * MiB]);
  ledger.accrue(t0 + 3 * HOUR + 1000); // same balance, a second later: no point
  expect(ledger.history(P).length).toBe(3);

  const r = bountyReport(
    db.db,
    peers,
    { bounty_allowance_bytes: 8 * MiB, bounty_exempt_favorites: true, bounty_exempt_friends: true },
    { now: t0 + 3 * HOUR + 2000 },
  );
  const p = r.peers.find((x) => x.peer === P)!;
  expect(p).toMatchObject({ name: "pi", balance_bytes: -10 * MiB, over_allowance: true, exempt: false, statement: null });
  expect(Math.round(p.balance_byte_hours / MiB)).toBe(-22); // and 2 s × −10 MiB more
  peers.setFlag(P, "friend", true);
  const r2 = bountyReport(
    db.db,
    peers,
    { bounty_allowance_bytes: 8 * MiB, bounty_exempt_favorites: true, bounty_exempt_friends: true },
    { now: t0 + 3 * HOUR + 3000 },
  );
  expect(r2.peers.find((x) => x.peer === P)).toMatchObject({ exempt: true, exempt_as: "friend", over_allowance: false });
  expect(r2.history.find((x) => x.peer === P)!.points.length).toBe(3);
  db.close();
});

test("a peer no longer paired is forgotten at the next accrual", () => {
  const db = new PlacementDb(join(dir, "placement2.db"));
  const peers = new PeerStore(db.db);
  peers.upsert(P, "pi", "{}");
  const ledger = new BountyLedger(db.db);
  db.db.query("INSERT INTO held (owner, chunk_hash, size, stored_at) VALUES (?, ?, ?, ?)").run(P, h(1), MiB, 0);
  ledger.accrue(1_000);
  expect(ledger.entry(P)).not.toBeNull();
  peers.remove(P);
  ledger.accrue(2_000);
  expect(ledger.entry(P)).toBeNull();
  expect(ledger.history(P)).toEqual([]);
  // Paired again much later: it starts afresh, with no hours counted for the time away.
  peers.upsert(P, "pi", "{}");
  ledger.accrue(10 * HOUR);
  expect(ledger.entry(P)).toMatchObject({ given_bytes: MiB, given_byte_hours: 0 });
  db.close();
});
