/**
 * @module fleet/invite-token — the invite token a user copies from one cell to another.
 *
 * `grove1.` + base64url(JSON {v, id, x25519, routes, secret, expires_at, kind?}). It names the inviter
 * (so the joiner can check it reached the right cell), where to reach it, and a 256-bit secret
 * that only the inviter can redeem, once, before it expires. A token is a capability, not a
 * signed statement: a forged one either names a secret the inviter never issued (refused there)
 * or an id the reached cell cannot prove (refused by the joiner).
 */
import { z } from "zod";
import { badRequest } from "../core/errors.ts";
import type { CellId } from "../core/types.ts";

export const TOKEN_PREFIX = "grove1.";
const MAX_TOKEN_CHARS = 4096;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

const TokenSchema = z.object({
  v: z.literal(1),
  id: hex64,
  x25519: hex64,
  routes: z.array(z.string().min(1).max(512)).min(1).max(32),
  secret: hex64,
  expires_at: z.number().int().positive(),
  /** "mine": the joiner becomes one of the inviter's own cells (a build without it joins as a peer). */
  kind: z.literal("mine").optional(),
}); // fields a newer build adds are ignored (docs/protocol.md, "Unknown fields")

export interface InviteToken {
  v: 1;
  /** Inviter's cell id. */
  id: CellId;
  /** Inviter's X25519 public key (hex). */
  x25519: string;
  /** URLs where the inviter answers. */
  routes: string[];
  /** 256-bit secret, hex. */
  secret: string;
  /** Unix ms. */
  expires_at: number;
  /** "mine": the joining cell becomes one of my cells and receives the file keys; absent: a peer. */
  kind?: "mine";
}

export function encodeToken(t: InviteToken): string {
  return TOKEN_PREFIX + Buffer.from(JSON.stringify(t)).toString("base64url");
}

/** What each field of a token is, in the words of the message that says it is damaged. */
const FIELDS: Record<string, string> = {
  id: "the inviting cell's id",
  x25519: "the inviting cell's key",
  routes: "the list of the inviting cell's addresses",
  secret: "the invite's secret",
  expires_at: "the expiry time",
};
const COPY_AGAIN = "copy the whole token again (it starts with grove1.), or make a new one with `grove invite`";

/**
 * Parse a token; a malformed one gives a 400 with one plain sentence (what is wrong, what to
 * do), never the validation library's text. Expiry is checked by the caller.
 */
export function decodeToken(text: string): InviteToken {
  const s = text.trim();
  if (s.length > MAX_TOKEN_CHARS)
    throw badRequest(`this invite token is too long (${s.length} characters; an invite has a few hundred): ${COPY_AGAIN}`);
  if (!s.startsWith(TOKEN_PREFIX)) throw badRequest(`not a Grove invite token (it should start with "${TOKEN_PREFIX}")`);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(s.slice(TOKEN_PREFIX.length), "base64url").toString("utf8"));
  } catch {
    throw badRequest(`this invite token is damaged: it does not decode (cut short or changed while copied?); ${COPY_AGAIN}`);
  }
  const r = TokenSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = String(issue.path[0] ?? "");
    const v = (raw as { v?: unknown } | null)?.v;
    if (field === "v" && typeof v === "number") {
      throw badRequest(
        `this invite was made by another version of Grove (invite format ${v}, this cell reads format 1): update the older cell, or make the invite on a cell that runs this version`,
      );
    }
    const what = FIELDS[field];
    const missing = typeof raw === "object" && raw !== null && (raw as Record<string, unknown>)[field] === undefined;
    throw badRequest(
      `this invite token is damaged: ${what ? `${what} ${missing ? "is missing" : "is not valid"}` : "it is not an invite"}; ${COPY_AGAIN}`,
    );
  }
  return r.data as InviteToken;
}
