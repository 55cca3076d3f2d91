/**
 * @module protocol/message — a message between two cells on the wire (POST /peer/msg,
 * docs/protocol.md "Messages"): the payload the sender seals to the recipient, its limits, and
 * the rule a message's text follows on both sides.
 *
 * Payload (JSON, sealed with HPKE to the recipient, info `grove/v1/msg`, aad = sender id):
 *   {v: 1, id: 32 hex (random, the sender's), text, sent_at: unix ms (sender's clock)}
 */
import { z } from "zod";
import { badRequest } from "../core/errors.ts";

/** Longest text, in UTF-16 code units after trimming (≤ 3 UTF-8 bytes each: ≤ 48 KiB). */
export const MAX_MESSAGE_CHARS = 16_384;
/** Largest sealed /peer/msg body a cell accepts. */
export const MAX_MESSAGE_BODY = 64 * 1024;

const ID_RE = /^[0-9a-f]{32}$/;
// Control characters other than tab and newline, and lone surrogates (not text, and each would
// take 6 bytes in JSON).
const BAD_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f]|\p{Cs}/u;

/**
 * A message text as stored and sent: line ends as \n, trimmed, 1 to MAX_MESSAGE_CHARS long,
 * without control characters but tab and newline. Throws a 400 saying what is wrong.
 * @example checkText("  hi\r\nthere \n") // "hi\nthere"
 */
export function checkText(raw: string): string {
  const text = raw.replace(/\r\n?/g, "\n").trim();
  if (!text) throw badRequest("a message needs some text");
  if (text.length > MAX_MESSAGE_CHARS)
    throw badRequest(`a message is at most ${MAX_MESSAGE_CHARS} characters (this one has ${text.length})`);
  if (BAD_CHARS.test(text)) throw badRequest("a message may not contain control characters (other than tab and newline)");
  return text;
}

export const MessagePayload = z.object({
  v: z.literal(1),
  id: z.string().regex(ID_RE, "must be 32 hex characters"),
  text: z.string().min(1).max(MAX_MESSAGE_CHARS),
  sent_at: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});
export type MessagePayload = z.infer<typeof MessagePayload>;

/** Check a received payload (after opening it): its shape, then its text. Throws a 400. */
export function parsePayload(value: unknown): MessagePayload {
  const r = MessagePayload.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw badRequest(`bad message: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return { ...r.data, text: checkText(r.data.text) };
}

/** A new random message id (128 bits, hex). */
export function newMessageId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Buffer.from(b).toString("hex");
}
