/**
 * @module relay/relay-protocol — what a cell and the relay say to each other (docs/protocol.md,
 * "Relay"): the login challenge and its signature, and the binary frame layout. Shared by the
 * hub (relay/hub) and the cells' relay client.
 *
 *   relay -> cell  {"type":"challenge","v":1,"nonce":HEX32}
 *   cell  -> relay {"type":"login","id":HEX64,"time":MS,"accept":[HEX64…],"open"?:true,"access"?:HEX64,"signature":HEX128}
 *   relay -> cell  {"type":"ready","limits":{…},"operator"?:HEX64,"operator_signature"?:HEX128}
 *                | {"type":"refused","reason":…} (then closed)
 *   cell  -> relay binary: recipient id (32 raw bytes) ‖ payload (sealed end to end by the cells)
 *   relay -> cell  binary: sender id (32 raw bytes) ‖ payload
 *   relay -> cell  {"type":"undeliverable","to":HEX64} | {"type":"error","reason":…,"to"?:HEX64}
 *   cell  -> relay {"type":"accept","accept":[HEX64…],"open"?:bool} (the fleet changed) -> {"type":"accepted","count"}
 *                  (rate limited per connection: over it {"type":"error","reason"}, the list unchanged)
 *
 * signature = Ed25519 by `id` over "grove-relay-login-v1\n" NONCE "\n" TIME "\n" ACCEPT, ACCEPT
 * being the accepted ids joined by ",", followed by "\nopen" when `open` is true. `accept` lists
 * the cells this one takes frames from (its fleet): the relay forwards a frame only to a cell
 * that accepts its sender. `open` (the cell has a live invite) also lets small frames (at most
 * OPEN_FRAME_BYTES) from any logged-in cell through, so a cell that is not yet a peer can pair.
 *
 * A relay serves only the cells its operator allows (relay/hub, relay/access). A cell given an
 * access token (config `relays`: `wss://HOST?token=TOKEN`) proves it holds it with
 * access = HMAC-SHA256(key = the token, "grove-relay-access-v1\n" NONCE "\n" ID), hex: bound to
 * this challenge and this cell, so a login seen on the wire admits no one else, and the token
 * itself never travels.
 *
 * A relay run by a cell (config `relay_port`) names that cell as its operator in `ready`:
 * operator_signature = Ed25519 by `operator` over "grove-relay-operator-v1\n" NONCE "\n" ID "\n"
 * SIGNATURE, the login it answers (so the proof cannot be copied to another relay or another
 * cell's login). A cell that verifies it credits the operator, when a peer, with the bytes the
 * relay carried for it (bounty/relay-credit); a relay without a valid proof is used, uncredited.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { fromHex, toHex } from "../core/types.ts";
import { sign, verify } from "../crypto/keys.ts";

export const LOGIN_CONTEXT = "grove-relay-login-v1";
export const ID_BYTES = 32;
/** Most ids a cell may list as accepted. */
export const MAX_ACCEPT = 1024;
/** Largest frame an open cell takes from a cell it does not accept (a join is a few KB). */
export const OPEN_FRAME_BYTES = 64 * 1024;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const LoginSchema = z.object({
  type: z.literal("login"),
  id: hex64,
  time: z.number().int().nonnegative(),
  accept: z.array(hex64).max(MAX_ACCEPT),
  open: z.boolean().optional(),
  /** Proof of an access token (accessProof); absent when the cell has none for this relay. */
  access: hex64.optional(),
  signature: z.string().regex(/^[0-9a-f]{128}$/),
});
export type Login = z.infer<typeof LoginSchema>;

/** After login, a cell may replace its accept list (its fleet changed): the relay answers {"type":"accepted","count"}. */
export const AcceptSchema = z.object({ type: z.literal("accept"), accept: z.array(hex64).max(MAX_ACCEPT), open: z.boolean().optional() });

function loginMessage(nonce: string, time: number, accept: readonly string[], open: boolean): Uint8Array {
  const lines = [LOGIN_CONTEXT, nonce, String(time), accept.join(",")];
  if (open) lines.push("open");
  return new TextEncoder().encode(lines.join("\n"));
}

/** A signed login answering `nonce`; with `token` (from the relay URL), the proof that this cell holds it. */
export function makeLogin(
  keys: { id: string; ed25519Secret: Uint8Array },
  nonce: string,
  accept: readonly string[],
  time = Date.now(),
  open = false,
  token: string | null = null,
): Login {
  const signature = toHex(sign(keys.ed25519Secret, loginMessage(nonce, time, accept, open)));
  return {
    type: "login",
    id: keys.id,
    time,
    accept: [...accept],
    ...(open ? { open } : {}),
    ...(token !== null ? { access: accessProof(token, nonce, keys.id) } : {}),
    signature,
  };
}

export const ACCESS_CONTEXT = "grove-relay-access-v1";

/** HMAC-SHA256 by `token` over the access context, the challenge and the cell id, hex. */
export function accessProof(token: string, nonce: string, id: string): string {
  return createHmac("sha256", token).update([ACCESS_CONTEXT, nonce, id].join("\n")).digest("hex");
}

/** Does `access` (from a login answering `nonce`, by cell `id`) prove `token`? Compared in constant time. */
export function provesToken(access: string | undefined, token: string, nonce: string, id: string): boolean {
  if (access === undefined) return false;
  const want = Buffer.from(accessProof(token, nonce, id), "hex");
  const got = Buffer.from(access, "hex");
  return got.byteLength === want.byteLength && timingSafeEqual(got, want);
}

export function loginVerifies(l: Login, nonce: string): boolean {
  return verify(fromHex(l.signature), loginMessage(nonce, l.time, l.accept, l.open === true), fromHex(l.id));
}

export const OPERATOR_CONTEXT = "grove-relay-operator-v1";

function operatorMessage(nonce: string, login: Pick<Login, "id" | "signature">): Uint8Array {
  return new TextEncoder().encode([OPERATOR_CONTEXT, nonce, login.id, login.signature].join("\n"));
}

/** The relay operator's proof for the `ready` answering `login` (challenged with `nonce`). */
export function makeOperatorProof(
  operator: { id: string; ed25519Secret: Uint8Array },
  nonce: string,
  login: Pick<Login, "id" | "signature">,
): { operator: string; operator_signature: string } {
  return { operator: operator.id, operator_signature: toHex(sign(operator.ed25519Secret, operatorMessage(nonce, login))) };
}

/** The operator a `ready` message proves (its id), or null when it names none or the proof does not verify. */
export function provenOperator(
  ready: { operator?: unknown; operator_signature?: unknown },
  nonce: string,
  login: Pick<Login, "id" | "signature">,
): string | null {
  const { operator, operator_signature: sig } = ready;
  if (typeof operator !== "string" || !/^[0-9a-f]{64}$/.test(operator) || typeof sig !== "string" || !/^[0-9a-f]{128}$/.test(sig))
    return null;
  return verify(fromHex(sig), operatorMessage(nonce, login), fromHex(operator)) ? operator : null;
}

/** recipient-or-sender id ‖ payload. */
export function frame(id: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ID_BYTES + payload.byteLength);
  out.set(fromHex(id), 0);
  out.set(payload, ID_BYTES);
  return out;
}

export function unframe(data: Uint8Array): { id: string; payload: Uint8Array } | null {
  if (data.byteLength < ID_BYTES) return null;
  return { id: toHex(data.subarray(0, ID_BYTES)), payload: data.subarray(ID_BYTES) };
}
