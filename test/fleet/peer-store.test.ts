// The peers table: upsert keeps flags, prefixes resolve uniquely, removal.
import { afterAll, expect, test } from "bun:test";
import { PeerStore } from "../../src/fleet/peer-store.ts";
import { openTempCell } from "../helpers/vault.ts";
import type { CellId } from "../../src/core/types.ts";

const cell = openTempCell();
afterAll(() => cell.destroy());
const peers = new PeerStore(cell.db.db);
const A = ("abcd" + "1".repeat(60)) as CellId;
const B = ("abce" + "2".repeat(60)) as CellId;

test("upsert adds, refreshes the card and keeps flags", () => {
  peers.upsert(A, "laptop", "{}", 1000);
  peers.setFlag(A, "friend", true);
  peers.upsert(A, "laptop-2", '{"v":1}', 2000);
  const a = peers.get(A)!;
  expect(a).toMatchObject({ name: "laptop-2", card: '{"v":1}', friend: true, favorite: false, added_at: 1000, last_seen: 2000 });
});

test("a unique prefix resolves; an ambiguous or unknown one is refused with a reason", () => {
  peers.upsert(B, "pi", "{}");
  expect(peers.resolve("abcd").id).toBe(A);
  expect(peers.resolve("ABCE").id).toBe(B);
  expect(() => peers.resolve("abc")).toThrow(/4 to 64 hex/);
  expect(() => peers.resolve("abcf")).toThrow(/no peer/);
  const both = ("abcd" + "3".repeat(60)) as CellId;
  peers.upsert(both, "vps", "{}");
  expect(() => peers.resolve("abcd")).toThrow(/matches 2 peers/);
  expect(peers.resolve("abcd1").id).toBe(A);
  peers.remove(both);
  expect(peers.list().map((p) => p.name)).toEqual(["laptop-2", "pi"]);
});
