// Signed peer requests and responses: every refusal reason, on a fake clock, and the bounded nonce cache.
import { createHash } from "node:crypto";
import { describe, expect, test } from "bun:test";
import {
  HEADER,
  NonceCache,
  RequestVerifier,
  bodySha256Hex,
  requestTarget,
  signRequest,
  signResponse,
  verifyResponse,
  type IncomingRequest,
  type RequestAuthHeaders,
  type VerifyResult,
  type PrecheckResult,
} from "../../src/protocol/request-auth.ts";
import { deriveIdentity } from "../../src/crypto/keys.ts";
import { toHex, type CellId } from "../../src/core/types.ts";

const alice = deriveIdentity(new Uint8Array(32).fill(1));
const bob = deriveIdentity(new Uint8Array(32).fill(2));
const stranger = deriveIdentity(new Uint8Array(32).fill(3));
const ALICE = toHex(alice.ed25519Public) as CellId;
const BOB = toHex(bob.ed25519Public) as CellId;
const STRANGER = toHex(stranger.ed25519Public) as CellId;

const T0 = 1_750_000_000_000;
const MIN = 60_000;

/** A clock the test moves by hand. */
function fakeClock(start = T0) {
  let now = start;
  return { now: () => now, set: (t: number) => (now = t), advance: (ms: number) => (now += ms) };
}

/** Bob's verifier, knowing only Alice. */
function bobVerifier(clock = fakeClock(), opts = {}) {
  const peers = new Map([[ALICE, alice.ed25519Public]]);
  return new RequestVerifier(peers, clock.now, opts);
}

const body = new TextEncoder().encode('{"chunks":["ab"]}');

function request(headers: RequestAuthHeaders, over: Partial<IncomingRequest> = {}): IncomingRequest {
  return { method: "POST", path: "/peer/v1/inventory?since=5", headers: { ...headers }, body, ...over };
}

function signed(over: { now?: number; nonce?: Uint8Array; to?: CellId } = {}): RequestAuthHeaders {
  return signRequest(alice.ed25519Secret, ALICE, "POST", "/peer/v1/inventory?since=5", body, { now: T0, ...over });
}

function refusedWith(result: VerifyResult | PrecheckResult): string {
  if (result.ok) throw new Error("request was accepted");
  return result.reason;
}

describe("signRequest", () => {
  test("produces the four headers in the documented shapes", () => {
    const h = signed();
    expect(h[HEADER.cell]).toBe(ALICE);
    expect(h[HEADER.time]).toBe(String(T0));
    expect(h[HEADER.nonce]).toMatch(/^[0-9a-f]{32}$/);
    expect(h[HEADER.signature]).toMatch(/^[0-9a-f]{128}$/);
  });

  test("a fresh random nonce each time", () => {
    const nonces = new Set(Array.from({ length: 50 }, () => signed()[HEADER.nonce]));
    expect(nonces.size).toBe(50);
  });

  test("is deterministic given time and nonce (Ed25519)", () => {
    const n = new Uint8Array(16).fill(7);
    expect(signed({ nonce: n })).toEqual(signed({ nonce: n }));
    expect(signed({ nonce: n })[HEADER.nonce]).toBe("07".repeat(16));
  });

  test("refuses a target that is not a request-line path, and a wrong-size nonce", () => {
    expect(() => signRequest(alice.ed25519Secret, ALICE, "GET", "peer/v1", null)).toThrow(/must start with '\/'/);
    expect(() => signRequest(alice.ed25519Secret, ALICE, "GET", "/a\nb", null)).toThrow(/control characters/);
    expect(() => signRequest(alice.ed25519Secret, ALICE, "GET", "/a", null, { nonce: new Uint8Array(8) })).toThrow(/16 bytes/);
  });

  test("requestTarget keeps path and query as sent", () => {
    expect(requestTarget("http://10.0.0.2:5678/peer/v1/chunks/ab?x=1&y=%20")).toBe("/peer/v1/chunks/ab?x=1&y=%20");
    expect(requestTarget(new URL("http://h/a/../b"))).toBe("/b");
    expect(requestTarget("http://h")).toBe("/");
  });
});

describe("RequestVerifier accepts", () => {
  test("a good request, naming the peer", () => {
    const r = request(signed());
    expect(bobVerifier().verify(r)).toEqual({
      ok: true,
      peer: ALICE,
      bodyHash: createHash("sha256")
        .update(r.body ?? "")
        .digest("hex"),
    });
  });

  test("headers in any letter case, from a Headers object or a getter", () => {
    const v = bobVerifier();
    const h = signed();
    expect(v.verify(request(h, { headers: new Headers({ ...h }) })).ok).toBe(true);
    const lower = Object.fromEntries(Object.entries(signed()).map(([k, x]) => [k.toLowerCase(), x]));
    expect(v.verify(request(signed(), { headers: lower })).ok).toBe(true);
    const h3 = new Headers({ ...signed() });
    expect(v.verify(request(signed(), { headers: (n: string) => h3.get(n) })).ok).toBe(true);
  });

  test("a lower-case method (methods are compared upper case)", () => {
    expect(bobVerifier().verify(request(signed(), { method: "post" })).ok).toBe(true);
  });

  test("no body, an empty body and an empty string are the same body", () => {
    const h = signRequest(alice.ed25519Secret, ALICE, "GET", "/peer/v1/card", null, { now: T0 });
    const v = bobVerifier();
    expect(v.verify({ method: "GET", path: "/peer/v1/card", headers: { ...h }, body: new Uint8Array(0) }).ok).toBe(true);
    const h2 = signRequest(alice.ed25519Secret, ALICE, "GET", "/peer/v1/card", "", { now: T0 });
    expect(v.verify({ method: "GET", path: "/peer/v1/card", headers: { ...h2 }, body: undefined }).ok).toBe(true);
    expect(bodySha256Hex(null)).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  test("a clock difference up to the window: 5 min into the past, 1 min into the future", () => {
    const clock = fakeClock();
    const v = bobVerifier(clock);
    clock.set(T0 + 5 * MIN);
    expect(v.verify(request(signed())).ok).toBe(true);
    clock.set(T0 - MIN);
    expect(v.verify(request(signed())).ok).toBe(true);
    clock.set(T0 - MIN - 1);
    expect(refusedWith(v.verify(request(signed())))).toBe("future");
  });

  test("a peer lookup function instead of a map", () => {
    const v = new RequestVerifier(
      (id) => (id === ALICE ? alice.ed25519Public : undefined),
      () => T0,
    );
    expect(v.verify(request(signed())).ok).toBe(true);
  });
});

describe("RequestVerifier refuses", () => {
  test("an unknown cell, even with a valid signature", () => {
    const h = signRequest(stranger.ed25519Secret, STRANGER, "POST", "/peer/v1/inventory?since=5", body, { now: T0 });
    const r = bobVerifier().verify(request(h));
    expect(refusedWith(r)).toBe("unknown_cell");
    expect(!r.ok && r.message).toContain(STRANGER.slice(0, 8));
  });

  test("a tampered body", () => {
    const r = bobVerifier().verify(request(signed(), { body: new TextEncoder().encode('{"chunks":["cd"]}') }));
    expect(refusedWith(r)).toBe("bad_signature");
    expect(refusedWith(bobVerifier().verify(request(signed(), { body: null })))).toBe("bad_signature");
  });

  test("a tampered path, query or method", () => {
    expect(refusedWith(bobVerifier().verify(request(signed(), { path: "/peer/v1/inventory?since=6" })))).toBe("bad_signature");
    expect(refusedWith(bobVerifier().verify(request(signed(), { path: "/peer/v1/inventory" })))).toBe("bad_signature");
    expect(refusedWith(bobVerifier().verify(request(signed(), { path: "/peer/v1/chunks?since=5" })))).toBe("bad_signature");
    expect(refusedWith(bobVerifier().verify(request(signed(), { method: "PUT" })))).toBe("bad_signature");
  });

  test("a tampered time or nonce header", () => {
    const h = signed();
    expect(refusedWith(bobVerifier().verify(request({ ...h, [HEADER.time]: String(T0 + 1) })))).toBe("bad_signature");
    expect(refusedWith(bobVerifier().verify(request({ ...h, [HEADER.nonce]: "00".repeat(16) })))).toBe("bad_signature");
  });

  test("a request signed by someone else in a known cell's name", () => {
    const h = signRequest(stranger.ed25519Secret, ALICE, "POST", "/peer/v1/inventory?since=5", body, { now: T0 });
    expect(refusedWith(bobVerifier().verify(request(h)))).toBe("bad_signature");
  });

  test("a stale time (older than the window)", () => {
    const clock = fakeClock(T0 + 5 * MIN + 1);
    const r = bobVerifier(clock).verify(request(signed()));
    expect(refusedWith(r)).toBe("stale");
    expect(!r.ok && r.message).toMatch(/5 min old/);
  });

  test("a future time (ahead of the window)", () => {
    const clock = fakeClock(T0 - 5 * MIN - 1);
    expect(refusedWith(bobVerifier(clock).verify(request(signed())))).toBe("future");
  });

  test("a custom window", () => {
    const clock = fakeClock(T0 + 31_000);
    expect(refusedWith(bobVerifier(clock, { windowMs: 30_000 }).verify(request(signed())))).toBe("stale");
  });

  test("a replayed request, also when replayed later inside the window", () => {
    const clock = fakeClock();
    const v = bobVerifier(clock);
    const h = signed();
    expect(v.verify(request(h)).ok).toBe(true);
    expect(refusedWith(v.verify(request(h)))).toBe("replayed");
    clock.advance(4 * MIN);
    expect(refusedWith(v.verify(request(h)))).toBe("replayed");
    clock.advance(2 * MIN);
    // Outside the window the nonce may be forgotten: the time check refuses it instead.
    expect(refusedWith(v.verify(request(h)))).toBe("stale");
  });

  test("a refused request does not use up its nonce", () => {
    const v = bobVerifier();
    const h = signed();
    expect(refusedWith(v.verify(request(h, { body: null })))).toBe("bad_signature");
    expect(v.verify(request(h)).ok).toBe(true);
  });

  test("malformed or missing headers", () => {
    const h = signed();
    const cases: [Record<string, string | undefined>, RegExp][] = [
      [{ ...h, [HEADER.cell]: undefined }, /missing header X-Grove-Cell/],
      [{ [HEADER.cell]: ALICE }, /missing header X-Grove-Time, X-Grove-Nonce, X-Grove-Signature/],
      [{ ...h, [HEADER.cell]: ALICE.toUpperCase() }, /X-Grove-Cell must be a cell id/],
      [{ ...h, [HEADER.cell]: ALICE.slice(0, 8) }, /X-Grove-Cell/],
      [{ ...h, [HEADER.time]: "1.5e12" }, /X-Grove-Time must be unix milliseconds/],
      [{ ...h, [HEADER.time]: "-1" }, /X-Grove-Time/],
      [{ ...h, [HEADER.time]: "9".repeat(20) }, /X-Grove-Time/],
      [{ ...h, [HEADER.nonce]: "ab".repeat(8) }, /X-Grove-Nonce must be 32/],
      [{ ...h, [HEADER.signature]: "xy".repeat(64) }, /X-Grove-Signature must be 128/],
      [{ ...h, [HEADER.signature]: "" }, /missing header X-Grove-Signature/],
    ];
    for (const [headers, message] of cases) {
      const r = bobVerifier().verify(request(h, { headers }));
      expect(refusedWith(r)).toBe("malformed");
      expect(!r.ok && r.message).toMatch(message);
    }
    expect(refusedWith(bobVerifier().verify(request(h, { method: "GE T" })))).toBe("malformed");
    expect(refusedWith(bobVerifier().verify(request(h, { path: "peer/v1" })))).toBe("malformed");
  });
});

describe("precheck (before the body is read)", () => {
  const noBody = (h: Record<string, string | undefined>) => ({ method: "POST", path: "/peer/v1/inventory?since=5", headers: h });

  test("passes a request from a known cell in the window, and records nothing", () => {
    const v = bobVerifier();
    const h = signed();
    expect(v.precheck(noBody({ ...h }))).toEqual({ ok: true, peer: ALICE });
    expect(v.rememberedNonces).toBe(0);
    expect(v.verify(request(h)).ok).toBe(true);
  });

  test("refuses strangers, bad times and malformed headers without a body", () => {
    const strangerHeaders = signRequest(stranger.ed25519Secret, STRANGER, "POST", "/x", body, { now: T0 });
    expect(refusedWith(bobVerifier().precheck(noBody({ ...strangerHeaders })))).toBe("unknown_cell");
    expect(refusedWith(bobVerifier(fakeClock(T0 + 6 * MIN)).precheck(noBody({ ...signed() })))).toBe("stale");
    expect(refusedWith(bobVerifier(fakeClock(T0 - 6 * MIN)).precheck(noBody({ ...signed() })))).toBe("future");
    expect(refusedWith(bobVerifier().precheck(noBody({})))).toBe("malformed");
  });
});

describe("after a restart (notBefore)", () => {
  test("requests timed at or before the start are refused; later ones pass", () => {
    const v = bobVerifier(fakeClock(T0 + 1000), { notBefore: T0 });
    expect(refusedWith(v.verify(request(signed({ now: T0 }))))).toBe("replayed");
    expect(refusedWith(v.verify(request(signed({ now: T0 - 1000 }))))).toBe("replayed");
    expect(v.verify(request(signed({ now: T0 + 1 }))).ok).toBe(true);
  });
});

describe("binding a request to its recipient", () => {
  test("a request signed for Bob passes Bob's verifier, not another cell's", () => {
    const h = signed({ to: BOB });
    expect(bobVerifier(fakeClock(), { self: BOB }).verify(request(h)).ok).toBe(true);
    // Replayed to Carol, who also knows Alice: refused.
    const carol = new RequestVerifier(new Map([[ALICE, alice.ed25519Public]]), () => T0, { self: STRANGER });
    expect(refusedWith(carol.verify(request(h)))).toBe("bad_signature");
  });

  test("a verifier with `self` refuses unbound requests, and one without refuses bound ones", () => {
    expect(refusedWith(bobVerifier(fakeClock(), { self: BOB }).verify(request(signed())))).toBe("bad_signature");
    expect(refusedWith(bobVerifier().verify(request(signed({ to: BOB }))))).toBe("bad_signature");
  });
});

describe("the nonce cache stays bounded", () => {
  test("entries older than the window are dropped as new requests arrive", () => {
    const clock = fakeClock();
    const v = bobVerifier(clock);
    for (let i = 0; i < 20; i++) expect(v.verify(request(signed())).ok).toBe(true);
    expect(v.rememberedNonces).toBe(20);
    clock.advance(5 * MIN + 1);
    expect(v.verify(request(signed({ now: clock.now() }))).ok).toBe(true);
    expect(v.rememberedNonces).toBe(1);
  });

  test("at the cap the oldest is dropped and anything no newer than it is refused", () => {
    const clock = fakeClock();
    const v = bobVerifier(clock, { maxNonces: 3 });
    const sent = [0, 1, 2, 3].map((i) => signed({ now: T0 + i }));
    for (const h of sent) expect(v.verify(request(h)).ok).toBe(true);
    expect(v.rememberedNonces).toBe(3);
    // The first nonce was forgotten; replaying it must still fail.
    expect(refusedWith(v.verify(request(sent[0]!)))).toBe("replayed");
    // So must a fresh request that claims the same or an older time.
    expect(refusedWith(v.verify(request(signed({ now: T0 }))))).toBe("replayed");
    // Newer requests pass.
    expect(v.verify(request(signed({ now: T0 + 10 }))).ok).toBe(true);
    expect(v.rememberedNonces).toBe(3);
  });

  test("replay state is per peer: one peer filling its cache raises only its own floor", () => {
    const clock = fakeClock();
    const v = new RequestVerifier(
      new Map([
        [ALICE, alice.ed25519Public],
        [STRANGER, stranger.ed25519Public],
      ]),
      clock.now,
      { maxNonces: 3 },
    );
    const flood = (i: number) => signRequest(stranger.ed25519Secret, STRANGER, "POST", "/peer/ping", null, { now: T0 + 30_000 + i });
    for (let i = 0; i < 10; i++) expect(v.verify(request(flood(i), { path: "/peer/ping", body: null })).ok).toBe(true);
    // The flooder's own older requests now count as replays…
    expect(refusedWith(v.verify(request(flood(0), { path: "/peer/ping", body: null })))).toBe("replayed");
    // …but Alice, at the present time, is not affected.
    for (let i = 0; i < 5; i++) expect(v.verify(request(signed({ now: T0 + i }))).ok).toBe(true);
    expect(v.rememberedNonces).toBe(6);
  });

  test("NonceCache alone: duplicates, sweep, cap", () => {
    const c = new NonceCache(2);
    expect(c.add("a", 10)).toBe(true);
    expect(c.add("a", 10)).toBe(false);
    expect(c.add("b", 20)).toBe(true);
    expect(c.add("c", 30)).toBe(true);
    expect(c.size).toBe(2);
    expect(c.floor).toBe(10);
    c.sweep(25);
    expect(c.size).toBe(1);
    expect(() => new NonceCache(0)).toThrow();
  });

  test("a long run keeps the cache at its cap", () => {
    const clock = fakeClock();
    const v = bobVerifier(clock, { maxNonces: 100 });
    for (let i = 0; i < 400; i++) {
      clock.advance(10);
      expect(v.verify(request(signed({ now: clock.now() }))).ok).toBe(true);
    }
    expect(v.rememberedNonces).toBe(100);
  });
});

describe("signed responses", () => {
  const nonce = "0f".repeat(16);
  const resBody = new TextEncoder().encode('{"ok":true}');
  const sig = signResponse(bob.ed25519Secret, nonce, 200, resBody);

  test("verify for the request nonce, status and body they were made for", () => {
    expect(sig).toMatch(/^[0-9a-f]{128}$/);
    expect(verifyResponse(bob.ed25519Public, nonce, 200, resBody, sig)).toBe(true);
    expect(verifyResponse(bob.ed25519Public, nonce, 204, null, signResponse(bob.ed25519Secret, nonce, 204, null))).toBe(true);
  });

  test("a tampered body or status is rejected", () => {
    expect(verifyResponse(bob.ed25519Public, nonce, 200, new TextEncoder().encode('{"ok":false}'), sig)).toBe(false);
    expect(verifyResponse(bob.ed25519Public, nonce, 500, resBody, sig)).toBe(false);
  });

  test("a response replayed to another request is rejected", () => {
    expect(verifyResponse(bob.ed25519Public, "f0".repeat(16), 200, resBody, sig)).toBe(false);
  });

  test("a response signed by another cell, or a bad or missing header, is rejected", () => {
    expect(verifyResponse(alice.ed25519Public, nonce, 200, resBody, sig)).toBe(false);
    expect(verifyResponse(bob.ed25519Public, nonce, 200, resBody, signResponse(stranger.ed25519Secret, nonce, 200, resBody))).toBe(false);
    expect(verifyResponse(bob.ed25519Public, nonce, 200, resBody, null)).toBe(false);
    expect(verifyResponse(bob.ed25519Public, nonce, 200, resBody, "zz")).toBe(false);
    expect(verifyResponse(bob.ed25519Public, "not-a-nonce", 200, resBody, sig)).toBe(false);
  });

  test("a request signature is never valid as a response signature", () => {
    const h = signRequest(bob.ed25519Secret, BOB, "GET", "/", null, { now: T0, nonce: new Uint8Array(16).fill(0x0f) });
    expect(verifyResponse(bob.ed25519Public, nonce, 200, null, h[HEADER.signature])).toBe(false);
  });
});

describe("over real HTTP (Bun.serve + fetch)", () => {
  test("client and server agree on the target, body and response signature, for awkward URLs", async () => {
    const verifier = new RequestVerifier(new Map([[ALICE, alice.ed25519Public]]), Date.now, { self: BOB });
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const path = requestTarget(req.url);
        const pre = verifier.precheck({ method: req.method, path, headers: req.headers });
        if (!pre.ok) return new Response(pre.reason, { status: 401 });
        const raw = new Uint8Array(await req.arrayBuffer());
        const r = verifier.verify({ method: req.method, path, headers: req.headers, body: raw });
        const status = r.ok ? 200 : 401;
        const out = r.ok ? `hello ${r.peer.slice(0, 8)} ${raw.byteLength}` : r.reason;
        const nonce = req.headers.get(HEADER.nonce) ?? "";
        return new Response(out, { status, headers: { [HEADER.response]: signResponse(bob.ed25519Secret, nonce, status, out) } });
      },
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      for (const raw of ["/peer/v1/files/a b/ü.txt?q=x y&z=%2F", "/peer/v1/x/../y", "/peer/v1/inventory"]) {
        const url = new URL(raw, base);
        const payload = new TextEncoder().encode("x".repeat(1000));
        const headers = signRequest(alice.ed25519Secret, ALICE, "PUT", requestTarget(url), payload, { to: BOB });
        const res = await fetch(url, { method: "PUT", headers: { ...headers }, body: payload });
        const text = await res.text();
        expect(res.status).toBe(200);
        expect(text).toBe(`hello ${ALICE.slice(0, 8)} 1000`);
        const sig = res.headers.get(HEADER.response);
        expect(verifyResponse(bob.ed25519Public, headers[HEADER.nonce], res.status, text, sig)).toBe(true);
        // Replayed: refused, and the refusal is signed too.
        const again = await fetch(url, { method: "PUT", headers: { ...headers }, body: payload });
        const againText = await again.text();
        expect(again.status).toBe(401);
        expect(againText).toBe("replayed");
        expect(verifyResponse(bob.ed25519Public, headers[HEADER.nonce], 401, againText, again.headers.get(HEADER.response))).toBe(true);
        // A recorded 200 answer does not pass for this 401 (status is signed).
        expect(verifyResponse(bob.ed25519Public, headers[HEADER.nonce], 200, againText, again.headers.get(HEADER.response))).toBe(false);
      }
    } finally {
      server.stop(true);
    }
  });
});
