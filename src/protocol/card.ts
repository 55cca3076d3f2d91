/**
 * @module protocol/card — the cell card: a cell's signed public description (docs/design.md: Identity).
 *
 * Wire form (JSON, version 1):
 *   { v: 1, id, x25519, name, addresses, build, capabilities: { free_bytes, models: [{name,
 *     source, parameters, size, tokens_per_s}], ram_bytes, gpu }, issued_at, signature }
 * `id` is the hex Ed25519 public key (the cell id), `x25519` the hex X25519 public key that
 * HPKE seals to, `build` the hex build hash, `issued_at` an ISO-8601 UTC time. `signature` is
 * the hex Ed25519 signature, by `id`, over the canonical JSON (core/canonical-json) of every
 * other field as received (protocol/signed-object), fields this build does not know included:
 * those are ignored but kept, so a newer build's card verifies and can be passed on. A card whose
 * JSON is over 16 KiB is refused, and so is one with a `type` field: every other signed Grove
 * object has one, so none of them can pass as a card. A card whose `name` holds a control, bidi
 * or invisible formatting character is refused (protocol/safe-name).
 * Optional (absent from older cards): `build_time`, the build's content-derived time (ISO-8601),
 * and `targets`, the platforms whose executables the cell serves (update/release-store).
 */
import { z } from "zod";
import { GroveError } from "../core/errors.ts";
import { jsonLengthExceeds } from "../core/json-size.ts";
import { fromHex, toHex, type CellId } from "../core/types.ts";
import { ed25519PublicKey, sign, verify, type Identity } from "../crypto/keys.ts";
import { canonicalJson } from "../core/canonical-json.ts";
import { safeName } from "./safe-name.ts";
import { signedBytes } from "./signed-object.ts";
import { shortId } from "../core/format.ts";

export const CARD_VERSION = 1;
/** Largest card accepted, in bytes of its JSON. */
export const MAX_CARD_BYTES = 16 * 1024;
/** A card may be dated this far ahead of our clock (same window as signed requests). */
export const CARD_MAX_FUTURE_MS = 5 * 60 * 1000;

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters");
const hex128 = z.string().regex(/^[0-9a-f]{128}$/, "must be 128 lowercase hex characters");
const byteCount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A route URL: parseable, with a scheme and a host (http(s), ws(s), or another transport). */
const routeUrl = z.string().min(1).max(512).refine(isRouteUrl, "must be an absolute URL with a host (e.g. http://192.168.1.5:5678)");

/** A model the cell offers to its friends (ai/assistant): name, where it runs, size, and the last measured speed. */
export const CardModelSchema = z.object({
  name: z.string().min(1).max(128),
  source: z.enum(["local", "ollama"]),
  /** Parameter count (null when unknown). */
  parameters: byteCount.nullable(),
  size: byteCount,
  /** Generation speed measured on its last local answer; null until it has answered once. */
  tokens_per_s: z.number().min(0).max(1e6).nullable(),
});

export const CapabilitiesSchema = z.object({
  free_bytes: byteCount,
  models: z.array(CardModelSchema).max(64),
  ram_bytes: byteCount,
  gpu: z.string().min(1).max(128).nullable(),
});

export const CardSchema = z.object({
  v: z.literal(CARD_VERSION),
  id: hex64,
  x25519: hex64,
  name: safeName(64),
  addresses: z.array(routeUrl).max(32),
  build: hex64,
  build_time: z.iso.datetime().optional(),
  targets: z
    .array(
      z
        .string()
        .regex(/^[a-z0-9]+-[a-z0-9_]+$/)
        .max(32),
    )
    .max(16)
    .optional(),
  capabilities: CapabilitiesSchema,
  issued_at: z.iso.datetime(),
  signature: hex128,
});

export type Capabilities = z.infer<typeof CapabilitiesSchema>;
export type CardModel = z.infer<typeof CardModelSchema>;

/** A card whose signature has been checked (only `verifyCard` and `makeCard` produce one). */
export type Card = Omit<z.infer<typeof CardSchema>, "id"> & { id: CellId };

/** The signed part of a card: everything but the signature. */
type UnsignedCard = Omit<z.infer<typeof CardSchema>, "signature">;

/** What `makeCard` needs: the cell's keys and what it says about itself. */
export interface CardInput {
  identity: Pick<Identity, "ed25519Secret" | "x25519Public">;
  name: string;
  addresses: readonly string[];
  build: string;
  /** The build's time (omitted from the card when null or absent, e.g. run from source). */
  buildTime?: string | null;
  /** Platforms whose executables this cell serves. */
  targets?: readonly string[];
  capabilities: Capabilities;
  /** Defaults to now. */
  issuedAt?: Date;
}

/** A card was refused; `message` is one line naming the problem. */
export class CardError extends GroveError {
  constructor(message: string) {
    super(`invalid cell card: ${message}`, 400, "bad_card");
    this.name = "CardError";
  }
}

/** Build and sign this cell's card. Throws CardError if the result would not verify. */
export function makeCard(input: CardInput): Card {
  const unsigned: UnsignedCard = {
    v: CARD_VERSION,
    id: toHex(ed25519PublicKey(input.identity.ed25519Secret)),
    x25519: toHex(input.identity.x25519Public),
    name: input.name,
    addresses: [...input.addresses],
    build: input.build,
    ...(input.buildTime ? { build_time: input.buildTime } : {}),
    ...(input.targets ? { targets: [...input.targets] } : {}),
    capabilities: { ...input.capabilities, models: input.capabilities.models.map((m) => ({ ...m })) },
    issued_at: (input.issuedAt ?? new Date()).toISOString(),
  };
  const signature = toHex(sign(input.identity.ed25519Secret, signedBytes(unsigned)));
  return verifyCard({ ...unsigned, signature }, { now: () => Date.parse(unsigned.issued_at) });
}

export interface VerifyCardOptions {
  /** Clock for the "issued in the future" check (unix ms). Defaults to Date.now. */
  now?: () => number;
  /** Refuse the card unless it belongs to this cell (e.g. the inviter named in a token). */
  expectId?: string;
}

/**
 * Check a card received from elsewhere: a JSON string, its UTF-8 bytes, or an already parsed
 * value. Returns the typed card, or throws CardError (too large, not JSON, malformed field,
 * unexpected id, issued in the future, signature not made by `id`).
 */
export function verifyCard(input: unknown, opts: VerifyCardOptions = {}): Card {
  const value = parseInput(input);
  const parsed = CardSchema.safeParse(value);
  if (!parsed.success) throw new CardError(describeIssue(parsed.error));
  if (Object.hasOwn(value as object, "type")) throw new CardError("type: a card has none (this is another kind of signed object)");
  const card = parsed.data;
  if (opts.expectId !== undefined && card.id !== opts.expectId) {
    throw new CardError(`it belongs to cell ${shortId(card.id)}, expected ${shortId(opts.expectId)}`);
  }
  const now = (opts.now ?? Date.now)();
  if (Date.parse(card.issued_at) > now + CARD_MAX_FUTURE_MS) {
    throw new CardError(`issued_at ${card.issued_at} is in the future (check the clocks)`);
  }
  // Over the card as received: fields this build does not know are covered and kept (protocol/signed-object).
  if (!verify(fromHex(card.signature), signedBytes(value as object), fromHex(card.id))) {
    throw new CardError("signature does not verify against the card's id (forged or altered)");
  }
  return value as Card;
}

/** True when `b` says something new about the cell compared with `a` (issued_at and signature aside). */
export function cardChanged(a: Card, b: Card): boolean {
  return canonicalJson(cardContent(a)) !== canonicalJson(cardContent(b));
}

/** True when `candidate` is a later card of the same cell than `current`. */
export function isNewerCard(current: Card, candidate: Card): boolean {
  return candidate.id === current.id && Date.parse(candidate.issued_at) > Date.parse(current.issued_at);
}

function cardContent(card: Card): Omit<Card, "issued_at" | "signature"> {
  const { issued_at: _issued, signature: _sig, ...rest } = card;
  return rest;
}

function parseInput(input: unknown): unknown {
  if (typeof input === "string") {
    checkSize(enc.encode(input));
    return parseJson(input);
  }
  if (input instanceof Uint8Array) return parseJson(decodeUtf8(checkSize(input)));
  // Bounded first: a 100,000-deep value would make JSON.stringify overflow after seconds of work.
  if (jsonLengthExceeds(input, MAX_CARD_BYTES)) throw new CardError(`larger than the ${MAX_CARD_BYTES}-byte limit`);
  let json: string | undefined;
  try {
    json = JSON.stringify(input);
  } catch {
    throw new CardError("not serialisable as JSON");
  }
  if (json === undefined) throw new CardError("not a JSON object");
  checkSize(enc.encode(json));
  return input;
}

function checkSize(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength > MAX_CARD_BYTES) {
    throw new CardError(`${bytes.byteLength} bytes, larger than the ${MAX_CARD_BYTES}-byte limit`);
  }
  return bytes;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return dec.decode(bytes);
  } catch {
    throw new CardError("not valid UTF-8");
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CardError("not valid JSON");
  }
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "malformed";
  const where = issue.path.length > 0 ? issue.path.join(".") : "card";
  return `${where}: ${issue.message}`;
}

function isRouteUrl(s: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return false;
  try {
    return new URL(s).host.length > 0;
  } catch {
    return false;
  }
}
