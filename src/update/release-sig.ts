/**
 * @module update/release-sig — release keys and `sig.json`, the signed description of one
 * release executable (docs/design.md: Updates and uptime).
 *
 * Wire and file form (JSON, version 1):
 *   { v: 1, target, build, build_time, size, sha256, key, signature }
 * `target` is the platform ("linux-x64"), `build` the build hash baked into the executable,
 * `build_time` its content-derived build time (ISO-8601 UTC), `size` and `sha256` (hex) describe
 * the executable's bytes, `key` is the hex Ed25519 public release key and `signature` the hex
 * Ed25519 signature by that key over the canonical JSON (core/canonical-json) of every other
 * field. A sig.json proves nothing by itself: it counts only when `key` is one of the cell's
 * `trusted_release_keys` (see `checkTrusted`).
 *
 * A release key file holds the 32-byte Ed25519 seed as 64 hex characters (mode 600).
 *
 * @example
 *   const sig = signRelease(secret, { target: "linux-x64", build, build_time, ...(await fileDigest(exe)) });
 *   checkTrusted(sig, config.trusted_release_keys); // throws ReleaseRefused
 */
import { sha256 } from "../core/sha256.ts";
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { GroveError } from "../core/errors.ts";
import { fromHex, toHex } from "../core/types.ts";
import { ed25519PublicKey, sign, verify } from "../crypto/keys.ts";
import { signedBytes } from "../protocol/signed-object.ts";

export const SIG_VERSION = 1;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters");
/** A platform name as build.ts names them: "linux-x64", "darwin-arm64". */
export const TargetSchema = z
  .string()
  .regex(/^[a-z0-9]+-[a-z0-9_]+$/, "must be a platform such as linux-x64")
  .max(32);

/** sig.json as it may arrive from a peer: `signature` may be missing (an unsigned build, refused later). */
export const OfferedSigSchema = z.object({
  v: z.literal(SIG_VERSION),
  target: TargetSchema,
  build: hex64,
  build_time: z.iso.datetime(),
  size: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  sha256: hex64,
  key: hex64.optional(),
  signature: z.string().max(256).optional(),
});

/** A complete sig.json (still to be checked against trusted keys). */
export const ReleaseSigSchema = OfferedSigSchema.extend({
  key: hex64,
  signature: z.string().regex(/^[0-9a-f]{128}$/, "must be 128 lowercase hex characters"),
});

export type OfferedSig = z.infer<typeof OfferedSigSchema>;
export type ReleaseSig = z.infer<typeof ReleaseSigSchema>;
/** What the signer states about the executable (the signature covers these plus `v` and `key`). */
export type ReleaseFacts = Pick<ReleaseSig, "target" | "build" | "build_time" | "size" | "sha256">;

/** A release was refused (unsigned, untrusted, forged, tampered, wrong build): one clear line. */
export class ReleaseRefused extends GroveError {
  constructor(message: string) {
    super(message, 422, "release_refused");
    this.name = "ReleaseRefused";
  }
}

/** Sign `facts` with the release key `secret` (32-byte seed). */
export function signRelease(secret: Uint8Array, facts: ReleaseFacts): ReleaseSig {
  const unsigned = { v: SIG_VERSION, ...pickFacts(facts), key: toHex(ed25519PublicKey(secret)) } as const;
  return { ...unsigned, signature: toHex(sign(secret, signedBytes(unsigned))) };
}

/** Parse a sig.json value (file text, or already parsed); throws ReleaseRefused naming the problem. */
export function parseOfferedSig(raw: unknown): OfferedSig {
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ReleaseRefused("sig.json is not valid JSON");
    }
  }
  const r = OfferedSigSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ReleaseRefused(`malformed sig.json: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  // As received: fields this build does not know stay under the signature (protocol/signed-object).
  return value as OfferedSig;
}

/** `sig` as a complete ReleaseSig when it carries a signature its own `key` made (trust is a separate question), else null. */
export function signedBy(sig: OfferedSig): ReleaseSig | null {
  const full = ReleaseSigSchema.safeParse(sig);
  if (!full.success) return null;
  return verify(fromHex(full.data.signature), signedBytes(sig), fromHex(full.data.key)) ? (sig as ReleaseSig) : null;
}

/**
 * Accept `sig` only when it is signed, by a key in `trusted`, and the signature verifies.
 * Throws ReleaseRefused with the reason otherwise. Returns the complete sig.
 */
export function checkTrusted(sig: OfferedSig, trusted: readonly string[]): ReleaseSig {
  const what = `build ${sig.build.slice(0, 12)} for ${sig.target}`;
  if (!sig.signature || !sig.key) throw new ReleaseRefused(`${what} is unsigned (its sig.json has no signature)`);
  if (trusted.length === 0) throw new ReleaseRefused(`${what} cannot be trusted: this cell has no trusted_release_keys in config.json`);
  if (!trusted.map((k) => k.toLowerCase()).includes(sig.key)) {
    throw new ReleaseRefused(`${what} is signed by release key ${sig.key.slice(0, 16)}…, which is not in trusted_release_keys`);
  }
  const full = signedBy(sig);
  if (!full) throw new ReleaseRefused(`${what}: the signature does not verify (forged or altered sig.json)`);
  return full;
}

/** Refuse an executable whose bytes are not the ones `sig` describes. */
export function checkDigest(sig: OfferedSig, got: { size: number; sha256: string }): void {
  const what = `build ${sig.build.slice(0, 12)} for ${sig.target}`;
  if (got.size !== sig.size)
    throw new ReleaseRefused(`${what} is ${got.size} bytes, its signature says ${sig.size} (tampered or truncated)`);
  if (got.sha256 !== sig.sha256)
    throw new ReleaseRefused(
      `${what} does not match its signature (sha256 ${got.sha256.slice(0, 16)}… ≠ ${sig.sha256.slice(0, 16)}…): tampered or damaged`,
    );
}

/** Size and hex SHA-256 of a file, streamed. */
export async function fileDigest(path: string): Promise<{ size: number; sha256: string }> {
  const h = sha256();
  let size = 0;
  for await (const piece of Bun.file(path).stream() as unknown as AsyncIterable<Uint8Array>) {
    h.update(piece);
    size += piece.byteLength;
  }
  return { size, sha256: h.digest("hex") };
}

/** A fresh release key: the 32-byte secret seed and the public key (hex). */
export function generateReleaseKey(): { secret: Uint8Array; publicHex: string } {
  const secret = crypto.getRandomValues(new Uint8Array(32));
  return { secret, publicHex: toHex(ed25519PublicKey(secret)) };
}

/** The public key (hex) of a release key seed. */
export function releasePublicKey(secret: Uint8Array): string {
  return toHex(ed25519PublicKey(secret));
}

/**
 * A release key from `spec`: 64 hex characters (the seed itself), or the path of a key file
 * holding them (as `grove release keygen` writes it).
 */
export function loadReleaseKey(spec: string): Uint8Array {
  const s = spec.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return fromHex(s.toLowerCase());
  if (!existsSync(s)) throw new Error(`release key: no such file '${s}' (and not 64 hex characters)`);
  const text = readFileSync(s, "utf8").trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new Error(`release key file ${s}: must hold 64 hex characters (the Ed25519 seed)`);
  return fromHex(text.toLowerCase());
}

/** Is `a` strictly newer than `b` (ISO times; an unknown time is never newer, and anything is newer than it)? */
export function isNewerTime(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a) return false;
  if (!b) return true;
  return Date.parse(a) > Date.parse(b);
}

function pickFacts(f: ReleaseFacts): ReleaseFacts {
  return { target: f.target, build: f.build, build_time: f.build_time, size: f.size, sha256: f.sha256 };
}
