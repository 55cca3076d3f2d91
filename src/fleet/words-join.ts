/**
 * @module fleet/words-join — joining my cells with the 24 words alone, for a new device when no
 * other of my cells is at hand to make an invite (docs/design.md, "One tree across my cells").
 *
 * The words are the root of one of my cells, W. The new cell keeps its own identity; it proves the
 * words with a *vouch*: W's signature over the new cell's id, the id of the cell it asks, and the
 * time. The asked cell R takes it when W is R itself or one of R's cells of mine that was never
 * removed, and answers as to a `--mine` invite, sealed to the new cell. The new cell takes the
 * answer only when R's key ring holds W's master key, which the new cell derives from the words
 * too: so a cell that is not one of mine (an impostor at the address) cannot pass for one.
 * Only the vouch leaves the new cell; the words never do.
 */
import { z } from "zod";
import { fromHex, toHex, type CellId } from "../core/types.ts";
import { GroveError } from "../core/errors.ts";
import { deriveIdentity, sign, verify, type Identity } from "../crypto/keys.ts";
import { secretFromPhrase } from "../crypto/recovery.ts";
import type { KeyRingData } from "../crypto/key-ring.ts";

/** How far a vouch's time may be from the asked cell's clock. */
export const VOUCH_WINDOW_MS = 10 * 60 * 1000;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const VouchSchema = z.object({
  by: hex64,
  at: z.number().int().positive(),
  sig: z.string().regex(/^[0-9a-f]{128}$/),
});
export type Vouch = z.infer<typeof VouchSchema>;

/** What the asked cell answers GET /peer/hello: who it is, so the request can be sealed to it. */
export const HelloSchema = z.object({ id: hex64, x25519: hex64 });

const enc = new TextEncoder();
const message = (joiner: string, target: string, at: number) => enc.encode(`grove/v1/join-by-words\n${joiner}\n${target}\n${at}`);

/** The words of a pasted phrase, without the "1." numbering `grove recovery-phrase` prints. */
export function phraseWords(text: string): string {
  return text
    .split(/\s+/)
    .filter((w) => w && !/^\d+\.?$/.test(w))
    .join(" ");
}

/** The identity behind the words (throws a one-line error for a wrong word or checksum). */
export function wordsIdentity(phrase: string): Identity & { id: CellId } {
  const id = deriveIdentity(secretFromPhrase(phraseWords(phrase)));
  return { ...id, id: toHex(id.ed25519Public) as CellId };
}

/** W's signature that the cell `joiner` may join the cell `target` as one of mine. */
export function makeVouch(words: Identity & { id: CellId }, joiner: CellId, target: CellId, at = Date.now()): Vouch {
  return { by: words.id, at, sig: toHex(sign(words.ed25519Secret, message(joiner, target, at))) };
}

/**
 * The asked cell's check: the vouch is well formed, recent, signed by its `by` for this joiner and
 * this cell. Returns `by` (the caller decides whether that cell is one of mine).
 */
export function checkVouch(raw: unknown, joiner: CellId, self: CellId, now = Date.now()): CellId {
  const v = VouchSchema.safeParse(raw);
  if (!v.success) throw new GroveError("a join with the words must carry a vouch {by, at, sig}", 400, "bad_request");
  const { by, at, sig } = v.data;
  if (Math.abs(now - at) > VOUCH_WINDOW_MS)
    throw new GroveError("the vouch is too old or dated ahead: check the clocks of both devices and try again", 401, "stale");
  if (!verify(fromHex(sig), message(joiner, self, at), fromHex(by)))
    throw new GroveError("the vouch does not verify: these words did not sign this join", 401, "bad_signature");
  return by as CellId;
}

/** The joiner's check of the answer: the ring of a cell of mine holds the master key of the cell whose words these are. */
export function ringHoldsWords(ring: KeyRingData | undefined, words: Identity & { id: CellId }): boolean {
  return ring !== undefined && ring.legacy[words.id] === toHex(words.masterKey);
}
