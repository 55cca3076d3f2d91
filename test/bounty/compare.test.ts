// The bounty's pure rules: comparing statements (tolerances both ways), the allowance check and
// exemptions, signed statements (sign, verify, refuse the forged and the misdirected), thinning
// history for the chart.
import { describe, expect, test } from "bun:test";
import { compareStatement, tolerance, BYTES_TOLERANCE, BYTE_HOURS_TOLERANCE } from "../../src/bounty/compare.ts";
import { checkAllowance, exemptionOf, overAllowance } from "../../src/bounty/allowance.ts";
import { thin } from "../../src/bounty/report.ts";
import { makeStatement, verifyStatement } from "../../src/protocol/bounty-statement.ts";
import { deriveIdentity } from "../../src/crypto/keys.ts";
import { toHex, type CellId } from "../../src/core/types.ts";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const view = (given: number, received: number, gbh = 0, rbh = 0) => ({
  given_bytes: given,
  received_bytes: received,
  given_byte_hours: gbh,
  received_byte_hours: rbh,
});

describe("compareStatement", () => {
  test("the peer's given is our received and the other way round", () => {
    // The peer keeps 100 MiB of ours and says so; we keep 40 MiB of its and it says so.
    expect(compareStatement(view(100 * MiB, 40 * MiB), view(40 * MiB, 100 * MiB))).toEqual({ agree: true, reason: null });
    // The same figures on the wrong side do not agree.
    const c = compareStatement(view(100 * MiB, 40 * MiB), view(100 * MiB, 40 * MiB), "pi (3fa9c2d1)");
    expect(c.agree).toBe(false);
    expect(c.reason).toContain("2 figures disagree");
    expect(c.reason).toContain("pi (3fa9c2d1) says it keeps 100 MiB for this cell, this cell counts 40 MiB");
  });

  test("bytes: within max(5 %, 16 MiB) agree, beyond do not", () => {
    expect(compareStatement(view(0, 16 * MiB), view(0, 0)).agree).toBe(true);
    expect(compareStatement(view(0, 16 * MiB + 1), view(0, 0)).agree).toBe(false);
    // 5 % of 10 GiB = 512 MiB.
    expect(compareStatement(view(10 * GiB, 0), view(0, 10 * GiB - 500 * MiB)).agree).toBe(true);
    expect(compareStatement(view(10 * GiB, 0), view(0, 10 * GiB - 600 * MiB)).agree).toBe(false);
    expect(tolerance(10 * GiB, 0, BYTES_TOLERANCE)).toBe(512 * MiB);
  });

  test("relay bytes: its relay's figure is our received, ours its received; absent counts as 0", () => {
    const relay = (given: number, received: number) => ({ ...view(0, 0), relay_given_bytes: given, relay_received_bytes: received });
    expect(compareStatement(relay(500 * MiB, 0), relay(0, 500 * MiB)).agree).toBe(true);
    expect(compareStatement(relay(0, 0), view(0, 0)).agree).toBe(true); // an older statement without the fields
    const c = compareStatement(relay(500 * MiB, 0), relay(0, 100 * MiB), "r (aa11bb22)");
    expect(c.agree).toBe(false);
    expect(c.reason).toContain("r (aa11bb22) says its relay carried 500 MiB for this cell, this cell counts 100 MiB");
    expect(compareStatement(relay(0, 300 * MiB), relay(0, 0)).reason).toContain("this cell's relay carried 300 MiB for it");
  });

  test("byte-hours: within max(10 %, 1 GiB·h) agree, beyond do not", () => {
    expect(compareStatement(view(0, 0, GiB, 0), view(0, 0, 0, 0)).agree).toBe(true);
    expect(compareStatement(view(0, 0, 0, GiB + 1), view(0, 0, 0, 0)).agree).toBe(false);
    expect(compareStatement(view(0, 0, 100 * GiB, 0), view(0, 0, 0, 91 * GiB)).agree).toBe(true);
    const c = compareStatement(view(0, 0, 100 * GiB, 0), view(0, 0, 0, 80 * GiB));
    expect(c.agree).toBe(false);
    expect(c.reason).toContain("1 figure disagree");
    expect(c.reason).toContain("says it has kept 100 GiB·h for this cell over time, this cell counts 80 GiB·h");
    expect(tolerance(100 * GiB, 80 * GiB, BYTE_HOURS_TOLERANCE)).toBe(10 * GiB);
  });
});

describe("allowance", () => {
  const allowance = 6 * MiB;
  test("refused once the balance less the chunk would pass −allowance", () => {
    expect(checkAllowance({ received: 0, given: 0, size: 4 * MiB, allowance, exempt: false })).toBeNull();
    expect(checkAllowance({ received: 0, given: 2 * MiB, size: 4 * MiB, allowance, exempt: false })).toBeNull(); // exactly −6 MiB: still within
    const why = checkAllowance({ received: 0, given: 4 * MiB, size: 4 * MiB, allowance, exempt: false }, "pi (3fa9c2d1)");
    expect(why).toBe(
      "cell pi (3fa9c2d1) is over its bounty allowance here: it keeps 0 B for this cell, this cell keeps 4.0 MiB for it, allowance 6.0 MiB (this chunk: 4.0 MiB)",
    );
    // What the peer keeps for us is credit.
    expect(checkAllowance({ received: 10 * MiB, given: 4 * MiB, size: 4 * MiB, allowance, exempt: false })).toBeNull();
    // Exempt peers are never refused.
    expect(checkAllowance({ received: 0, given: 100 * GiB, size: 4 * MiB, allowance, exempt: true })).toBeNull();
    expect(overAllowance(-allowance - 1, allowance, false)).toBe(true);
    expect(overAllowance(-allowance, allowance, false)).toBe(false);
    expect(overAllowance(-allowance - 1, allowance, true)).toBe(false);
  });

  test("exemptions follow the config", () => {
    const cfg = (fav: boolean, fr: boolean) => ({ bounty_allowance_bytes: 1, bounty_exempt_favorites: fav, bounty_exempt_friends: fr });
    expect(exemptionOf({ favorite: true, friend: true }, cfg(true, true))).toBe("favorite");
    expect(exemptionOf({ favorite: true, friend: true }, cfg(false, true))).toBe("friend");
    expect(exemptionOf({ favorite: true, friend: false }, cfg(false, true))).toBeNull();
    expect(exemptionOf({ favorite: false, friend: false }, cfg(true, true))).toBeNull();
  });
});

describe("signed statements", () => {
  const a = deriveIdentity(new Uint8Array(32).fill(1));
  const b = deriveIdentity(new Uint8Array(32).fill(2));
  const A = toHex(a.ed25519Public) as CellId;
  const B = toHex(b.ed25519Public) as CellId;
  const now = 1_800_000_000_000;

  test("verifies when from the signer to this cell; byte-hours rounded", () => {
    const s = makeStatement(a.ed25519Secret, A, B, now, view(5, 7, 1.4, 2.6));
    expect(s).toMatchObject({
      type: "bounty-statement",
      v: 1,
      from: A,
      to: B,
      given_bytes: 5,
      received_bytes: 7,
      given_byte_hours: 1,
      received_byte_hours: 3,
    });
    expect(verifyStatement(JSON.parse(JSON.stringify(s)), { signer: A, self: B, now })).toEqual(s);
  });

  test("altered, forged, misdirected, stale or malformed statements are refused", () => {
    const s = makeStatement(a.ed25519Secret, A, B, now, view(5, 7));
    const status = (v: unknown, signer = A, self = B) => {
      try {
        verifyStatement(v, { signer, self, now });
        return 200;
      } catch (e) {
        return (e as { status: number }).status;
      }
    };
    expect(status({ ...s, given_bytes: 6 })).toBe(400); // altered
    expect(status(makeStatement(b.ed25519Secret, A, B, now, view(5, 7)))).toBe(400); // signed by another key
    expect(status(s, B)).toBe(403); // not from the signer
    expect(status(s, A, A)).toBe(403); // to another cell
    expect(status(makeStatement(a.ed25519Secret, A, B, now - 10 * 60_000, view(5, 7)))).toBe(400); // stale
    expect(status({ ...s, extra: 1 })).toBe(400);
    expect(status({ ...s, given_bytes: -1 })).toBe(400);
  });
});

test("thin keeps the first and last points and at most max", () => {
  const pts = Array.from({ length: 1000 }, (_, i) => ({ at: i, balance_bytes: i, balance_byte_hours: 0 }));
  const t = thin(pts, 50);
  expect(t.length).toBe(50);
  expect(t[0]!.at).toBe(0);
  expect(t[49]!.at).toBe(999);
  expect(thin(pts.slice(0, 10), 50).length).toBe(10);
});
