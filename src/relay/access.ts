/**
 * @module relay/access — who may use a relay. A relay serves only the cells its operator allows:
 * `grove relay` by cell id (`--allow`, `--allow-file`) or by access token (`--token-file`; a cell
 * puts the token in its relay URL), a relay run by a cell (config `relay_port`) its fleet. The hub
 * asks an `AllowFn` at every login and again later (the lists change while it runs); `"anyone"`
 * (`grove relay --open`) admits every cell, under stricter limits.
 *
 * Files are read again when they change (checked at most every FILE_CHECK_MS), so an operator
 * adds or removes a cell without a restart; a line that is not valid is logged and skipped.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { log } from "../core/log.ts";
import { RELAY_TOKEN_PATTERN } from "../net/route-class.ts";

/**
 * Does the operator allow cell `id` on the relay? `proves(token)` tells whether its login proved
 * it holds that access token (relay/relay-protocol `accessProof`).
 */
export type AllowFn = (id: string, proves: (token: string) => boolean) => boolean;

/** Who may use a relay: an allow function, or anyone (an open relay). */
export type Access = AllowFn | "anyone";

const CELL_ID = /^[0-9a-f]{64}$/;
const FILE_CHECK_MS = 2000;

/** Cells allowed by id (in any of `idSets`), or by holding one of `tokens`; all asked each time (they may change). */
export function allowListed(idSets: readonly (() => ReadonlySet<string>)[], tokens: () => readonly string[]): AllowFn {
  return (id, proves) => idSets.some((ids) => ids().has(id)) || tokens().some(proves);
}

/** `list` as a set, made again only when `list` returns a new array (a watched file read again). */
export function setOf(list: () => readonly string[]): () => ReadonlySet<string> {
  let last: readonly string[] | null = null;
  let set: ReadonlySet<string> = new Set();
  return () => {
    const now = list();
    if (now !== last) (last = now), (set = new Set(now));
    return set;
  };
}

/** A cell id as written on the command line or in a file (any case), or null when it is not one. */
export function cellIdOf(text: string): string | null {
  const id = text.trim().toLowerCase();
  return CELL_ID.test(id) ? id : null;
}

/** An access token as written in a file, or null when it is not one. */
export function tokenOf(text: string): string | null {
  const t = text.trim();
  return RELAY_TOKEN_PATTERN.test(t) ? t : null;
}

/** A new access token: 32 random bytes, base64url (43 characters). */
export function newAccessToken(): string {
  return randomBytes(32).toString("base64url");
}

/** The meaningful lines of a list file: trimmed, without blank lines and `#` comments. */
function entries(text: string): { line: number; text: string }[] {
  return text.split("\n").flatMap((l, i) => {
    const t = l.replace(/#.*/, "").trim();
    return t ? [{ line: i + 1, text: t }] : [];
  });
}

/**
 * Read a list file of cell ids or tokens: the valid entries and the lines that are not valid.
 * Throws when the file cannot be read.
 */
export function readList(path: string, parse: (text: string) => string | null): { values: string[]; bad: number[] } {
  const values: string[] = [];
  const bad: number[] = [];
  for (const e of entries(readFileSync(path, "utf8"))) {
    const v = parse(e.text);
    if (v === null) bad.push(e.line);
    else values.push(v);
  }
  return { values, bad };
}

/**
 * The entries of a list file, read again when its modification time or size changes. `initial`
 * is what was read at start. A file that becomes unreadable keeps its last entries (logged).
 */
export function watchedList(
  path: string,
  parse: (text: string) => string | null,
  initial: readonly string[],
  what: string,
): () => readonly string[] {
  let values: readonly string[] = initial;
  let stamp = stampOf(path);
  let checked = performance.now();
  return () => {
    const now = performance.now();
    if (now - checked < FILE_CHECK_MS) return values;
    checked = now;
    const s = stampOf(path);
    if (s === stamp) return values;
    stamp = s;
    try {
      const r = readList(path, parse);
      if (r.bad.length) log("warn", `relay: ${path}: lines ${r.bad.join(", ")} are not ${what}; skipped`);
      values = r.values;
      log("info", `relay: ${path} read again`, { entries: values.length });
    } catch (e) {
      log("warn", `relay: cannot read ${path} again (the last ${values.length} entries stay): ${(e as Error).message}`);
    }
    return values;
  };
}

function stampOf(path: string): string {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return "missing";
  }
}
