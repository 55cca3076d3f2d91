/**
 * @module test/fuzz/relay-targets — fuzzing a real `grove relay` process and a real cell's
 * relay client through it.
 *
 *   relay login      a fresh connection per input: after the challenge, a malformed login (junk
 *                    text, binary, a real login with hostile changes, another nonce, a skewed
 *                    time, a forged id, a huge text). It must be refused and closed.
 *   relay text       one logged-in connection sends hostile text messages: each is answered
 *                    (`error`, or `accepted` for a valid accept list); the connection stays.
 *   relay binary     frames of every size (under 32 bytes too, and over the frame limit) to
 *                    itself, to an unknown id, to a cell that does not accept it, to one that
 *                    does: each has its expected outcome (echo, undeliverable, error, delivery).
 *   relay → cell     frames injected through the relay into the cell's relay client, from its
 *                    paired friend and from a stranger (the cell has a live invite, so it is
 *                    "open" to small frames): random bytes, tunnel-shaped junk, frames cut and
 *                    flipped, answers to calls never made, calls cut into parts never completed,
 *                    and whole, correctly sealed calls holding junk, hostile heads or the HTTP
 *                    fuzzer's hostile peer requests. Every whole sealed call must be answered
 *                    (a status, never a 5xx from the cell's code).
 * After each: the relay answers /status; the cell answers /api/status, still holds its relay
 * reservation, answers a valid call through the relay, and its state is unchanged.
 */
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { toHex } from "../../src/core/types.ts";
import { portableSuite } from "../../src/crypto/index.ts";
import {
  ID_BYTES,
  LoginSchema,
  AcceptSchema,
  OPEN_FRAME_BYTES,
  frame,
  loginVerifies,
  makeLogin,
  unframe,
} from "../../src/relay/relay-protocol.ts";
import {
  KIND_REQUEST,
  KIND_RESPONSE,
  Reassembly,
  decodeResponse,
  encodeRequest,
  openCall,
  openFrame,
  readHead,
  sealMessage,
  type CallKeys,
} from "../../src/relay/tunnel.ts";
import {
  byteMutation,
  EDGE_SIZES,
  hostileBytes,
  hostileJsonText,
  mutateBytes,
  mutatedJsonText,
  prngBytes,
  type ByteMutation,
} from "./gen.ts";
import type { FuzzCell } from "./cell-target.ts";
import { FuzzIdentity } from "./identity.ts";
import {
  FLAVOURS,
  judge,
  describeSpec,
  normalize,
  type Finding,
  type HttpFuzz,
  type Prepared,
  type Route,
  type Spec,
} from "./http-targets.ts";

/** A WebSocket to the relay that keeps what arrives and lets a caller wait for the next thing. */
export class RelaySocket {
  ws: WebSocket;
  texts: { type?: string; [k: string]: unknown }[] = [];
  frames: Uint8Array[] = [];
  closed: { code: number; reason: string } | null = null;
  opened = false;
  /** Waiters of every socket: an event on any one wakes them (a wait may watch two sockets). */
  private static wake: (() => void)[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.ws.onopen = () => ((this.opened = true), this.notify());
    this.ws.onmessage = (ev) => {
      if (typeof ev.data === "string") {
        try {
          this.texts.push(JSON.parse(ev.data));
        } catch {
          this.texts.push({ type: "(not json)", raw: ev.data });
        }
      } else this.frames.push(new Uint8Array(ev.data as ArrayBuffer));
      this.notify();
    };
    this.ws.onclose = (ev) => ((this.closed = { code: ev.code, reason: ev.reason }), this.notify());
  }

  private notify(): void {
    for (const w of RelaySocket.wake.splice(0)) w();
  }

  /** Wait until `pred` holds (checked on every event), at most `ms`. */
  async until(pred: () => boolean, ms: number): Promise<boolean> {
    const end = performance.now() + ms;
    while (!pred()) {
      const left = end - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        RelaySocket.wake.push(() => (clearTimeout(t), r()));
      });
    }
    return true;
  }

  /** Connect, take the challenge and log in; null when refused. */
  static async login(
    url: string,
    who: { id: string; ed25519Secret: Uint8Array },
    accept: string[],
    open = false,
  ): Promise<RelaySocket | null> {
    const s = new RelaySocket(url);
    await s.until(() => s.texts.some((t) => t.type === "challenge") || s.closed !== null, 5000);
    const ch = s.texts.find((t) => t.type === "challenge");
    if (!ch) return null;
    s.ws.send(JSON.stringify(makeLogin(who, String(ch.nonce), accept, Date.now(), open)));
    await s.until(() => s.texts.some((t) => t.type === "ready" || t.type === "refused") || s.closed !== null, 5000);
    if (!s.texts.some((t) => t.type === "ready")) return (s.close(), null);
    s.texts = [];
    return s;
  }

  send(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  close(): void {
    try {
      this.ws.close();
    } catch {}
  }
}

export interface RelayResult {
  target: string;
  inputs: number;
  statuses: Record<string, number>;
  findings: Finding[];
  ms: number;
}

const tally = (m: Record<string, number>, k: string) => void (m[k] = (m[k] ?? 0) + 1);

/** The relay still runs and answers /status. */
export async function relayAlive(relayHostPort: string, proc: { exitCode: number | null }): Promise<string | null> {
  if (proc.exitCode !== null) return `the relay process exited (${proc.exitCode})`;
  try {
    const r = await fetch(`http://${relayHostPort}/status`, { signal: AbortSignal.timeout(5000) });
    await r.arrayBuffer();
    return r.status === 200 ? null : `/status answered ${r.status}`;
  } catch (e) {
    return `/status did not answer: ${(e as Error).message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// relay login

type LoginSpec =
  | { k: "text"; text: string }
  | { k: "mutated"; text: string }
  | { k: "binary"; bytes: Uint8Array }
  | { k: "nonce" }
  | { k: "time"; offset: number }
  | { k: "forged" }
  | { k: "huge"; size: number }
  | { k: "many" }
  | { k: "silent-then-text"; text: string };

function loginSpecs(): fc.Arbitrary<LoginSpec> {
  const me = new FuzzIdentity("login-template");
  const template = makeLogin(me.keys, "0".repeat(32), [me.id], 1, true);
  return fc.oneof(
    { weight: 4, arbitrary: hostileJsonText().map((text) => ({ k: "text" as const, text })) },
    { weight: 6, arbitrary: mutatedJsonText(template).map((text) => ({ k: "mutated" as const, text })) },
    { weight: 2, arbitrary: hostileBytes(4096).map((bytes) => ({ k: "binary" as const, bytes })) },
    { weight: 1, arbitrary: fc.constant({ k: "nonce" as const }) },
    { weight: 1, arbitrary: fc.constantFrom(-6 * 60_000, 6 * 60_000, -1e15, 1e15).map((offset) => ({ k: "time" as const, offset })) },
    { weight: 1, arbitrary: fc.constant({ k: "forged" as const }) },
    { weight: 1, arbitrary: fc.constant({ k: "many" as const }) },
    { weight: 1, arbitrary: fc.constantFrom(70_000, 1_100_000).map((size) => ({ k: "huge" as const, size })) },
  );
}

function loginText(s: LoginSpec, nonce: string, me: FuzzIdentity, other: FuzzIdentity): string | Uint8Array {
  switch (s.k) {
    case "text":
      return s.text;
    case "mutated": {
      // The template's signature, id and nonce are replaced by live ones where the mutation left them.
      const real = makeLogin(me.keys, nonce, [me.id], Date.now(), true);
      return s.text
        .replace(/"signature":"[0-9a-f]{128}"/, `"signature":"${real.signature}"`)
        .replace(/"time":1([,}])/, `"time":${real.time}$1`);
    }
    case "binary":
      return s.bytes;
    case "nonce":
      return JSON.stringify(makeLogin(me.keys, toHex(randomBytes(16)), [], Date.now()));
    case "time":
      return JSON.stringify(makeLogin(me.keys, nonce, [], Math.max(0, Date.now() + s.offset)));
    case "forged":
      return JSON.stringify({ ...makeLogin(me.keys, nonce, [], Date.now()), id: other.id });
    case "many":
      return JSON.stringify(
        makeLogin(
          me.keys,
          nonce,
          Array.from({ length: 1025 }, () => toHex(randomBytes(32))),
          Date.now(),
        ),
      );
    case "huge":
      return JSON.stringify({ ...makeLogin(me.keys, nonce, [], Date.now()), pad: "x".repeat(s.size) });
    case "silent-then-text":
      return s.text;
  }
}

/** Would the relay rightly let this login in? (A mutation can leave a login valid.) */
function validLogin(text: string | Uint8Array, nonce: string): boolean {
  if (typeof text !== "string") return false;
  try {
    const p = LoginSchema.safeParse(JSON.parse(text));
    return p.success && Math.abs(Date.now() - p.data.time) <= 5 * 60_000 && loginVerifies(p.data, nonce);
  } catch {
    return false;
  }
}

export async function fuzzRelayLogin(
  url: string,
  count: number,
  opts: { seed: number; parallel?: number; seeds?: LoginSpec[] },
): Promise<RelayResult> {
  const name = "relay login (malformed logins)";
  const me = new FuzzIdentity("login-fuzz");
  const other = new FuzzIdentity("login-other");
  const arb = loginSpecs();
  const statuses: Record<string, number> = {};
  const findings: Finding[] = [];
  const t0 = performance.now();
  const queue: LoginSpec[] = [...(opts.seeds ?? [])];
  let generated = 0;
  let batch = 0;
  const next = () => {
    if (!queue.length && generated < count) {
      const n = Math.min(500, count - generated);
      queue.push(...fc.sample(arb, { numRuns: n, seed: (opts.seed * 31 + batch++) | 0 }));
      generated += n;
    }
    return queue.shift() ?? null;
  };
  const total = queue.length + count;
  const worker = async () => {
    for (let s = next(); s; s = next()) {
      const spec = s;
      const ws = new RelaySocket(url);
      const got = await ws.until(() => ws.texts.some((t) => t.type === "challenge") || ws.closed !== null, 5000);
      const ch = ws.texts.find((t) => t.type === "challenge");
      if (!got || !ch) {
        findings.push({
          target: name,
          kind: "hang",
          detail: `no challenge (${ws.closed ? `closed ${ws.closed.code}` : "timeout"})`,
          input: "(connect)",
        });
        ws.close();
        continue;
      }
      const nonce = String(ch.nonce);
      const msg = loginText(spec, nonce, me, other);
      try {
        ws.send(msg);
      } catch (e) {
        tally(statuses, "send-failed");
        ws.close();
        continue;
      }
      const answered = await ws.until(() => ws.texts.some((t) => t.type === "ready" || t.type === "refused") || ws.closed !== null, 8000);
      const ready = ws.texts.some((t) => t.type === "ready");
      if (ready) {
        tally(statuses, "ready");
        if (!validLogin(msg, nonce))
          findings.push({ target: name, kind: "accepted", detail: "an invalid login was let in", input: describeLogin(spec, msg) });
      } else if (!answered) {
        findings.push({
          target: name,
          kind: "hang",
          detail: "a malformed login was neither refused nor closed in 8 s",
          input: describeLogin(spec, msg),
        });
      } else {
        // Refused: the reason first, then the close.
        await ws.until(() => ws.closed !== null, 5000);
        const refusedMsg = ws.texts.find((t) => t.type === "refused");
        tally(statuses, refusedMsg ? `refused/${ws.closed?.code ?? "open"}` : `closed/${ws.closed?.code}`);
        if (!ws.closed)
          findings.push({
            target: name,
            kind: "hang",
            detail: "refused but the connection was left open",
            input: describeLogin(spec, msg),
          });
      }
      ws.close();
    }
  };
  await Promise.all(Array.from({ length: opts.parallel ?? 16 }, worker));
  return { target: name, inputs: total, statuses, findings, ms: performance.now() - t0 };
}

function describeLogin(s: LoginSpec, msg: string | Uint8Array): string {
  return `${s.k}: ${typeof msg === "string" ? JSON.stringify(msg.slice(0, 400)) : `bytes[${msg.byteLength}]`}`;
}

// ---------------------------------------------------------------------------------------------
// relay text after login

export async function fuzzRelayText(url: string, count: number, opts: { seed: number; seeds?: string[] }): Promise<RelayResult> {
  const name = "relay text (after login)";
  const me = new FuzzIdentity("text-fuzz");
  const statuses: Record<string, number> = {};
  const findings: Finding[] = [];
  const t0 = performance.now();
  let ws = await RelaySocket.login(url, me.keys, [me.id]);
  if (!ws) throw new Error("relay text: could not log in");
  const arb = fc.oneof(
    hostileJsonText(),
    mutatedJsonText({ type: "accept", accept: [me.id], open: true }),
    mutatedJsonText(makeLogin(me.keys, "0".repeat(32), [], 1)),
    fc.constantFrom("", " ", "null", "{}", '{"type":"accept"}', '{"type":"accept","accept":null}', '{"type":"login"}', "x".repeat(200_000)),
  );
  const inputs = [...(opts.seeds ?? [])];
  for (let b = 0; inputs.length < count + (opts.seeds?.length ?? 0); b++)
    inputs.push(
      ...fc.sample(arb, { numRuns: Math.min(500, count + (opts.seeds?.length ?? 0) - inputs.length), seed: (opts.seed * 37 + b) | 0 }),
    );
  for (const text of inputs) {
    let valid = false;
    try {
      valid = AcceptSchema.safeParse(JSON.parse(text)).success;
    } catch {}
    const before = ws.texts.length;
    ws.send(text);
    const answered = await ws.until(() => ws!.texts.length > before || ws!.closed !== null, 5000);
    const reply = ws.texts[before];
    if (!answered) findings.push({ target: name, kind: "hang", detail: "no answer in 5 s", input: JSON.stringify(text.slice(0, 400)) });
    else if (ws.closed) {
      findings.push({
        target: name,
        kind: "dropped",
        detail: `the relay closed the connection (${ws.closed.code} ${ws.closed.reason})`,
        input: JSON.stringify(text.slice(0, 400)),
      });
    } else {
      tally(statuses, String(reply?.type));
      const want = valid ? "accepted" : "error";
      if (reply?.type !== want)
        findings.push({
          target: name,
          kind: "accepted",
          detail: `answered ${JSON.stringify(reply).slice(0, 200)}, expected ${want}`,
          input: JSON.stringify(text.slice(0, 400)),
        });
    }
    if (ws.closed) {
      ws = await RelaySocket.login(url, me.keys, [me.id]);
      if (!ws) throw new Error("relay text: could not log in again");
    }
    if (ws.texts.length > 1000) ws.texts = [];
  }
  ws.close();
  return { target: name, inputs: inputs.length, statuses, findings, ms: performance.now() - t0 };
}

// ---------------------------------------------------------------------------------------------
// relay binary frames

type FrameSpec = { to: "self" | "sink" | "unknown" | "refuser" | "short"; size: number; seed: number };

export async function fuzzRelayBinary(url: string, count: number, opts: { seed: number; maxFrameBytes: number }): Promise<RelayResult> {
  const name = "relay binary frames";
  const me = new FuzzIdentity("frame-fuzz");
  const sinkId = new FuzzIdentity("frame-sink");
  const refuserId = new FuzzIdentity("frame-refuser");
  const statuses: Record<string, number> = {};
  const findings: Finding[] = [];
  const t0 = performance.now();
  const connect = async () => {
    const s = await RelaySocket.login(url, me.keys, [me.id]);
    if (!s) throw new Error("relay binary: could not log in");
    return s;
  };
  let ws = await connect();
  const sink = await RelaySocket.login(url, sinkId.keys, [me.id]);
  const refuser = await RelaySocket.login(url, refuserId.keys, []);
  if (!sink || !refuser) throw new Error("relay binary: could not log in the sink and refuser");
  const arb: fc.Arbitrary<FrameSpec> = fc.record({
    to: fc.constantFrom("self" as const, "sink" as const, "unknown" as const, "refuser" as const, "short" as const),
    size: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...EDGE_SIZES) },
      { weight: 3, arbitrary: fc.nat({ max: 70_000 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(OPEN_FRAME_BYTES, OPEN_FRAME_BYTES + 1, 1 << 20, opts.maxFrameBytes, opts.maxFrameBytes + 1),
      },
    ),
    seed: fc.integer(),
  });
  const specs: FrameSpec[] = [];
  for (let b = 0; specs.length < count; b++)
    specs.push(...fc.sample(arb, { numRuns: Math.min(500, count - specs.length), seed: (opts.seed * 41 + b) | 0 }));
  const unknown = toHex(randomBytes(32));
  for (const s of specs) {
    const payload = prngBytes(s.size, s.seed);
    const data =
      s.to === "short"
        ? payload.subarray(0, Math.min(s.size, ID_BYTES - 1))
        : frame(s.to === "self" ? me.id : s.to === "sink" ? sinkId.id : s.to === "refuser" ? refuserId.id : unknown, payload);
    const tb = ws.texts.length;
    const fb = ws.frames.length;
    const kb = sink.frames.length;
    const oversize = s.to !== "short" && s.size > opts.maxFrameBytes;
    ws.send(data);
    const expect = oversize
      ? "closed"
      : s.to === "short"
        ? "error"
        : s.to === "unknown"
          ? "undeliverable"
          : s.to === "refuser"
            ? "error"
            : s.to === "self"
              ? "echo"
              : "delivered";
    const ok = await ws.until(() => ws.closed !== null || ws.texts.length > tb || ws.frames.length > fb || sink.frames.length > kb, 5000);
    let got = !ok
      ? "nothing"
      : ws.closed
        ? "closed"
        : ws.frames.length > fb
          ? "echo"
          : sink.frames.length > kb
            ? "delivered"
            : String(ws.texts[tb]?.type);
    if (got === "refused") {
      // Refused with a reason, then closed.
      await ws.until(() => ws.closed !== null, 5000);
      got = ws.closed ? "closed" : "refused-left-open";
    }
    tally(statuses, `${s.to}:${got}`);
    if (got !== expect)
      findings.push({
        target: name,
        kind: got === "nothing" ? "hang" : "accepted",
        detail: `a ${data.byteLength}-byte frame to ${s.to}: got ${got}, expected ${expect}`,
        input: JSON.stringify(s),
      });
    if (got === "echo" && !equal(unframe(ws.frames[fb]!)!.payload, payload))
      findings.push({ target: name, kind: "accepted", detail: "the echoed payload differs", input: JSON.stringify(s) });
    if (got === "delivered" && !equal(unframe(sink.frames[kb]!)!.payload, payload))
      findings.push({ target: name, kind: "accepted", detail: "the delivered payload differs", input: JSON.stringify(s) });
    if (ws.closed) ws = await connect();
    if (ws.frames.length > 100) (ws.frames = []), (ws.texts = []);
    if (sink.frames.length > 100) sink.frames = [];
  }
  for (const s of [ws, sink, refuser]) s.close();
  return { target: name, inputs: specs.length, statuses, findings, ms: performance.now() - t0 };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a).equals(Buffer.from(b));
}

// ---------------------------------------------------------------------------------------------
// relay → cell (the cell's relay client)

type CellFrameSpec =
  | { k: "random"; from: "peer" | "stranger"; bytes: Uint8Array }
  | { k: "shaped"; from: "peer" | "stranger"; v: number; kind: number; callId: number; part: number; parts: number; size: number }
  | { k: "mutated"; from: "peer" | "stranger"; muts: ByteMutation[]; response: boolean }
  | { k: "partial"; parts: number; send: number[] }
  | { k: "sealed-junk"; from: "peer" | "stranger"; message: Uint8Array }
  | { k: "sealed-head"; from: "peer" | "stranger"; head: string; body: Uint8Array }
  | { k: "call"; from: "peer" | "stranger"; route: number; spec: Spec };

interface CallState {
  keys: CallKeys;
  parts: Reassembly | null;
  done: (r: { status: number; headers: Record<string, string>; body: Uint8Array } | null) => void;
}

/** One logged-in cell on the relay that calls the target cell through its tunnel and reads the answers. */
class TunnelCaller {
  private calls = new Map<number, CallState>();
  private nextId = 1;
  constructor(
    readonly who: FuzzIdentity,
    public sock: RelaySocket,
    private readonly cellId: string,
    private readonly cellX25519: Uint8Array,
  ) {
    this.listen();
  }

  listen(): void {
    const prev = this.sock.ws.onmessage;
    this.sock.ws.onmessage = (ev) => {
      if (typeof ev.data === "string") return prev?.call(this.sock.ws, ev);
      this.onFrame(new Uint8Array(ev.data as ArrayBuffer));
    };
  }

  private onFrame(data: Uint8Array): void {
    const f = unframe(data);
    if (!f || f.id !== this.cellId) return;
    try {
      const h = readHead(f.payload);
      if (h.kind !== KIND_RESPONSE) return;
      const c = this.calls.get(h.callId);
      if (!c) return;
      const plain = openFrame(portableSuite, c.keys.response, f.payload, h);
      c.parts ??= new Reassembly(h.parts);
      const whole = c.parts.add(h.part, h.parts, plain);
      if (!whole) return;
      this.calls.delete(h.callId);
      const r = decodeResponse(whole);
      c.done({
        status: r.status,
        headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v])),
        body: r.body,
      });
    } catch {
      /* not an answer we can read */
    }
  }

  newId(): number {
    const id = this.nextId;
    this.nextId = (this.nextId % 0xfffffff0) + 1;
    return id;
  }

  /** Send a whole sealed request message; resolves with the cell's answer or null after `ms`. */
  call(message: Uint8Array, ms: number): Promise<{ status: number; headers: Record<string, string>; body: Uint8Array } | null> {
    const { ephPublic, keys } = openCall(this.cellX25519);
    const id = this.newId();
    const frames = sealMessage(portableSuite, keys.request, KIND_REQUEST, id, message, ephPublic, ID_BYTES);
    return new Promise((resolve) => {
      const timer = setTimeout(() => (this.calls.delete(id), resolve(null)), ms);
      this.calls.set(id, { keys, parts: null, done: (r) => (clearTimeout(timer), resolve(r)) });
      for (const f of frames) {
        f.set(Buffer.from(this.cellId, "hex"), 0);
        this.sock.send(f);
      }
    });
  }

  /** Frames of a sealed request message (for cutting), without sending. */
  frames(message: Uint8Array, callId = this.newId()): Uint8Array[] {
    const { ephPublic, keys } = openCall(this.cellX25519);
    return sealMessage(portableSuite, keys.request, KIND_REQUEST, callId, message, ephPublic);
  }

  raw(payload: Uint8Array): void {
    this.sock.send(frame(this.cellId, payload));
  }
}

function cellFrameSpecs(routes: Route[], fz: HttpFuzz): fc.Arbitrary<CellFrameSpec> {
  const from = fc.constantFrom("peer" as const, "peer" as const, "stranger" as const);
  const callArbs = routes.flatMap((r, i) => FLAVOURS.map((fl) => fz.specs(r, fl).map((spec) => ({ route: i, spec }))));
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ k: fc.constant("random" as const), from, bytes: hostileBytes(70_000) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constant("shaped" as const),
        from,
        v: fc.constantFrom(0, 1, 1, 2, 255),
        kind: fc.constantFrom(0, 1, 2, 3, 255),
        callId: fc.nat(),
        part: fc.constantFrom(0, 1, 2, 17, 18, 19, 65535),
        parts: fc.constantFrom(0, 1, 2, 18, 19, 20, 65535),
        size: fc.constantFrom(0, 1, 16, 25, 26, 41, 42, 58, 100, 4096),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constant("mutated" as const),
        from,
        muts: fc.array(byteMutation(), { minLength: 1, maxLength: 3 }),
        response: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("partial" as const),
        parts: fc.integer({ min: 2, max: 4 }),
        send: fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 3 }),
      }),
    },
    { weight: 3, arbitrary: fc.record({ k: fc.constant("sealed-junk" as const), from, message: hostileBytes(8192) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant("sealed-head" as const),
        from,
        head: fc.oneof(hostileJsonText(), mutatedJsonText({ method: "POST", path: "/peer/ping", headers: { "X-Grove-Cell": "PEER" } })),
        body: hostileBytes(2048),
      }),
    },
    { weight: 8, arbitrary: fc.tuple(from, fc.oneof(...callArbs)).map(([f, c]) => ({ k: "call" as const, from: f, ...c })) },
  );
}

/** Encode a message (u32 head length ‖ head ‖ body) from raw head text. */
function rawMessage(head: string, body: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(head);
  const out = new Uint8Array(4 + h.byteLength + body.byteLength);
  new DataView(out.buffer).setUint32(0, h.byteLength);
  out.set(h, 4);
  out.set(body, 4 + h.byteLength);
  return out;
}

export async function fuzzRelayToCell(
  relayUrl: string,
  t: FuzzCell,
  fz: HttpFuzz,
  routes: Route[],
  count: number,
  opts: { seed: number; parallel?: number; seeds?: CellFrameSpec[] },
): Promise<RelayResult> {
  const name = "relay → cell (relay client frames)";
  const statuses: Record<string, number> = {};
  const findings: Finding[] = [];
  const t0 = performance.now();
  const stranger = new FuzzIdentity("relay-stranger");
  const partialSender = new FuzzIdentity("relay-partials");
  const login = async (who: FuzzIdentity) => {
    const s = await RelaySocket.login(relayUrl, who.keys, [t.id]);
    if (!s) throw new Error(`relay → cell: ${who.card.name} could not log in`);
    return new TunnelCaller(who, s, t.id, t.x25519);
  };
  const callers = { peer: await login(t.peer), stranger: await login(stranger), partial: await login(partialSender) };
  const ensure = async (k: keyof typeof callers) => {
    if (callers[k].sock.closed) callers[k] = await login(callers[k].who);
    return callers[k];
  };
  const arb = cellFrameSpecs(routes, fz);
  const queue: CellFrameSpec[] = [...(opts.seeds ?? [])];
  let generated = 0;
  let batch = 0;
  const next = () => {
    if (!queue.length && generated < count) {
      const n = Math.min(256, count - generated);
      queue.push(...fc.sample(arb, { numRuns: n, seed: (opts.seed * 43 + batch++) | 0 }));
      generated += n;
    }
    return queue.shift() ?? null;
  };
  const total = queue.length + count;
  const template = encodeRequest({ method: "POST", path: "/peer/ping", headers: { "X-Grove-Cell": t.peer.id }, body: new Uint8Array(4) });
  const worker = async () => {
    for (let s = next(); s; s = next()) {
      const spec = s;
      const c = await ensure(spec.k === "partial" ? "partial" : spec.from);
      const small = spec.k === "partial" || spec.from === "stranger";
      const fit = (b: Uint8Array) => (small && b.byteLength > OPEN_FRAME_BYTES - 64 ? b.subarray(0, OPEN_FRAME_BYTES - 64) : b);
      let message: Uint8Array | null = null;
      let prepared: Prepared | null = null;
      let route: Route | null = null;
      switch (spec.k) {
        case "random":
          c.raw(fit(spec.bytes));
          tally(statuses, "dropped-as-expected");
          continue;
        case "shaped": {
          const f = new Uint8Array(10 + spec.size);
          f[0] = spec.v;
          f[1] = spec.kind;
          const d = new DataView(f.buffer);
          d.setUint32(2, spec.callId >>> 0);
          d.setUint16(6, spec.part);
          d.setUint16(8, spec.parts);
          c.raw(f);
          tally(statuses, "dropped-as-expected");
          continue;
        }
        case "mutated": {
          const f = spec.response
            ? sealMessage(portableSuite, new Uint8Array(32), KIND_RESPONSE, c.newId(), template)[0]!
            : c.frames(template)[0]!;
          c.raw(fit(mutateBytes(f, spec.muts)));
          tally(statuses, "dropped-as-expected");
          continue;
        }
        case "partial": {
          // Only the last part of a many-part message: small enough for a stranger, and it opens,
          // so the cell would keep it waiting for parts that never come.
          const frames = c.frames(new Uint8Array(1024 * 1024 * (spec.parts - 1) + 10));
          for (const i of spec.send) c.raw(frames[frames.length - 1 - (i % 2)]!.subarray(0, OPEN_FRAME_BYTES - 64));
          tally(statuses, "dropped-as-expected");
          continue;
        }
        case "sealed-junk":
          message = fit(spec.message);
          break;
        case "sealed-head":
          message = fit(rawMessage(spec.head.replace("PEER", c.who.id), spec.body));
          break;
        case "call": {
          route = routes[spec.route]!;
          try {
            prepared = await fz.materialize(route, spec.spec);
          } catch {
            continue;
          }
          if (prepared.skip || prepared.replay) continue;
          const headers: Record<string, string> = {};
          for (const [k, v] of prepared.req.headers) headers[k] = v;
          // Through the relay, the sender is the relay's: a stranger's call is its own.
          message = encodeRequest({ method: prepared.req.method, path: prepared.req.target, headers, body: prepared.req.body });
          if (small && message.byteLength > OPEN_FRAME_BYTES - 1024) continue;
          break;
        }
      }
      const answer = await c.call(message!, 15_000);
      const input = () =>
        spec.k === "call" ? `${spec.from}: ${describeSpec(route!, spec.spec)}` : `${spec.k} from ${spec.from}: ${describeSpecShort(spec)}`;
      if (!answer) {
        tally(statuses, "no answer");
        findings.push({ target: name, kind: "hang", detail: "a whole, correctly sealed call got no answer in 15 s", input: input() });
        continue;
      }
      tally(statuses, String(answer.status));
      const p: Prepared = prepared
        ? { ...prepared, httpInvalid: false, expectRefusal: prepared.expectRefusal || spec.from === "stranger" }
        : {
            req: { method: "POST", target: "/", headers: [], body: null },
            httpInvalid: false,
            expectRefusal: true,
            replay: false,
            skip: false,
            peerSurface: true,
          };
      // Only the peer API answers through a relay: a path that leaves /peer/ once parsed gets the relay client's 404.
      const target = spec.k === "call" ? normalize(prepared!.req.target) : null;
      if (target !== null && !target.startsWith("/peer/") && answer.status !== 404 && answer.status !== 400) {
        findings.push({
          target: name,
          kind: "accepted",
          detail: `a call to ${target.slice(0, 80)} (outside /peer/) was answered ${answer.status} by another surface`,
          input: input(),
        });
      }
      const bad = judge(
        name,
        p,
        {
          ok: true,
          status: answer.status,
          headers: { "content-type": answer.headers["content-type"] ?? "(none)", ...answer.headers },
          body: answer.body,
          ms: 0,
        },
        input,
      );
      if (bad) findings.push(bad);
    }
  };
  await Promise.all(Array.from({ length: opts.parallel ?? 8 }, worker));
  for (const c of Object.values(callers)) c.sock.close();
  return { target: name, inputs: total, statuses, findings, ms: performance.now() - t0 };
}

function describeSpecShort(s: CellFrameSpec): string {
  if (s.k === "sealed-junk") return `bytes[${s.message.byteLength}] ${Buffer.from(s.message.subarray(0, 40)).toString("hex")}`;
  if (s.k === "sealed-head") return `head ${JSON.stringify(s.head.slice(0, 300))} body[${s.body.byteLength}]`;
  return s.k;
}

/** A valid call from the paired friend through the relay (the cell still answers after the fuzzing). */
export async function relayCallWorks(relayUrl: string, t: FuzzCell): Promise<string | null> {
  const s = await RelaySocket.login(relayUrl, t.peer.keys, [t.id]);
  if (!s) return "the friend could not log in to the relay";
  try {
    const c = new TunnelCaller(t.peer, s, t.id, t.x25519);
    const headers = t.peer.signRequest("POST", "/peer/ping", null, t.id);
    const r = await c.call(encodeRequest({ method: "POST", path: "/peer/ping", headers: { ...headers }, body: null }), 15_000);
    if (!r) return "a valid /peer/ping through the relay got no answer";
    return r.status === 200 ? null : `a valid /peer/ping through the relay was answered ${r.status}`;
  } finally {
    s.close();
  }
}

export type { CellFrameSpec, LoginSpec };
