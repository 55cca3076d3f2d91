// Cell cards: made, signed, verified; forged, altered, malformed and oversized cards refused.
import { describe, expect, test } from "bun:test";
import {
  CardError,
  MAX_CARD_BYTES,
  cardChanged,
  isNewerCard,
  makeCard,
  verifyCard,
  type Card,
  type CardInput,
} from "../../src/protocol/card.ts";
import { deriveIdentity, sign } from "../../src/crypto/keys.ts";
import { toHex, type CellId } from "../../src/core/types.ts";
import { canonicalJson } from "../../src/core/canonical-json.ts";

const alice = deriveIdentity(new Uint8Array(32).fill(1));
const mallory = deriveIdentity(new Uint8Array(32).fill(2));
const ISSUED = new Date("2025-03-01T12:00:00.000Z");
const NOW = () => ISSUED.getTime();

function input(over: Partial<CardInput> = {}): CardInput {
  return {
    identity: alice,
    name: "alice-laptop",
    addresses: ["http://192.168.1.5:5678", "http://100.101.102.103:5678"],
    build: "ab".repeat(32),
    capabilities: {
      free_bytes: 500e9,
      models: [{ name: "llama3.2:3b", source: "ollama", parameters: 3_200_000_000, size: 2_019_393_189, tokens_per_s: 21 }],
      ram_bytes: 16 * 2 ** 30,
      gpu: null,
    },
    issuedAt: ISSUED,
    ...over,
  };
}

/** Re-sign an arbitrary object with `secret`, as a forger holding that key would. */
function resign(card: Record<string, unknown>, secret: Uint8Array): Record<string, unknown> {
  const { signature: _s, ...rest } = card;
  return { ...rest, signature: toHex(sign(secret, new TextEncoder().encode(canonicalJson(rest)))) };
}

function refusal(value: unknown): string {
  try {
    verifyCard(value, { now: NOW });
  } catch (e) {
    expect(e).toBeInstanceOf(CardError);
    return (e as Error).message;
  }
  throw new Error("card was accepted");
}

describe("makeCard", () => {
  test("signs a card that verifies, with the ids derived from the identity", () => {
    const card = makeCard(input());
    expect(card.v).toBe(1);
    expect(card.id).toBe(toHex(alice.ed25519Public) as CellId);
    expect(card.x25519).toBe(toHex(alice.x25519Public));
    expect(card.issued_at).toBe("2025-03-01T12:00:00.000Z");
    expect(card.signature).toMatch(/^[0-9a-f]{128}$/);
    expect(verifyCard(card, { now: NOW })).toEqual(card);
  });

  test("the signature covers the canonical JSON of every other field", () => {
    const card = makeCard(input());
    const { signature, ...rest } = card;
    expect(resign(rest, alice.ed25519Secret).signature).toBe(signature);
  });

  test("round-trips through JSON text and bytes", () => {
    const card = makeCard(input());
    const json = JSON.stringify(card);
    expect(verifyCard(json, { now: NOW })).toEqual(card);
    expect(verifyCard(new TextEncoder().encode(json), { now: NOW })).toEqual(card);
  });

  test("refuses to make a card that would not verify", () => {
    expect(() => makeCard(input({ name: "" }))).toThrow(CardError);
    expect(() => makeCard(input({ addresses: ["not a url"] }))).toThrow(/addresses\.0/);
    expect(() => makeCard(input({ build: "xyz" }))).toThrow(/build/);
  });

  test("defaults issued_at to now", () => {
    const before = Date.now();
    const card = makeCard(input({ issuedAt: undefined }));
    expect(Date.parse(card.issued_at)).toBeGreaterThanOrEqual(before);
    expect(verifyCard(card).id).toBe(card.id);
  });
});

describe("verifyCard refuses", () => {
  const good = () => ({ ...makeCard(input()) }) as Record<string, unknown>;

  test("a card altered after signing", () => {
    expect(refusal({ ...good(), name: "evil" })).toMatch(/signature does not verify/);
    expect(refusal({ ...good(), addresses: ["http://6.6.6.6:5678"] })).toMatch(/signature/);
    const caps = { ...(good().capabilities as object), free_bytes: 1 };
    expect(refusal({ ...good(), capabilities: caps })).toMatch(/signature/);
    expect(refusal({ ...good(), issued_at: "2025-03-01T12:00:01.000Z" })).toMatch(/signature/);
  });

  test("a card whose id is not the key that signed it", () => {
    // Mallory signs a card that claims Alice's id.
    expect(refusal(resign(good(), mallory.ed25519Secret))).toMatch(/signature does not verify against the card's id/);
    // Or swaps Alice's X25519 key for her own, keeping Alice's id.
    expect(refusal(resign({ ...good(), x25519: toHex(mallory.x25519Public) }, mallory.ed25519Secret))).toMatch(/signature/);
  });

  test("a card with a garbage signature", () => {
    expect(refusal({ ...good(), signature: "00".repeat(64) })).toMatch(/signature/);
    expect(refusal({ ...good(), signature: "zz" })).toMatch(/^invalid cell card: signature: /);
  });

  test("malformed fields, each named", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ v: 2 }, /^invalid cell card: v: /],
      [{ id: "AB".repeat(32) }, /id: must be 64 lowercase hex/],
      [{ x25519: "ab" }, /x25519: /],
      [{ name: "x".repeat(65) }, /name: /],
      [{ addresses: "http://a:1" }, /addresses: /],
      [{ addresses: ["ftp:nohost"] }, /addresses\.0: must be an absolute URL/],
      [{ build: 7 }, /build: /],
      [{ capabilities: { free_bytes: -1, models: [], ram_bytes: 0, gpu: null } }, /capabilities\.free_bytes: /],
      [{ capabilities: { free_bytes: 1, models: [""], ram_bytes: 0, gpu: null } }, /capabilities\.models\.0: /],
      [
        {
          capabilities: {
            free_bytes: 1,
            models: [{ name: "", source: "local", parameters: 1, size: 1, tokens_per_s: null }],
            ram_bytes: 0,
            gpu: null,
          },
        },
        /capabilities\.models\.0\.name: /,
      ],
      [
        {
          capabilities: {
            free_bytes: 1,
            models: [{ name: "m", source: "cloud", parameters: 1, size: 1, tokens_per_s: null }],
            ram_bytes: 0,
            gpu: null,
          },
        },
        /capabilities\.models\.0\.source: /,
      ],
      [
        {
          capabilities: {
            free_bytes: 1,
            models: [{ name: "m", source: "local", parameters: 1, size: 1, tokens_per_s: -1 }],
            ram_bytes: 0,
            gpu: null,
          },
        },
        /capabilities\.models\.0\.tokens_per_s: /,
      ],
      [{ capabilities: { free_bytes: 1, models: [], ram_bytes: 1.5, gpu: null } }, /capabilities\.ram_bytes: /],
      [{ capabilities: { free_bytes: 1, models: [], ram_bytes: 0 } }, /capabilities\.gpu: /],
      [{ issued_at: "yesterday" }, /issued_at: /],
    ];
    for (const [patch, expected] of cases) expect(refusal(resign({ ...good(), ...patch }, alice.ed25519Secret))).toMatch(expected);
    const { name: _n, ...noName } = good();
    expect(refusal(resign(noName, alice.ed25519Secret))).toMatch(/name: /);
  });

  test("a name with a control, bidi or invisible character, signed by its own cell", () => {
    const names: [string, RegExp][] = [
      ["evil\x1b[2J", /^invalid cell card: name: contains a control character \(U\+001B\) at position 5/],
      ["two\nlines", /name: contains a control character \(U\+000A\)/],
      ["c1\u009b", /name: contains a control character \(U\+009B\)/],
      ["del\x7f", /name: contains a control character \(U\+007F\)/],
      ["alice\u202Epot-lab", /name: contains a bidi control \(U\+202E\)/],
      ["bob\u2066x\u2069", /name: contains a bidi control \(U\+2066\)/],
      ["ad\u200Bmin", /name: contains an invisible formatting character \(U\+200B\)/],
      ["\uFEFFalice", /name: contains an invisible formatting character \(U\+FEFF\)/],
    ];
    for (const [name, expected] of names) {
      const why = refusal(resign({ ...good(), name }, alice.ed25519Secret));
      expect(why).toMatch(expected);
      expect(why).not.toContain(name); // the message never carries the character itself
    }
    // makeCard refuses to sign one too: a cell cannot hand it out.
    expect(() => makeCard(input({ name: "evil\x1b[2J" }))).toThrow(/name: contains a control character/);
    // Names in any script, emoji sequences (ZWJ) and Persian ZWNJ are names.
    for (const name of ["東京の家", "שלום-laptop", "👩‍💻 dev", "می‌خواهم"])
      expect(verifyCard(makeCard(input({ name })), { now: NOW }).name).toBe(name);
  });

  test("fields this build does not know: ignored, kept, and under the signature (a newer build's card)", () => {
    const newer = resign(
      { ...good(), extra: { nested: [1, "two"] }, capabilities: { ...(good().capabilities as object), npu: "x1" } },
      alice.ed25519Secret,
    );
    const card = verifyCard(newer, { now: NOW }) as unknown as Record<string, unknown>;
    expect(card.extra).toEqual({ nested: [1, "two"] });
    expect((card.capabilities as Record<string, unknown>).npu).toBe("x1");
    // Passed on as received, it verifies again elsewhere; an unknown field added or changed after signing does not.
    expect(() => verifyCard(JSON.parse(JSON.stringify(card)), { now: NOW })).not.toThrow();
    expect(refusal({ ...good(), extra: true })).toMatch(/signature does not verify/);
    // Signed, but with a `type` field as every other kind of signed object has: not a card.
    expect(refusal(resign({ ...good(), type: "grant" }, alice.ed25519Secret))).toMatch(/^invalid cell card: type: a card has none/);
    expect(refusal({ ...newer, extra: { nested: [1, "three"] } })).toMatch(/signature does not verify/);
    // A key named "__proto__" (an own property after JSON.parse) is a field like any other: covered by the signature.
    const proto = resign(JSON.parse(JSON.stringify(good()).replace(/^\{/, '{"__proto__":{"admin":true},')), alice.ed25519Secret);
    expect(() => verifyCard(JSON.stringify(proto), { now: NOW })).not.toThrow();
    expect(refusal(JSON.stringify(proto).replace('"admin":true', '"admin":false'))).toMatch(/signature does not verify/);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  test("values that are not a card at all", () => {
    expect(refusal(null)).toMatch(/card: /);
    expect(refusal([1, 2])).toMatch(/card: /);
    expect(refusal(undefined)).toMatch(/not a JSON object/);
    expect(refusal("{not json")).toMatch(/not valid JSON/);
    expect(refusal(new Uint8Array([0xff, 0xfe, 0x7b]))).toMatch(/not valid UTF-8/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(refusal(cyclic)).toMatch(/not serialisable|larger than the 16384-byte limit/); // a cycle is endless JSON
  });

  test("a card over 16 KiB, as an object, text or bytes", () => {
    const big = resign(
      {
        ...good(),
        capabilities: {
          free_bytes: 1,
          models: Array(64).fill({ name: "m".repeat(128), source: "local", parameters: 1e9, size: 1e9, tokens_per_s: 12.5 }),
          ram_bytes: 1,
          gpu: null,
        },
      },
      alice.ed25519Secret,
    );
    const json = JSON.stringify(big);
    expect(json.length).toBeGreaterThan(MAX_CARD_BYTES / 2);
    const padded = json.slice(0, -1) + ',"pad":"' + "x".repeat(MAX_CARD_BYTES) + '"}';
    expect(refusal(padded)).toMatch(/larger than the 16384-byte limit/);
    expect(refusal(new TextEncoder().encode(padded))).toMatch(/16384-byte limit/);
    expect(refusal({ ...big, pad: "x".repeat(MAX_CARD_BYTES) })).toMatch(/16384-byte limit/);
  });

  test("a card dated more than 5 minutes ahead of our clock", () => {
    const card = makeCard(input());
    expect(() => verifyCard(card, { now: () => ISSUED.getTime() - 6 * 60_000 })).toThrow(/in the future/);
    expect(verifyCard(card, { now: () => ISSUED.getTime() - 4 * 60_000 }).id).toBe(card.id);
  });

  test("a card of another cell than the one expected", () => {
    const card = makeCard(input());
    expect(verifyCard(card, { now: NOW, expectId: card.id }).id).toBe(card.id);
    expect(() => verifyCard(card, { now: NOW, expectId: toHex(mallory.ed25519Public) })).toThrow(/expected /);
  });

  test("errors are 400 GroveErrors with code bad_card", () => {
    try {
      verifyCard({}, { now: NOW });
      throw new Error("accepted");
    } catch (e) {
      expect((e as CardError).status).toBe(400);
      expect((e as CardError).code).toBe("bad_card");
    }
  });
});

describe("cardChanged / isNewerCard", () => {
  const a: Card = makeCard(input());

  test("a re-issued card with the same content is not a change", () => {
    const later = makeCard(input({ issuedAt: new Date(ISSUED.getTime() + 60_000) }));
    expect(cardChanged(a, later)).toBe(false);
    expect(isNewerCard(a, later)).toBe(true);
    expect(isNewerCard(later, a)).toBe(false);
  });

  test("addresses, build, capabilities or name differ: changed", () => {
    expect(cardChanged(a, makeCard(input({ addresses: ["http://192.168.1.6:5678"] })))).toBe(true);
    expect(cardChanged(a, makeCard(input({ addresses: [...input().addresses].reverse() })))).toBe(true);
    expect(cardChanged(a, makeCard(input({ build: "cd".repeat(32) })))).toBe(true);
    const caps = input().capabilities;
    expect(cardChanged(a, makeCard(input({ capabilities: { ...caps, free_bytes: 1 } })))).toBe(true);
    expect(cardChanged(a, makeCard(input({ capabilities: { ...caps, models: [] } })))).toBe(true);
    expect(cardChanged(a, makeCard(input({ capabilities: { ...caps, gpu: "RTX 4090" } })))).toBe(true);
    expect(cardChanged(a, makeCard(input({ name: "renamed" })))).toBe(true);
  });

  test("a card of another cell is never 'newer'", () => {
    const other = makeCard(input({ identity: mallory, issuedAt: new Date(ISSUED.getTime() + 60_000) }));
    expect(isNewerCard(a, other)).toBe(false);
  });
});
