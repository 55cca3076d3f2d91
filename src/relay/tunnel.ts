/**
 * @module relay/tunnel — the end-to-end envelope of a peer call carried through a relay
 * (docs/protocol.md, "Peer calls through a relay"). The relay sees sender, recipient, sizes and
 * timing; the method, path, headers and bodies travel sealed.
 *
 * Keys, one pair per call: the caller makes an ephemeral X25519 key, E = DH(ephemeral, the
 * callee's X25519 key); HKDF-SHA256(E, salt = ephemeral public ‖ callee public,
 * info = "grove/v1/relay-call") gives 64 bytes: the request key, then the response key. The callee
 * needs no key of the caller's (so a cell that is not yet a peer can pair), and a recorded call
 * cannot be opened later from the cells' long-term keys alone being stolen from the caller.
 * Who is calling is proven inside, by the signed peer request and its signed answer.
 *
 * A call's request or response is one message: u32 BE length of a JSON head ‖ head ‖ body. It is
 * cut into parts of at most PART_BYTES, each sealed alone (ChaCha20-Poly1305, nonce = kind ‖ part
 * index, aad = the frame header) into one relay frame:
 *
 *   byte 0 version (1) | 1 kind (1 request, 2 response) | 2..5 call id u32 | 6..7 part u16 |
 *   8..9 parts u16 | requests only: 10..41 the ephemeral X25519 public key | ciphertext ‖ tag
 */
import { z } from "zod";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdfSha256 } from "../crypto/keys.ts";
import type { CipherSuite } from "../crypto/cipher.ts";
import type { PeerRequest, PeerResponse } from "../net/peer-client.ts";

export const TUNNEL_VERSION = 1;
export const KIND_REQUEST = 1;
export const KIND_RESPONSE = 2;
/** Plaintext bytes per frame: a 4 MiB chunk takes five frames, each well under the relay's frame limit. */
export const PART_BYTES = 1024 * 1024;
/** Largest message (a backup batch is 16 MiB, plus its head). */
export const MAX_MESSAGE_BYTES = 17 * 1024 * 1024;
export const MAX_PARTS = Math.ceil(MAX_MESSAGE_BYTES / PART_BYTES) + 1;
const HEAD_BYTES = 10;
const EPH_BYTES = 32;
const TAG_BYTES = 16;
const MAX_HEAD_JSON = 64 * 1024;
const INFO = new TextEncoder().encode("grove/v1/relay-call");

export interface CallKeys {
  request: Uint8Array;
  response: Uint8Array;
}

/** A call's request and answer are the peer client's (net/peer-client). */
export type TunnelRequest = PeerRequest;
export type TunnelResponse = PeerResponse;

/** A frame that cannot be what it claims; the caller drops it and logs `message`. */
export class TunnelError extends Error {}

function deriveKeys(shared: Uint8Array, ephPublic: Uint8Array, calleePublic: Uint8Array): CallKeys {
  const salt = new Uint8Array(EPH_BYTES * 2);
  salt.set(ephPublic, 0);
  salt.set(calleePublic, EPH_BYTES);
  const okm = hkdfSha256(shared, salt, INFO, 64);
  return { request: okm.subarray(0, 32), response: okm.subarray(32, 64) };
}

/** The caller's side: fresh keys for one call to the cell whose X25519 public key is `calleePublic`. */
export function openCall(calleePublic: Uint8Array): { ephPublic: Uint8Array; keys: CallKeys } {
  const secret = x25519.utils.randomSecretKey();
  const ephPublic = x25519.getPublicKey(secret);
  return { ephPublic, keys: deriveKeys(sharedSecret(secret, calleePublic), ephPublic, calleePublic) };
}

/** The callee's side: the same keys from the ephemeral public key in the request frames. */
export function acceptCall(secret: Uint8Array, ownPublic: Uint8Array, ephPublic: Uint8Array): CallKeys {
  return deriveKeys(sharedSecret(secret, ephPublic), ephPublic, ownPublic);
}

function sharedSecret(secret: Uint8Array, pub: Uint8Array): Uint8Array {
  try {
    return x25519.getSharedSecret(secret, pub);
  } catch {
    throw new TunnelError("the X25519 key in the frame is not usable (low order)");
  }
}

const RequestHead = z.object({
  method: z.string().regex(/^[A-Z]{1,16}$/),
  path: z.string().min(1).max(2048),
  headers: z.record(z.string().max(256), z.string().max(4096)),
});
const ResponseHead = z.object({
  status: z.number().int().min(100).max(599),
  headers: z.record(z.string().max(256), z.string().max(4096)),
});

/** A message's first bytes: u32 BE length of the JSON head ‖ the head (the body follows). */
function messageHead(head: unknown): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(head));
  const out = new Uint8Array(4 + h.byteLength);
  new DataView(out.buffer).setUint32(0, h.byteLength);
  out.set(h, 4);
  return out;
}

function encodeMessage(head: unknown, body: Uint8Array | null): Uint8Array {
  const h = messageHead(head);
  if (!body?.byteLength) return h;
  const out = new Uint8Array(h.byteLength + body.byteLength);
  out.set(h, 0);
  out.set(body, h.byteLength);
  return out;
}

function decodeMessage<S extends z.ZodTypeAny>(bytes: Uint8Array, schema: S): { head: z.infer<S>; body: Uint8Array } {
  if (bytes.byteLength < 4) throw new TunnelError("tunnel message is too short");
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (n > MAX_HEAD_JSON || 4 + n > bytes.byteLength) throw new TunnelError("tunnel message head is malformed");
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n)));
  } catch {
    throw new TunnelError("tunnel message head is not JSON");
  }
  const p = schema.safeParse(raw);
  if (!p.success) throw new TunnelError(`tunnel message head is malformed (${p.error.issues[0]!.path.join(".") || "shape"})`);
  return { head: p.data, body: bytes.subarray(4 + n) };
}

export function encodeRequest(r: TunnelRequest): Uint8Array {
  return encodeMessage({ method: r.method, path: r.path, headers: r.headers }, r.body);
}

/** A request as the two pieces of its message (head, body), for MessageSealer: the body is not copied. */
export function requestPieces(r: TunnelRequest): Uint8Array[] {
  const head = messageHead({ method: r.method, path: r.path, headers: r.headers });
  return r.body?.byteLength ? [head, r.body] : [head];
}

export function decodeRequest(bytes: Uint8Array): TunnelRequest {
  const { head, body } = decodeMessage(bytes, RequestHead);
  if (!head.path.startsWith("/")) throw new TunnelError("tunnel request path must start with /");
  return { method: head.method, path: head.path, headers: head.headers, body: body.byteLength ? body : null };
}

export function encodeResponse(r: TunnelResponse): Uint8Array {
  return encodeMessage({ status: r.status, headers: r.headers }, r.body);
}

export function decodeResponse(bytes: Uint8Array): TunnelResponse {
  const { head, body } = decodeMessage(bytes, ResponseHead);
  return { status: head.status, headers: head.headers, body };
}

function nonceOf(kind: number, part: number): Uint8Array {
  const n = new Uint8Array(12);
  n[0] = kind;
  new DataView(n.buffer).setUint32(8, part);
  return n;
}

/**
 * Seal `message` into frame payloads for call `callId`: `kind` with its key (`ephPublic` is put
 * in every request frame, so the callee can open them in any order). Each frame starts with
 * `prefix` spare bytes (left zero), so a sender can write the relay's addressing there instead of
 * copying the frame again.
 */
export function sealMessage(
  suite: CipherSuite,
  key: Uint8Array,
  kind: number,
  callId: number,
  message: Uint8Array,
  ephPublic?: Uint8Array,
  prefix = 0,
): Uint8Array[] {
  const m = new MessageSealer(suite, key, kind, callId, [message], ephPublic, prefix);
  return Array.from({ length: m.parts }, (_, i) => m.frame(i));
}

/** Bytes of a frame buffer (prefix included) that any part of a message fits. */
export function frameBufferBytes(prefix: number): number {
  return prefix + HEAD_BYTES + EPH_BYTES + PART_BYTES + TAG_BYTES;
}

/**
 * A message sealed part by part as it is sent, each part into a buffer the sender may reuse for
 * the next (a WebSocket's send copies what it cannot write at once): a call of 4 MiB costs no
 * copy of the whole message and no buffer per frame. The message is `pieces` one after another
 * (a request's head and its body, requestPieces), never joined. Frames are as sealMessage's.
 */
export class MessageSealer {
  readonly parts: number;
  private readonly total: number;
  private readonly extra: number;

  constructor(
    private readonly suite: CipherSuite,
    private readonly key: Uint8Array,
    private readonly kind: number,
    private readonly callId: number,
    private readonly pieces: readonly Uint8Array[],
    private readonly ephPublic?: Uint8Array,
    private readonly prefix = 0,
  ) {
    this.total = pieces.reduce((n, p) => n + p.byteLength, 0);
    if (this.total > MAX_MESSAGE_BYTES) throw new TunnelError(`a message through the relay is at most ${MAX_MESSAGE_BYTES} bytes`);
    this.parts = Math.max(1, Math.ceil(this.total / PART_BYTES));
    this.extra = kind === KIND_REQUEST ? EPH_BYTES : 0;
    if (kind === KIND_REQUEST && ephPublic?.byteLength !== EPH_BYTES)
      throw new TunnelError("a request frame carries the 32-byte ephemeral key");
  }

  /** Part `i` sealed into `into` (at least frameBufferBytes(prefix) bytes; a new buffer when absent): the frame, prefix included. */
  frame(i: number, into?: Uint8Array): Uint8Array {
    const { prefix, extra, kind } = this;
    const start = i * PART_BYTES;
    const len = Math.min(this.total, start + PART_BYTES) - start;
    const size = prefix + HEAD_BYTES + extra + len + TAG_BYTES;
    if (into && into.byteLength < size) throw new TunnelError("the frame buffer is too small for a part");
    const whole = into ? into.subarray(0, size) : new Uint8Array(size);
    whole.fill(0, 0, prefix);
    const frame = whole.subarray(prefix);
    const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    frame[0] = TUNNEL_VERSION;
    frame[1] = kind;
    v.setUint32(2, this.callId);
    v.setUint16(6, i);
    v.setUint16(8, this.parts);
    if (extra) frame.set(this.ephPublic!, HEAD_BYTES);
    // The part's plaintext gathered from the pieces into the frame, then sealed there in place.
    const body = frame.subarray(HEAD_BYTES + extra);
    let o = 0;
    let at = 0;
    for (const p of this.pieces) {
      const from = Math.max(start, at);
      const to = Math.min(start + len, at + p.byteLength);
      if (from < to) body.set(p.subarray(from - at, to - at), o), (o += to - from);
      at += p.byteLength;
    }
    const aad = frame.subarray(0, HEAD_BYTES + extra);
    this.suite.seal(this.key, nonceOf(kind, i), body.subarray(0, len), aad, body);
    return whole;
  }
}

export interface FrameHead {
  kind: number;
  callId: number;
  part: number;
  parts: number;
  /** Request frames: the caller's ephemeral X25519 public key. */
  ephPublic: Uint8Array | null;
}

/** Read a frame's clear header; throws TunnelError for anything that is not a tunnel frame. */
export function readHead(frame: Uint8Array): FrameHead {
  if (frame.byteLength < HEAD_BYTES + TAG_BYTES) throw new TunnelError("frame is too short to be a tunnel frame");
  if (frame[0] !== TUNNEL_VERSION) throw new TunnelError(`unknown tunnel version ${frame[0]}`);
  const kind = frame[1]!;
  if (kind !== KIND_REQUEST && kind !== KIND_RESPONSE) throw new TunnelError(`unknown tunnel frame kind ${kind}`);
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const callId = v.getUint32(2);
  const part = v.getUint16(6);
  const parts = v.getUint16(8);
  if (parts < 1 || parts > MAX_PARTS || part >= parts) throw new TunnelError("tunnel frame part numbers are out of range");
  if (kind === KIND_REQUEST && frame.byteLength < HEAD_BYTES + EPH_BYTES + TAG_BYTES) throw new TunnelError("request frame is too short");
  const ephPublic = kind === KIND_REQUEST ? frame.slice(HEAD_BYTES, HEAD_BYTES + EPH_BYTES) : null;
  return { kind, callId, part, parts, ephPublic };
}

/** Plaintext bytes in `frame` (what openFrame gives); throws TunnelError when it is more than a part. */
export function frameTextBytes(frame: Uint8Array, head: FrameHead): number {
  const n = frame.byteLength - HEAD_BYTES - (head.kind === KIND_REQUEST ? EPH_BYTES : 0) - TAG_BYTES;
  if (n > PART_BYTES) throw new TunnelError("tunnel frame is larger than a part");
  return n;
}

/**
 * Open one frame with `key` (into `out` when given: frameTextBytes(frame) bytes, a part's place in
 * its Reassembly); throws TunnelError when it does not open (wrong key, altered).
 */
export function openFrame(suite: CipherSuite, key: Uint8Array, frame: Uint8Array, head: FrameHead, out?: Uint8Array): Uint8Array {
  const start = HEAD_BYTES + (head.kind === KIND_REQUEST ? EPH_BYTES : 0);
  frameTextBytes(frame, head);
  const plain = suite.open(key, nonceOf(head.kind, head.part), frame.subarray(start), frame.subarray(0, start), out);
  if (!plain) throw new TunnelError("tunnel frame does not open (not for this cell, or altered)");
  return plain;
}

/**
 * Collects the parts of one message; `add` returns the whole message once every part is in. A
 * part may be opened straight into its place (`place`, then `add` with that view): the message is
 * then put together where it is kept, with no buffer per part and no copy at the end.
 */
export class Reassembly {
  private readonly parts: (Uint8Array | null)[];
  private got = 0;
  /** Where the parts are put together, once `place` was asked (every part but the last is PART_BYTES). */
  private buf: Uint8Array | null = null;
  private lastLen = -1;
  bytes = 0;
  readonly createdAt = Date.now();

  constructor(readonly total: number) {
    if (!Number.isInteger(total) || total < 1 || total > MAX_PARTS) throw new TunnelError("tunnel message part count is out of range");
    this.parts = new Array<Uint8Array | null>(total).fill(null);
  }

  /** Bytes this message may take once `place` was asked (what a receiver counts against its limits). */
  get reserved(): number {
    return this.buf?.byteLength ?? 0;
  }

  /** Bytes this message holds in memory now: its buffer once placed, else its parts. */
  get footprint(): number {
    return Math.max(this.reserved, this.bytes);
  }

  /** Whether part `part` is in already (a duplicate is ignored: not opened again). */
  has(part: number): boolean {
    return this.parts[part] != null;
  }

  /**
   * The place of part `part`, `len` bytes, to open it into; null when it cannot be in this
   * message (then `add` refuses it as it would any part). The buffer is made on the first call.
   */
  place(part: number, total: number, len: number): Uint8Array | null {
    if (total !== this.total || !Number.isInteger(part) || part < 0 || part >= total) return null;
    if (part < total - 1 ? len !== PART_BYTES : len > PART_BYTES) return null;
    if (part === total - 1) {
      if (this.lastLen >= 0 && this.lastLen !== len) return null;
      this.lastLen = len;
    }
    this.buf ??= new Uint8Array(total === 1 ? len : total * PART_BYTES);
    return this.buf.subarray(part * PART_BYTES, part * PART_BYTES + len);
  }

  add(part: number, total: number, plain: Uint8Array): Uint8Array | null {
    if (total !== this.total) throw new TunnelError("tunnel frame disagrees on the number of parts");
    // readHead already keeps part in range; checked here too, so no caller can leave a hole.
    if (!Number.isInteger(part) || part < 0 || part >= total) throw new TunnelError("tunnel frame part number is out of range");
    if (this.parts[part]) return null; // a duplicate: ignore
    if (this.bytes + plain.byteLength > MAX_MESSAGE_BYTES) throw new TunnelError("tunnel message is too large");
    if (part < total - 1 && plain.byteLength !== PART_BYTES) throw new TunnelError("a tunnel part other than the last must be full");
    this.parts[part] = plain;
    this.bytes += plain.byteLength;
    if (++this.got < this.total) return null;
    const b = this.buf;
    // Every part opened in its place: the message is already whole there.
    if (b && this.parts.every((p, i) => p!.buffer === b.buffer && p!.byteOffset === b.byteOffset + i * PART_BYTES))
      return b.subarray(0, this.bytes);
    if (this.total === 1) return this.parts[0]!;
    const out = new Uint8Array(this.bytes);
    let o = 0;
    for (const p of this.parts) {
      out.set(p!, o);
      o += p!.byteLength;
    }
    return out;
  }
}
