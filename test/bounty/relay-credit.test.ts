/**
 * Relay bytes in the bounty, with real cells on loopback: R runs a relay (config relay_port) and
 * is paired with A and B; A and B hold reservations on it. B's only direct route goes through a
 * TCP proxy that is cut, so A's sync to B (B is A's favorite) goes through R's relay. R proves it
 * operates the relay, so A and B credit R with the bytes it carried for them, R credits itself
 * with the same bytes on their rows, the figures travel in the signed statements and agree, and
 * count in the balance over time at RELAY_CREDIT_HOURS per byte.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliJson, destroyCell, freePort, pair, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import { CountingProxy } from "../../bench/lib/tcp-proxy.ts";
import { RELAY_CREDIT_HOURS } from "../../src/bounty/ledger.ts";
import type { BountyPeer, BountyReport } from "../../src/bounty/types.ts";
import type { SyncReport } from "../../src/sync/round.ts";

const SIZE = 3_000_000;
let r: TestCell, a: TestCell, b: TestCell;
let proxy: CountingProxy;
const id = new Map<TestCell, string>();
const root = tempRoot("grove-relay-credit-");
const relayPort = freePort();

const rowOf = async (cell: TestCell, peer: TestCell): Promise<BountyPeer> => {
  const rep = await cliJson<BountyReport>(cell, ["bounty"]);
  const row = rep.peers.find((p) => p.peer === id.get(peer));
  if (!row) throw new Error(`no bounty row for ${id.get(peer)} on ${cell.dir}`);
  return row;
};
const relayState = async (c: TestCell) =>
  (await cliJson<{ relays: { state: string; operator: string | null }[] }>(c, ["status"])).relays[0];

beforeAll(async () => {
  const bPort = freePort();
  const proxyPort = freePort();
  proxy = new CountingProxy(proxyPort, bPort).start();
  // No round of its own after a put (sync_after_change_s 0): the relay carries only what the test drives.
  const cfg = { replication_factor: 2, sync_interval_s: 3600, sync_after_change_s: 0, relays: [`ws://127.0.0.1:${relayPort}`] };
  [r, a, b] = await Promise.all([
    startCell({ config: { replication_factor: 2, sync_interval_s: 3600, name: "relay-r", relay_port: relayPort } }),
    startCell({ config: { ...cfg, name: "cell-a" } }),
    startCell({
      listen: { host: "127.0.0.1", port: bPort },
      config: { ...cfg, name: "cell-b", advertise: [`http://127.0.0.1:${proxyPort}`] },
    }),
  ]);
  for (const x of [r, a, b]) id.set(x, cellIdOf(x));
  await pair(b, a);
  await pair(r, a);
  await pair(r, b);
  expect((await a.cli(["peers", "favorite", id.get(b)!])).code).toBe(0);
  for (let i = 0; i < 100 && ((await relayState(a))?.state !== "ready" || (await relayState(b))?.state !== "ready"); i++)
    await Bun.sleep(100);
}, 120_000);

afterAll(async () => {
  proxy?.stop();
  await Promise.all([destroyCell(r), destroyCell(a), destroyCell(b)]);
  rmSync(root, { recursive: true, force: true });
}, 60_000);

test("the relay names the cell that runs it, proven at login", async () => {
  for (const c of [a, b]) expect(await relayState(c)).toMatchObject({ state: "ready", operator: id.get(r) });
});

test("bytes carried by R's relay are credited to R by A and B, and by R to itself on their rows; statements agree", async () => {
  proxy.stop(); // B is reachable through R's relay only
  const src = join(root, "via-relay.bin");
  writeFileSync(src, pseudoRandom(SIZE, 7));
  expect((await a.cli(["put", src, "--as", "via-relay.bin"])).code).toBe(0);
  const s = await cliJson<SyncReport>(a, ["sync"]);
  expect(s.errors).toEqual([]);
  expect(s.chunks_pushed).toBeGreaterThanOrEqual(1);
  // The chunk (3 MB sealed) crossed the relay: A sent it, B received it.
  const aSeesR = await rowOf(a, r);
  const bSeesR = await rowOf(b, r);
  expect(aSeesR.relay_received_bytes).toBeGreaterThan(SIZE);
  expect(bSeesR.relay_received_bytes).toBeGreaterThan(SIZE);
  expect(aSeesR.relay_given_bytes).toBe(0);
  const rSeesA = await rowOf(r, a);
  const rSeesB = await rowOf(r, b);
  expect(rSeesA.relay_given_bytes).toBeGreaterThan(SIZE);
  expect(rSeesB.relay_given_bytes).toBeGreaterThan(SIZE);
  expect(rSeesA.relay_received_bytes).toBe(0);
  // Both sides count payload bytes. They differ by frames one side counted and the other did
  // not (a frame the relay dropped for a congested recipient, then sent again): within 10 %.
  const counts = {
    hub_for_a: rSeesA.relay_given_bytes,
    a_counted: aSeesR.relay_received_bytes,
    hub_for_b: rSeesB.relay_given_bytes,
    b_counted: bSeesR.relay_received_bytes,
  };
  const close = (x: number, y: number) => Math.abs(x - y) <= 0.1 * Math.max(x, y);
  expect({ counts, close: close(counts.hub_for_a, counts.a_counted) && close(counts.hub_for_b, counts.b_counted) }).toEqual({
    counts,
    close: true,
  });
  // A and R keep nothing for each other: the balance over time is the relay credit alone.
  expect(aSeesR.balance_byte_hours).toBeGreaterThanOrEqual(aSeesR.relay_received_bytes * RELAY_CREDIT_HOURS - 1);
  expect(rSeesA.balance_byte_hours).toBeLessThanOrEqual(-rSeesA.relay_given_bytes * RELAY_CREDIT_HOURS + 1);
  // B and A pay nothing to each other for the relay.
  expect((await rowOf(a, b)).relay_received_bytes).toBe(0);

  // The next round exchanges statements with R (a direct route): the relay figures travel signed and agree.
  const s2 = await cliJson<SyncReport>(a, ["sync"]);
  expect(s2.bounty_disagreements).toBe(0);
  const after = await rowOf(a, r);
  expect(after.statement).not.toBeNull();
  expect(after.statement!.agree).toBe(true);
  expect(after.statement!.theirs.relay_given_bytes).toBeGreaterThan(SIZE);
  expect(after.statement!.ours.relay_received_bytes).toBeGreaterThan(SIZE);
  // The CLI table shows it.
  const table = (await r.cli(["bounty"])).stdout;
  expect(table).toContain("RELAYED US/IT");
}, 90_000);
