// Invite tokens and the invite store: encoding, damage (told in plain words), single use, expiry.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { decodeToken, encodeToken, type InviteToken } from "../../src/fleet/invite-token.ts";
import { InviteStore } from "../../src/fleet/invite-store.ts";
import { tempRoot } from "../helpers/cell.ts";
import type { CellId } from "../../src/core/types.ts";

const root = tempRoot("grove-invites-");
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sample: InviteToken = {
  v: 1,
  id: "a".repeat(64) as CellId,
  x25519: "b".repeat(64),
  routes: ["http://127.0.0.1:5678"],
  secret: "c".repeat(64),
  expires_at: 1_900_000_000_000,
};

test("a token round-trips and starts with grove1.", () => {
  const t = encodeToken(sample);
  expect(t.startsWith("grove1.")).toBe(true);
  expect(decodeToken(`  ${t}\n`)).toEqual(sample);
});

test("a token from a newer build, with a field this build does not know, is read (the field ignored)", () => {
  const t = "grove1." + Buffer.from(JSON.stringify({ ...sample, relay_hint: "wss://r.example" })).toString("base64url");
  expect(decodeToken(t)).toEqual(decodeToken(encodeToken(sample)));
});

test("damaged tokens are refused with a reason (400)", () => {
  const t = encodeToken(sample);
  const cases: [string, RegExp][] = [
    ["hello", /not a Grove invite token/],
    ["grove1.!!!", /damaged/],
    [t.slice(0, t.length - 10), /damaged/],
    ["grove1." + Buffer.from(JSON.stringify({ ...sample, secret: "short" })).toString("base64url"), /secret/],
    ["grove1." + "A".repeat(5000), /too long/],
  ];
  for (const [text, re] of cases) {
    let err: unknown;
    try {
      decodeToken(text);
    } catch (e) {
      err = e;
    }
    expect((err as { status?: number }).status).toBe(400);
    expect((err as Error).message).toMatch(re);
  }
});

test("a damaged token is told in one plain sentence, never the validation library's text", () => {
  const enc = (o: unknown) => "grove1." + Buffer.from(JSON.stringify(o)).toString("base64url");
  const t = encodeToken(sample);
  const cases: [string, string][] = [
    ["grove1.bm90", "this invite token is damaged: it does not decode (cut short or changed while copied?)"],
    [t.slice(0, 40), "this invite token is damaged: it does not decode"],
    ["grove1.e30", "this invite token is damaged: it is not an invite"],
    [enc({ ...sample, id: "ab" }), "this invite token is damaged: the inviting cell's id is not valid"],
    [enc({ ...sample, secret: undefined }), "this invite token is damaged: the invite's secret is missing"],
    [enc({ ...sample, routes: [] }), "this invite token is damaged: the list of the inviting cell's addresses is not valid"],
    [enc({ ...sample, expires_at: "soon" }), "this invite token is damaged: the expiry time is not valid"],
    [enc({ ...sample, v: 2 }), "this invite was made by another version of Grove (invite format 2, this cell reads format 1)"],
  ];
  for (const [text, start] of cases) {
    let msg = "";
    try {
      decodeToken(text);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toStartWith(start);
    if (start.includes("damaged"))
      expect(msg).toEndWith("copy the whole token again (it starts with grove1.), or make a new one with `grove invite`");
    expect(msg).not.toMatch(/Invalid|expected|received|base64|JSON|\/\^|\[0-9a-f\]/);
    expect(msg).not.toContain("\n");
  }
});

test("an invite is redeemed once; a second use, an unknown secret and an expired one are refused", () => {
  const dir = join(root, "a");
  mkdirSync(dir);
  let now = 1_000_000;
  const store = new InviteStore(dir, () => now);
  const inv = store.issue(60_000);
  expect(inv.expires_at).toBe(1_060_000);
  expect(readdirSync(dir).join()).not.toContain(inv.secret); // only a hash is stored
  store.redeem(inv.secret, "x".repeat(64));
  expect(() => store.redeem(inv.secret, "y".repeat(64))).toThrow(/already used/);
  expect(() => store.redeem("d".repeat(64), "y".repeat(64))).toThrow(/unknown invite/);
  expect(() => store.redeem("nothex", "y".repeat(64))).toThrow(/malformed/);
  const late = store.issue(1000);
  now += 2000;
  expect(() => store.redeem(late.secret, "y".repeat(64))).toThrow(/expired/);
  expect(() => store.redeem(late.secret, "y".repeat(64))).toThrow(/unknown invite/);
});

test("sweep removes expired, unredeemed invites only", () => {
  const dir = join(root, "b");
  mkdirSync(dir);
  let now = 5_000;
  const store = new InviteStore(dir, () => now);
  const a = store.issue(100);
  store.issue(10_000);
  const used = store.issue(100);
  store.redeem(used.secret, "z".repeat(64));
  now += 500;
  expect(store.sweep()).toBe(1);
  expect(() => store.redeem(a.secret, "z".repeat(64))).toThrow(/unknown invite/);
  expect(readdirSync(dir).length).toBe(2);
});
