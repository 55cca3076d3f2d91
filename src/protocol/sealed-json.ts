/**
 * @module protocol/sealed-json — JSON messages sealed with HPKE to one cell: nothing readable
 * crosses the wire (docs/design.md: Talking between cells). The sender's id is the additional
 * data, so a message opens only as coming from the cell that signed the request carrying it.
 */
import { GroveError } from "../core/errors.ts";
import { openSealed, sealTo } from "./seal.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export async function sealJson(recipientX25519: Uint8Array, value: unknown, info: string, senderId: string): Promise<Uint8Array> {
  return sealTo(recipientX25519, enc.encode(JSON.stringify(value)), info, senderId);
}

/** Open and parse; a message that does not open or is not JSON is a 400. */
export async function openJson(
  keys: { x25519Secret: Uint8Array; x25519Public: Uint8Array },
  sealed: Uint8Array,
  info: string,
  senderId: string,
): Promise<unknown> {
  let plain: Uint8Array;
  try {
    plain = await openSealed(keys.x25519Secret, keys.x25519Public, sealed, info, senderId);
  } catch {
    throw new GroveError(`body is not a message sealed to this cell for ${info}`, 400, "bad_seal");
  }
  try {
    return JSON.parse(dec.decode(plain));
  } catch {
    throw new GroveError("sealed body is not JSON", 400, "bad_request");
  }
}
