/**
 * @module web/setup-code — the one-time code that first-run setup asks for.
 *
 * Until a dashboard password exists, `grove start` makes a random code, prints it and writes it to
 * GROVE_DIR/setup_code (mode 600): only someone who sees the cell's output or can read its
 * folder can claim the cell. Setting the password removes the file.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { writeFileAtomicSync } from "../core/atomic.ts";

/** Crockford's base32: no I, L, O or U, so a code read aloud or typed is not mistaken. */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A fresh code: 16 characters (80 bits) in four groups, e.g. 7KQ2-M9XD-PRA4-3STZ. */
export function newSetupCode(): string {
  const bytes = randomBytes(16);
  const chars = [...bytes].map((b) => ALPHABET[b & 31]!);
  return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join("")).join("-");
}

/** What a person typed, compared as the code's characters (case, spaces and dashes ignored; O→0, I/L→1). */
export function normalizeCode(s: string): string {
  return s.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
}

export class SetupCode {
  constructor(readonly path: string) {}

  /** The current code, made (and written, 600) when there is none. */
  ensure(): string {
    const cur = this.read();
    if (cur) return cur;
    const code = newSetupCode();
    writeFileAtomicSync(this.path, code + "\n", 0o600);
    return code;
  }

  private read(): string | null {
    if (!existsSync(this.path)) return null;
    const s = readFileSync(this.path, "utf8").trim();
    return s || null;
  }

  /** True when `sent` is the current code. */
  matches(sent: string): boolean {
    const cur = this.read();
    if (!cur || sent.length > 64) return false;
    const a = Buffer.from(normalizeCode(cur));
    const b = Buffer.from(normalizeCode(sent));
    return a.byteLength === b.byteLength && timingSafeEqual(a, b);
  }

  /** The code is used up (a password now exists). */
  clear(): void {
    rmSync(this.path, { force: true });
  }
}
