/**
 * @module web/sessions — dashboard sessions in placement.db. The cookie holds a random token;
 * the table holds only its SHA-256, plus the session's CSRF token and expiry.
 */
import { sha256Hex } from "../core/sha256.ts";
import type { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";

export const SESSION_COOKIE = "grove_session";
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

export interface Session {
  csrf: string;
  /** When the password (or first-run setup) opened this session, ms since the epoch. */
  created_at: number;
  expires_at: number;
}

const digest = (token: string) => sha256Hex(token);

export class SessionStore {
  constructor(private db: Database) {}

  create(): { token: string; csrf: string } {
    const token = randomBytes(32).toString("base64url");
    const csrf = randomBytes(24).toString("base64url");
    const now = Date.now();
    this.db.query("DELETE FROM sessions WHERE expires_at < ?").run(now);
    this.db
      .query("INSERT INTO sessions (token_hash, csrf, created_at, expires_at) VALUES (?, ?, ?, ?)")
      .run(digest(token), csrf, now, now + SESSION_TTL_MS);
    return { token, csrf };
  }

  get(token: string | undefined): Session | null {
    if (!token || token.length > 200) return null;
    const row = this.db
      .query("SELECT csrf, created_at, expires_at FROM sessions WHERE token_hash = ?")
      .get(digest(token)) as Session | null;
    if (!row || row.expires_at < Date.now()) return null;
    return row;
  }

  /** End every session (the password was reset); returns how many there were. */
  destroyAll(): number {
    return this.db.query("DELETE FROM sessions").run().changes;
  }

  destroy(token: string | undefined): void {
    if (token) this.db.query("DELETE FROM sessions WHERE token_hash = ?").run(digest(token));
  }
}
