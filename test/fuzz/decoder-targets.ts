/**
 * @module test/fuzz/decoder-targets — in-process fuzzing of what decodes untrusted bytes: invite
 * tokens, grants, fetch passes, revocations, cards, sealed messages (raw and JSON), bounty
 * statements, messages, backup batches, the relay's frames and logins, and the relay tunnel
 * (frame heads, frame opening, reassembly, request/response decoding).
 *
 * Property: every input either decodes or is refused with the module's own error (a 4xx
 * GroveError, a TunnelError, a null) — never a TypeError, RangeError or other crash — and no
 * input takes longer than HANG_MS. Valid objects with hostile changes are mixed in so the checks
 * past the shape (signatures, lengths, part numbers) are reached too.
 */
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { GroveError } from "../../src/core/errors.ts";
import { toHex, type CellId, type ManifestHash } from "../../src/core/types.ts";
import { portableSuite } from "../../src/crypto/index.ts";
import { decodeToken, encodeToken } from "../../src/fleet/invite-token.ts";
import { makeStatement, verifyStatement } from "../../src/protocol/bounty-statement.ts";
import { CardError, verifyCard } from "../../src/protocol/card.ts";
import { GrantError, makeGrant, makeRevocation, verifyGrant, verifyPass, verifyRevocation } from "../../src/protocol/grant.ts";
import { MSG_INFO } from "../../src/protocol/labels.ts";
import { parsePayload } from "../../src/protocol/message.ts";
import { openSealed, SealError, sealTo } from "../../src/protocol/seal.ts";
import { openJson, sealJson } from "../../src/protocol/sealed-json.ts";
import { LoginSchema, AcceptSchema, loginVerifies, makeLogin, unframe } from "../../src/relay/relay-protocol.ts";
import {
  KIND_REQUEST,
  KIND_RESPONSE,
  MAX_PARTS,
  PART_BYTES,
  Reassembly,
  TunnelError,
  acceptCall,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  openCall,
  openFrame,
  readHead,
  sealMessage,
} from "../../src/relay/tunnel.ts";
import { decodeBackupBatch, encodeBackupBatch } from "../../src/sync/wire.ts";
import { describe, EDGE_SIZES, hostileBytes, hostileJsonText, hostileString, mutatedBytes, mutatedJsonText, type J } from "./gen.ts";
import { FuzzIdentity } from "./identity.ts";
import type { Finding } from "./http-targets.ts";

/** An input taking longer than this to decode is reported as a hang. */
export const HANG_MS = 2000;

export interface DecoderTarget {
  name: string;
  /** Relative cost: the campaign gives cheap targets more inputs. */
  heavy: boolean;
  arb: fc.Arbitrary<unknown>;
  run(input: unknown): unknown | Promise<unknown>;
  /** An error this decoder may throw for a bad input (anything else is a finding). */
  allowed(e: unknown): boolean;
}

const is4xx = (e: unknown) => e instanceof GroveError && e.status >= 400 && e.status < 500;
const tunnelErr = (e: unknown) => e instanceof TunnelError;

/** A value as the network gives it: JSON.parse of a hostile text (or the text, when it is not JSON). */
const parsedOr = (t: string): unknown => {
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
};

export async function decoderTargets(): Promise<DecoderTarget[]> {
  const me = new FuzzIdentity("decoder-fuzz");
  const other = new FuzzIdentity("other");
  const keys = { x25519Secret: me.identity.x25519Secret, x25519Public: me.identity.x25519Public };
  const plausible = fc.constantFrom<J>(me.id, other.id, 1, 0, Date.now(), "grant", "fetch-pass", "revocation", toHex(randomBytes(32)));
  const value = (base?: unknown) =>
    (base === undefined
      ? hostileJsonText(plausible)
      : fc.oneof(hostileJsonText(plausible), mutatedJsonText(base, plausible), mutatedJsonText(base, plausible))
    ).map(parsedOr);

  const { grant, pass } = await makeGrant({
    creatorSecret: me.identity.ed25519Secret,
    creator: me.id,
    recipient: other.id,
    recipientX25519: other.identity.x25519Public,
    manifestHash: toHex(randomBytes(32)) as ManifestHash,
    fileKey: new Uint8Array(randomBytes(32)),
    chunks: [toHex(randomBytes(32))],
    filename: "f",
    fileType: "text/plain",
    totalSize: 1,
    expiresAt: null,
  });
  const revocation = makeRevocation(me.identity.ed25519Secret, me.id, toHex(randomBytes(32)));
  const token = encodeToken({
    v: 1,
    id: me.id,
    x25519: toHex(me.identity.x25519Public),
    routes: ["http://127.0.0.1:5678"],
    secret: toHex(randomBytes(32)),
    expires_at: Date.now() + 1e6,
  });
  const tokenJson = Buffer.from(token.slice("grove1.".length), "base64url").toString("utf8");
  const statement = makeStatement(other.identity.ed25519Secret, other.id, me.id, Date.now(), {
    given_bytes: 1,
    received_bytes: 2,
    given_byte_hours: 3,
    received_byte_hours: 4,
  });
  const sealed = await sealTo(me.identity.x25519Public, new TextEncoder().encode('{"a":1}'), "grove/v1/x", other.id);
  const sealedMsg = await sealJson(me.identity.x25519Public, { v: 1, id: "a".repeat(32), text: "hi", sent_at: 1 }, MSG_INFO, other.id);
  const batch = encodeBackupBatch([
    { kind: "manifest", name: toHex(randomBytes(32)), blob: new Uint8Array(randomBytes(40)) },
    { kind: "index", name: toHex(randomBytes(32)), blob: new Uint8Array([7]) },
  ]);
  const nonce = toHex(randomBytes(16));
  const login = makeLogin(me.keys, nonce, [other.id], Date.now(), true);

  // Tunnel: a real call to `me` (its frames, keys and message) to cut and flip.
  const call = openCall(me.identity.x25519Public);
  const reqMsg = encodeRequest({ method: "POST", path: "/peer/ping", headers: { "X-Grove-Cell": other.id }, body: new Uint8Array(10) });
  const reqFrames = sealMessage(portableSuite, call.keys.request, KIND_REQUEST, 7, reqMsg, call.ephPublic);
  const bigFrames = sealMessage(portableSuite, call.keys.request, KIND_REQUEST, 8, new Uint8Array(PART_BYTES + 5), call.ephPublic);
  const resFrames = sealMessage(
    portableSuite,
    call.keys.response,
    KIND_RESPONSE,
    7,
    encodeResponse({ status: 200, headers: { a: "b" }, body: new Uint8Array(3) }),
  );
  const calleeKeys = acceptCall(me.identity.x25519Secret, me.identity.x25519Public, call.ephPublic);
  const headText = (hostile: fc.Arbitrary<string>) =>
    fc.tuple(hostile, hostileBytes(256), fc.option(fc.nat(), { nil: undefined })).map(([h, body, lie]) => {
      const head = new TextEncoder().encode(h);
      const out = new Uint8Array(4 + head.byteLength + body.byteLength);
      new DataView(out.buffer).setUint32(0, lie ?? head.byteLength);
      out.set(head, 4);
      out.set(body, 4 + head.byteLength);
      return out;
    });
  const requestHeads = fc.oneof(
    hostileJsonText(plausible),
    mutatedJsonText({ method: "POST", path: "/peer/ping", headers: { "X-Grove-Cell": other.id } }, plausible),
    mutatedJsonText({ status: 200, headers: { a: "b" } }, plausible),
  );
  const frameInput = fc.oneof(
    hostileBytes(2048),
    ...[...reqFrames, ...resFrames, bigFrames[0]!].map((f) => mutatedBytes(f)),
    fc
      .tuple(
        fc.constantFrom(0, 1, 2, 255),
        fc.constantFrom(0, 1, 2, 3, 255),
        fc.nat(),
        fc.nat({ max: 70_000 }),
        fc.nat({ max: 70_000 }),
        fc.constantFrom(...EDGE_SIZES),
      )
      .map(([v, k, id, part, parts, n]) => {
        const f = new Uint8Array(10 + n);
        f[0] = v;
        f[1] = k;
        const d = new DataView(f.buffer);
        d.setUint32(2, id >>> 0);
        d.setUint16(6, part & 0xffff);
        d.setUint16(8, parts & 0xffff);
        return f;
      }),
  );
  const partNumber = fc.oneof(fc.nat({ max: MAX_PARTS + 2 }), fc.constantFrom(-1, 0.5, NaN, Infinity, 2 ** 32, -0, 65535, 65536));
  const reassemblyOps = fc.tuple(
    fc.oneof(fc.integer({ min: 1, max: MAX_PARTS }), fc.constantFrom(0, -1, 1.5, NaN, 65535, MAX_PARTS + 1)),
    fc.array(
      fc.tuple(
        partNumber,
        fc.oneof(fc.constant("same"), partNumber),
        fc.constantFrom(0, 1, 100, PART_BYTES - 1, PART_BYTES, PART_BYTES + 1),
      ),
      { minLength: 1, maxLength: 24 },
    ),
  );

  const t: DecoderTarget[] = [
    {
      name: "invite token (decodeToken)",
      heavy: false,
      arb: fc.oneof(
        hostileString(),
        hostileJsonText(plausible).map((j) => `grove1.${Buffer.from(j).toString("base64url")}`),
        mutatedJsonText(JSON.parse(tokenJson), plausible).map((j) => `grove1.${Buffer.from(j).toString("base64url")}`),
        fc
          .tuple(
            fc.constantFrom(token, ` ${token}\n`, token.toUpperCase(), token.replace("grove1.", "grove2.")),
            fc.nat(),
            fc.string({ maxLength: 4 }),
          )
          .map(([s, at, ins]) => s.slice(0, at % (s.length + 1)) + ins + s.slice(at % (s.length + 1))),
        fc.constantFrom(
          `grove1.${"A".repeat(5000)}`,
          "grove1.",
          "grove1.%%%",
          `grove1.${Buffer.from("[".repeat(3000)).toString("base64url")}`,
        ),
      ),
      run: (i) => decodeToken(i as string),
      allowed: is4xx,
    },
    { name: "grant (verifyGrant)", heavy: false, arb: value(grant), run: (i) => verifyGrant(i), allowed: (e) => e instanceof GrantError },
    { name: "fetch pass (verifyPass)", heavy: false, arb: value(pass), run: (i) => verifyPass(i), allowed: (e) => e instanceof GrantError },
    {
      name: "revocation (verifyRevocation)",
      heavy: false,
      arb: value(revocation),
      run: (i) => verifyRevocation(i),
      allowed: (e) => e instanceof GrantError,
    },
    {
      name: "card (verifyCard)",
      heavy: false,
      arb: fc.oneof(
        value(me.card),
        hostileJsonText(plausible),
        mutatedJsonText(me.card, plausible),
        hostileBytes(20_000),
        mutatedJsonText(me.card, plausible).map((s) => new TextEncoder().encode(s)),
      ),
      run: (i) => verifyCard(i),
      allowed: (e) => e instanceof CardError,
    },
    {
      name: "bounty statement (verifyStatement)",
      heavy: false,
      arb: value(statement),
      run: (i) => verifyStatement(i, { signer: other.id, self: me.id }),
      allowed: is4xx,
    },
    {
      name: "message payload (parsePayload)",
      heavy: false,
      arb: value({ v: 1, id: "a".repeat(32), text: "hi", sent_at: 1 }),
      run: (i) => parsePayload(i),
      allowed: is4xx,
    },
    {
      name: "backup batch (decodeBackupBatch)",
      heavy: false,
      arb: fc.oneof(hostileBytes(), mutatedBytes(batch), mutatedBytes(batch)),
      run: (i) => decodeBackupBatch(i as Uint8Array),
      allowed: is4xx,
    },
    {
      name: "sealed message (openSealed)",
      heavy: true,
      arb: fc.oneof(hostileBytes(4096), mutatedBytes(sealed), mutatedBytes(sealed), fc.constant(sealed)),
      run: (i) => openSealed(keys.x25519Secret, keys.x25519Public, i as Uint8Array, "grove/v1/x", other.id),
      allowed: (e) => e instanceof SealError,
    },
    {
      name: "sealed JSON (openJson)",
      heavy: true,
      arb: fc.oneof(
        mutatedBytes(sealedMsg),
        hostileBytes(4096),
        fc.tuple(hostileJsonText(plausible), fc.boolean()).map(([j, raw]) => ({ j, raw })),
      ),
      run: async (i) => {
        const bytes =
          i instanceof Uint8Array
            ? i
            : await sealTo(
                me.identity.x25519Public,
                (i as { raw: boolean }).raw ? new Uint8Array(randomBytes(30)) : new TextEncoder().encode((i as { j: string }).j),
                MSG_INFO,
                other.id,
              );
        return openJson(keys, bytes, MSG_INFO, other.id);
      },
      allowed: is4xx,
    },
    {
      name: "relay frame (unframe)",
      heavy: false,
      arb: hostileBytes(),
      run: (i) => {
        const f = unframe(i as Uint8Array);
        if ((i as Uint8Array).byteLength < 32 ? f !== null : f?.payload.byteLength !== (i as Uint8Array).byteLength - 32)
          throw new Error("unframe: wrong split");
        return f;
      },
      allowed: () => false,
    },
    {
      name: "relay login (LoginSchema, loginVerifies, AcceptSchema)",
      heavy: false,
      arb: fc.oneof(value(login), value({ type: "accept", accept: [other.id], open: true })),
      run: (i) => {
        AcceptSchema.safeParse(i);
        const p = LoginSchema.safeParse(i);
        return p.success ? loginVerifies(p.data, nonce) : false;
      },
      allowed: () => false,
    },
    { name: "tunnel frame head (readHead)", heavy: false, arb: frameInput, run: (i) => readHead(i as Uint8Array), allowed: tunnelErr },
    {
      name: "tunnel frame (openFrame)",
      heavy: false,
      arb: frameInput,
      run: (i) => {
        const f = i as Uint8Array;
        const h = readHead(f);
        return openFrame(portableSuite, h.kind === KIND_REQUEST ? calleeKeys.request : call.keys.response, f, h);
      },
      allowed: tunnelErr,
    },
    {
      name: "tunnel reassembly (Reassembly)",
      heavy: false,
      arb: reassemblyOps,
      run: (i) => {
        const [total, ops] = i as [number, [number, number | "same", number][]];
        const r = new Reassembly(total);
        let sum = 0;
        for (const [part, tot, size] of ops) {
          const before = r.bytes;
          const whole = r.add(part, tot === "same" ? total : tot, new Uint8Array(size));
          sum += r.bytes - before;
          if (whole && whole.byteLength !== sum) throw new Error(`reassembled ${whole.byteLength} bytes, added ${sum}`);
        }
      },
      allowed: tunnelErr,
    },
    {
      name: "tunnel request/response (decodeRequest, decodeResponse)",
      heavy: false,
      arb: fc.oneof(hostileBytes(4096), mutatedBytes(reqMsg), headText(requestHeads)),
      run: (i) => {
        const errs: unknown[] = [];
        for (const f of [decodeRequest, decodeResponse]) {
          try {
            f(i as Uint8Array);
          } catch (e) {
            errs.push(e);
          }
        }
        const bad = errs.find((e) => !(e instanceof TunnelError));
        if (bad) throw bad;
      },
      allowed: () => false,
    },
  ];
  return t;
}

/** Run `count` inputs (after `seeds`) through one decoder target. */
export async function runDecoderTarget(
  d: DecoderTarget,
  count: number,
  opts: { seed: number; seeds?: unknown[] },
): Promise<{ inputs: number; accepted: number; refused: number; findings: Finding[]; ms: number; slowestMs: number }> {
  const findings: Finding[] = [];
  const t0 = performance.now();
  let accepted = 0;
  let refused = 0;
  let slowest = 0;
  const seen = new Set<string>();
  const one = async (input: unknown) => {
    const s = performance.now();
    try {
      await d.run(input);
      accepted++;
    } catch (e) {
      if (d.allowed(e)) refused++;
      else {
        const key = `${(e as Error)?.name}: ${(e as Error)?.message}`.slice(0, 120);
        if (!seen.has(key) && findings.length < 50) {
          seen.add(key);
          findings.push({
            target: d.name,
            kind: "throw",
            detail: `${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}`.slice(0, 300),
            input: describe(input, 400),
          });
        } else findings.push({ target: d.name, kind: "throw", detail: key, input: "(same as above)" });
      }
    }
    const ms = performance.now() - s;
    if (ms > slowest) slowest = ms;
    if (ms > HANG_MS)
      findings.push({ target: d.name, kind: "hang", detail: `one input took ${Math.round(ms)} ms`, input: describe(input, 400) });
  };
  for (const s of opts.seeds ?? []) await one(s);
  let done = 0;
  for (let batch = 0; done < count; batch++) {
    const n = Math.min(1000, count - done);
    for (const input of fc.sample(d.arb, { numRuns: n, seed: (opts.seed * 7919 + batch + d.name.length * 104729) | 0 })) await one(input);
    done += n;
  }
  return { inputs: done + (opts.seeds?.length ?? 0), accepted, refused, findings, ms: performance.now() - t0, slowestMs: slowest };
}
