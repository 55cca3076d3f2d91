/**
 * The end-to-end envelope of peer calls through a relay: both crypto suites, a message cut into
 * parts and put back together in any order, and every way a frame can be wrong refused.
 */
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { x25519 } from "@noble/curves/ed25519.js";
import { nativeSuiteIfAvailable, portableSuite } from "../../src/crypto/index.ts";
import {
  KIND_REQUEST,
  KIND_RESPONSE,
  MAX_MESSAGE_BYTES,
  MessageSealer,
  PART_BYTES,
  Reassembly,
  TunnelError,
  acceptCall,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  frameBufferBytes,
  frameTextBytes,
  openCall,
  openFrame,
  readHead,
  requestPieces,
  sealMessage,
} from "../../src/relay/tunnel.ts";

const callee = (() => {
  const secret = x25519.utils.randomSecretKey();
  return { secret, pub: x25519.getPublicKey(secret) };
})();
const suites = [portableSuite, nativeSuiteIfAvailable()].filter((s) => s !== null);

/** Open every frame of a request on the callee's side and put the message back together. */
function receive(suite: (typeof suites)[number], frames: Uint8Array[], secret = callee.secret, pub = callee.pub): Uint8Array {
  const first = readHead(frames[0]!);
  const keys = acceptCall(secret, pub, first.ephPublic!);
  const r = new Reassembly(first.parts);
  let whole: Uint8Array | null = null;
  for (const f of frames) {
    const h = readHead(f);
    whole = r.add(h.part, h.parts, openFrame(suite, keys.request, f, h)) ?? whole;
  }
  if (!whole) throw new Error("incomplete");
  return whole;
}

describe.each(suites.map((s) => [s.name, s] as const))("tunnel (%s crypto)", (_name, suite) => {
  test("a 4 MiB request crosses in five parts, in any order, and both sides derive the same keys", () => {
    const body = new Uint8Array(randomBytes(4 * 1024 * 1024 + 16));
    const req = { method: "PUT", path: "/peer/sync/chunks/ab", headers: { "X-Grove-Cell": "c".repeat(64) }, body };
    const { ephPublic, keys } = openCall(callee.pub);
    const frames = sealMessage(suite, keys.request, KIND_REQUEST, 7, encodeRequest(req), ephPublic);
    expect(frames.length).toBe(5);
    for (const f of frames) expect(f.byteLength).toBeLessThanOrEqual(PART_BYTES + 10 + 32 + 16);
    const back = decodeRequest(receive(suite, [...frames].reverse()));
    expect(back.method).toBe("PUT");
    expect(back.path).toBe(req.path);
    expect(back.headers).toEqual(req.headers);
    expect(Buffer.compare(Buffer.from(back.body!), Buffer.from(body))).toBe(0);
    // The answer goes back under the response key, which the callee derived too.
    const calleeKeys = acceptCall(callee.secret, callee.pub, ephPublic);
    const res = sealMessage(
      suite,
      calleeKeys.response,
      KIND_RESPONSE,
      7,
      encodeResponse({ status: 200, headers: { a: "b" }, body: new Uint8Array([1, 2]) }),
    );
    const h = readHead(res[0]!);
    expect(h.callId).toBe(7);
    const r = decodeResponse(new Reassembly(1).add(0, 1, openFrame(suite, keys.response, res[0]!, h))!);
    expect(r).toEqual({ status: 200, headers: { a: "b" }, body: new Uint8Array([1, 2]) });
  });

  test("frames sealed with spare room in front open the same once the room is skipped", () => {
    const { ephPublic, keys } = openCall(callee.pub);
    const msg = encodeRequest({ method: "GET", path: "/peer/card", headers: {}, body: null });
    const frames = sealMessage(suite, keys.request, KIND_REQUEST, 9, msg, ephPublic, 32);
    expect(frames[0]!.subarray(0, 32).every((b) => b === 0)).toBe(true);
    expect(
      decodeRequest(
        receive(
          suite,
          frames.map((f) => f.subarray(32)),
        ),
      ).path,
    ).toBe("/peer/card");
  });

  test("the plaintext is nowhere in the frames", () => {
    const marker = "the-secret-path-and-header-7f3a9";
    const { ephPublic, keys } = openCall(callee.pub);
    const frames = sealMessage(
      suite,
      keys.request,
      KIND_REQUEST,
      1,
      encodeRequest({ method: "POST", path: `/peer/${marker}`, headers: { h: marker }, body: new TextEncoder().encode(marker) }),
      ephPublic,
    );
    expect(Buffer.concat(frames).indexOf(marker)).toBe(-1);
    expect(Buffer.concat(frames).indexOf("POST")).toBe(-1);
  });

  test("another cell's key, an altered byte, a swapped header or a response key cannot open a request", () => {
    const { ephPublic, keys } = openCall(callee.pub);
    const [f] = sealMessage(
      suite,
      keys.request,
      KIND_REQUEST,
      3,
      encodeRequest({ method: "GET", path: "/peer/card", headers: {}, body: null }),
      ephPublic,
    );
    const other = x25519.utils.randomSecretKey();
    expect(() => receive(suite, [f!], other, x25519.getPublicKey(other))).toThrow(TunnelError);
    const altered = f!.slice();
    altered[altered.byteLength - 20]! ^= 1;
    expect(() => receive(suite, [altered])).toThrow("does not open");
    const renumbered = f!.slice();
    renumbered[5] = 4; // call id 3 -> 4: the header is authenticated
    expect(() => receive(suite, [renumbered])).toThrow("does not open");
    expect(() => openFrame(suite, keys.response, f!, readHead(f!))).toThrow("does not open");
  });
});

describe("tunnel frames that are not what they claim", () => {
  const { ephPublic, keys } = openCall(callee.pub);
  const [good] = sealMessage(
    portableSuite,
    keys.request,
    KIND_REQUEST,
    1,
    encodeRequest({ method: "GET", path: "/peer/card", headers: {}, body: null }),
    ephPublic,
  );

  test("short, unknown version or kind, and parts out of range are refused by the header check", () => {
    expect(() => readHead(new Uint8Array(5))).toThrow("too short");
    const v = good!.slice();
    v[0] = 9;
    expect(() => readHead(v)).toThrow("unknown tunnel version");
    const k = good!.slice();
    k[1] = 7;
    expect(() => readHead(k)).toThrow("unknown tunnel frame kind");
    const p = good!.slice();
    p[7] = 3; // part 3 of 1
    expect(() => readHead(p)).toThrow("out of range");
    const many = good!.slice();
    many[8] = 0xff; // 65,280 parts
    expect(() => readHead(many)).toThrow("out of range");
  });

  test("a message over the size limit is not sealed, and a reassembly refuses short middle parts and disagreements", () => {
    expect(() => sealMessage(portableSuite, keys.request, KIND_REQUEST, 1, new Uint8Array(MAX_MESSAGE_BYTES + 1), ephPublic)).toThrow(
      "at most",
    );
    const r = new Reassembly(3);
    expect(() => r.add(0, 3, new Uint8Array(10))).toThrow("must be full");
    expect(() => r.add(2, 4, new Uint8Array(10))).toThrow("disagrees");
    expect(r.add(2, 3, new Uint8Array(10))).toBeNull();
    expect(r.add(2, 3, new Uint8Array(10))).toBeNull(); // a duplicate is ignored
    expect(r.bytes).toBe(10);
  });

  test("a message head that is not JSON, too long or of the wrong shape is refused", () => {
    const bad = (head: string) => {
      const h = new TextEncoder().encode(head);
      const m = new Uint8Array(4 + h.byteLength);
      new DataView(m.buffer).setUint32(0, h.byteLength);
      m.set(h, 4);
      return m;
    };
    expect(() => decodeRequest(bad("{nope"))).toThrow("not JSON");
    expect(() => decodeRequest(bad(JSON.stringify({ method: "get", path: "/peer/x", headers: {} })))).toThrow("malformed");
    expect(() => decodeRequest(bad(JSON.stringify({ method: "GET", path: "peer/x", headers: {} })))).toThrow("start with /");
    expect(() => decodeResponse(bad(JSON.stringify({ status: 99, headers: {} })))).toThrow("malformed");
    const long = new Uint8Array(8);
    new DataView(long.buffer).setUint32(0, 1_000_000);
    expect(() => decodeRequest(long)).toThrow("malformed");
  });
});

describe.each(suites.map((s) => [s.name, s] as const))("tunnel sealed part by part (%s crypto)", (_name, suite) => {
  test("a request sealed from its pieces into one reused buffer gives the frames sealMessage gives", () => {
    const { ephPublic, keys } = openCall(callee.pub);
    const body = new Uint8Array(PART_BYTES * 3 + 12345).map((_, i) => i % 253);
    const req = { method: "POST", path: "/peer/sync/chunks", headers: { a: "b" }, body };
    const want = sealMessage(suite, keys.request, KIND_REQUEST, 9, encodeRequest(req), ephPublic, 32);
    const m = new MessageSealer(suite, keys.request, KIND_REQUEST, 9, requestPieces(req), ephPublic, 32);
    expect(m.parts).toBe(want.length);
    const scratch = new Uint8Array(frameBufferBytes(32));
    for (let i = 0; i < m.parts; i++) expect(m.frame(i, scratch)).toEqual(want[i]!);
    const back = decodeRequest(
      receive(
        suite,
        want.map((f) => f.subarray(32)),
      ),
    );
    expect(back.body).toEqual(body);
  });
});

describe.each(suites.map((s) => [s.name, s] as const))("tunnel parts opened in place (%s crypto)", (_name, suite) => {
  test("each part opened straight into its place, in any order: the whole message is that one buffer", () => {
    const { ephPublic, keys } = openCall(callee.pub);
    const body = new Uint8Array(PART_BYTES * 2 + 999).map((_, i) => (i * 7) % 256);
    const req = { method: "PUT", path: "/peer/sync/chunks/x", headers: {}, body };
    const frames = sealMessage(suite, keys.request, KIND_REQUEST, 3, encodeRequest(req), ephPublic);
    const mine = acceptCall(callee.secret, callee.pub, readHead(frames[0]!).ephPublic!);
    const r = new Reassembly(frames.length);
    let whole: Uint8Array | null = null;
    for (const f of [frames[2]!, frames[0]!, frames[1]!]) {
      const h = readHead(f);
      const at = r.place(h.part, h.parts, frameTextBytes(f, h))!;
      expect(at).not.toBeNull();
      whole = r.add(h.part, h.parts, openFrame(suite, mine.request, f, h, at)) ?? whole;
    }
    expect(r.reserved).toBe(frames.length * PART_BYTES);
    expect(decodeRequest(whole!).body).toEqual(body);
    // A middle part that is not full has no place (add refuses it too).
    expect(new Reassembly(3).place(1, 3, PART_BYTES - 1)).toBeNull();
  });
});
