/**
 * @module web/password — the dashboard password: PBKDF2-SHA256 (600,000 iterations) into
 * GROVE_DIR/dashboard_auth as `pbkdf2-sha256$iterations$salt$hash` (base64).
 */
import { existsSync, readFileSync } from "node:fs";
import { timingSafeEqual } from "node:crypto";
import { writeFileAtomicSync } from "../core/atomic.ts";

export const PBKDF2_ITERATIONS = 600_000;
export const MIN_PASSWORD_LENGTH = 8;

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(salt), iterations }, key, 256);
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, iterations);
  return `pbkdf2-sha256$${iterations}$${Buffer.from(salt).toString("base64")}$${Buffer.from(hash).toString("base64")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iter, saltB64, hashB64] = stored.trim().split("$");
  if (scheme !== "pbkdf2-sha256" || !iter || !saltB64 || !hashB64) return false;
  const iterations = Number(iter);
  if (!Number.isInteger(iterations) || iterations < 1) return false;
  const want = Buffer.from(hashB64, "base64");
  const got = await derive(password, Buffer.from(saltB64, "base64"), iterations);
  return want.byteLength === got.byteLength && timingSafeEqual(want, got);
}

/** The dashboard_auth file: whether a password is set, and reading/writing it. */
export class PasswordFile {
  constructor(private path: string) {}
  isSet(): boolean {
    return existsSync(this.path);
  }
  async set(password: string): Promise<void> {
    writeFileAtomicSync(this.path, (await hashPassword(password)) + "\n", 0o600);
  }
  async check(password: string): Promise<boolean> {
    if (!this.isSet()) return false;
    return verifyPassword(password, readFileSync(this.path, "utf8"));
  }
}
