/**
 * @module fleet/invite-store — invites this cell has issued, one file each in GROVE_DIR/invites/.
 *
 * A file is named by SHA-256 of the secret (the secret itself is never stored), holds the
 * expiry, and is redeemed by an atomic rename to `.redeemed.json`: of two concurrent joins with
 * one token, exactly one wins. Expired invites are refused and swept.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { sha256Hex } from "../core/sha256.ts";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { GroveError } from "../core/errors.ts";

export interface IssuedInvite {
  secret: string;
  expires_at: number;
}

/** What an invite makes of the cell that redeems it: a peer, or one of mine (the owner's own cell). */
export type InviteKind = "peer" | "mine";

interface InviteRecord {
  kind?: InviteKind;
  created_at: number;
  expires_at: number;
  redeemed_at?: number;
  redeemed_by?: string;
}

const digest = (secret: string) => sha256Hex(secret);

/** Refusals carry status 401 (the caller presents a bad credential) and a reason. */
export const inviteRefused = (msg: string) => new GroveError(msg, 401, "invite");

export class InviteStore {
  constructor(
    private dir: string,
    private now: () => number = Date.now,
  ) {}

  /** Issue a new single-use invite valid for `ttlMs`. */
  issue(ttlMs: number, kind: InviteKind = "peer"): IssuedInvite {
    this.sweep();
    const secret = randomBytes(32).toString("hex");
    const created_at = this.now();
    const rec: InviteRecord = { ...(kind === "mine" ? { kind } : {}), created_at, expires_at: created_at + ttlMs };
    writeFileAtomicSync(join(this.dir, `${digest(secret)}.json`), JSON.stringify(rec) + "\n", 0o600);
    return { secret, expires_at: rec.expires_at };
  }

  /** Redeem `secret` for cell `by`: what it was issued as; throws a 401 GroveError when unknown, used or expired. Single use. */
  redeem(secret: string, by: string): InviteKind {
    if (!/^[0-9a-f]{64}$/.test(secret)) throw inviteRefused("invite secret is malformed");
    const h = digest(secret);
    const open = join(this.dir, `${h}.json`);
    const done = join(this.dir, `${h}.redeemed.json`);
    if (!existsSync(open))
      throw inviteRefused(existsSync(done) ? "this invite was already used" : "unknown invite (never issued here, or revoked)");
    let rec: InviteRecord;
    try {
      rec = JSON.parse(readFileSync(open, "utf8")) as InviteRecord;
    } catch {
      throw inviteRefused("unknown invite");
    }
    if (rec.expires_at <= this.now()) {
      rmSync(open, { force: true });
      throw inviteRefused("this invite has expired");
    }
    try {
      renameSync(open, done); // atomic: only one redeemer succeeds
    } catch {
      throw inviteRefused("this invite was already used");
    }
    writeFileAtomicSync(done, JSON.stringify({ ...rec, redeemed_at: this.now(), redeemed_by: by }) + "\n", 0o600);
    return rec.kind === "mine" ? "mine" : "peer";
  }

  /** How many invites can still be redeemed (expired ones are swept first). */
  live(): number {
    this.sweep();
    try {
      return readdirSync(this.dir).filter((f) => /^[0-9a-f]{64}\.json$/.test(f)).length;
    } catch {
      return 0;
    }
  }

  /** Remove expired unredeemed invites (redeemed ones stay as a record). */
  sweep(): number {
    let n = 0;
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch {
      return 0;
    }
    for (const f of names) {
      if (!/^[0-9a-f]{64}\.json$/.test(f)) continue;
      try {
        const rec = JSON.parse(readFileSync(join(this.dir, f), "utf8")) as InviteRecord;
        if (rec.expires_at <= this.now()) {
          rmSync(join(this.dir, f), { force: true });
          n++;
        }
      } catch {
        // unreadable: leave it for a human
      }
    }
    return n;
  }
}
