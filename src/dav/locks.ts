/**
 * @module dav/locks — WebDAV write locks (RFC 4918 sections 6-7), kept in memory: exclusive and
 * shared, depth 0 or infinity, each with a token (`urn:uuid:…`) and a timeout. A restart forgets
 * them (clients take them again), and they bind WebDAV clients only: the local API and the watcher
 * do not look at them. Also the If header (section 10.4): parsed here, evaluated against the tree.
 *
 * A write to a path needs the token of every lock that covers it (a lock on the path itself, or a
 * depth-infinity lock on a folder above it); adding or removing a member also needs the tokens of
 * locks on its folder (a lock protects a collection's membership); deleting or moving a folder
 * needs the tokens of the locks inside it too. A token is submitted by naming it in the If header.
 */
import { randomUUID } from "node:crypto";
import { badRequest, GroveError } from "../core/errors.ts";
import { parentOf, within } from "./paths.ts";

export interface Lock {
  token: string;
  /** The locked path ("" = the root). */
  root: string;
  depth: 0 | "infinity";
  scope: "exclusive" | "shared";
  /** The client's DAV:owner, as XML. */
  owner: string;
  /** Seconds granted at the last LOCK or refresh. */
  timeoutS: number;
  /** Unix ms when it lapses. */
  expires: number;
}

/** Longest timeout granted, and the one given for `Infinite` or none: a client that vanished blocks writes at most this long. */
export const MAX_TIMEOUT_S = 3600;
/** Locks held at once; more are refused (503) rather than growing without bound. */
export const MAX_LOCKS = 10_000;

/**
 * The timeout a client asked for (`Timeout: Second-600` or `Infinite`, a list of choices), capped.
 *
 * @example timeoutOf("Infinite, Second-4100000000") // 3600
 */
export function timeoutOf(header: string | undefined): number {
  for (const part of (header ?? "").split(",")) {
    const m = /^\s*Second-(\d{1,12})\s*$/i.exec(part);
    if (m) return Math.max(1, Math.min(Number(m[1]), MAX_TIMEOUT_S));
  }
  return MAX_TIMEOUT_S;
}

export class LockManager {
  private readonly locks = new Map<string, Lock>();

  constructor(private readonly now: () => number = Date.now) {}

  private prune(): void {
    const t = this.now();
    for (const [k, l] of this.locks) if (l.expires <= t) this.locks.delete(k);
  }

  /** Every active lock (tests, discovery). */
  all(): Lock[] {
    this.prune();
    return [...this.locks.values()];
  }

  get(token: string): Lock | null {
    this.prune();
    return this.locks.get(token) ?? null;
  }

  /** Locks that cover `path`: on it, or depth infinity on a folder above it. */
  covering(path: string): Lock[] {
    return this.all().filter((l) => l.root === path || (l.depth === "infinity" && within(path, l.root)));
  }

  /** The locks a new lock on `path` of this depth and scope would conflict with. */
  conflicts(path: string, depth: 0 | "infinity", scope: "exclusive" | "shared"): Lock[] {
    const touched = this.all().filter(
      (l) => l.root === path || (l.depth === "infinity" && within(path, l.root)) || (depth === "infinity" && within(l.root, path)),
    );
    return touched.filter((l) => scope === "exclusive" || l.scope === "exclusive");
  }

  /** Take a lock; the caller checked conflicts. 503 past MAX_LOCKS. */
  create(path: string, depth: 0 | "infinity", scope: "exclusive" | "shared", owner: string, timeoutS: number): Lock {
    this.prune();
    if (this.locks.size >= MAX_LOCKS) throw new GroveError(`too many WebDAV locks (${MAX_LOCKS}); try again later`, 503, "busy");
    const lock: Lock = {
      token: `urn:uuid:${randomUUID()}`,
      root: path,
      depth,
      scope,
      owner,
      timeoutS,
      expires: this.now() + timeoutS * 1000,
    };
    this.locks.set(lock.token, lock);
    return lock;
  }

  refresh(lock: Lock, timeoutS: number): void {
    lock.timeoutS = timeoutS;
    lock.expires = this.now() + timeoutS * 1000;
  }

  release(token: string): boolean {
    return this.locks.delete(token);
  }

  /** Forget the locks on `path` and below (it was deleted or moved away). */
  dropTree(path: string): void {
    for (const [k, l] of this.locks) if (within(l.root, path)) this.locks.delete(k);
  }

  /**
   * The first lock whose token is missing for a write to `path`, or null when the write may go on.
   * `member`: the write adds or removes `path` from its folder. `deep`: it changes everything
   * below `path` too (DELETE or MOVE of a folder, a folder overwritten).
   */
  blocking(path: string, submitted: ReadonlySet<string>, opts: { member?: boolean; deep?: boolean } = {}): Lock | null {
    const parent = parentOf(path);
    for (const l of this.all()) {
      const hit =
        l.root === path ||
        (l.depth === "infinity" && within(path, l.root)) ||
        (opts.member === true && path !== "" && l.root === parent) ||
        (opts.deep === true && within(l.root, path));
      if (hit && !submitted.has(l.token)) return l;
    }
    return null;
  }
}

/** One condition of an If header list: a state token (`<…>`) or an entity tag (`[…]`), maybe negated. */
export interface IfCondition {
  not: boolean;
  token?: string;
  etag?: string;
}

/** One list of an If header, tagged with the resource it is about (null: the request's own). */
export interface IfList {
  resource: string | null;
  conditions: IfCondition[];
}

/**
 * Parse an If header (RFC 4918 section 10.4). 400 when malformed.
 *
 * @example parseIf('<http://h/dav/a> (<urn:uuid:1> ["x"]) (Not <DAV:no-lock>)')
 */
export function parseIf(header: string): IfList[] {
  const s = header;
  let i = 0;
  const bad = () => badRequest("malformed If header");
  const ws = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const until = (close: string) => {
    const j = s.indexOf(close, i);
    if (j < 0) throw bad();
    const v = s.slice(i, j);
    i = j + 1;
    return v;
  };
  const lists: IfList[] = [];
  let resource: string | null = null;
  ws();
  if (i >= s.length) throw bad();
  while (i < s.length) {
    if (s[i] === "<") {
      i++;
      resource = until(">");
    } else if (s[i] === "(") {
      i++;
      const conditions: IfCondition[] = [];
      for (;;) {
        ws();
        if (s[i] === ")") {
          i++;
          break;
        }
        let not = false;
        if (s.slice(i, i + 3).toLowerCase() === "not") {
          not = true;
          i += 3;
          ws();
        }
        if (s[i] === "<") {
          i++;
          conditions.push({ not, token: until(">") });
        } else if (s[i] === "[") {
          i++;
          conditions.push({ not, etag: until("]") });
        } else throw bad();
      }
      if (!conditions.length) throw bad();
      lists.push({ resource, conditions });
    } else throw bad();
    ws();
  }
  return lists;
}

/** The lock tokens an If header submits (named, not negated). */
export function submittedTokens(lists: readonly IfList[]): Set<string> {
  return new Set(lists.flatMap((l) => l.conditions.filter((c) => !c.not && c.token).map((c) => c.token!)));
}

/** An entity tag's opaque part, for comparing (`W/"x"` and `"x"` both give `x`). */
function opaque(etag: string): string {
  return etag
    .trim()
    .replace(/^W\//, "")
    .replace(/^"(.*)"$/, "$1");
}

/**
 * True when the If header holds: at least one list whose conditions are all true. A state token is
 * true when it is the token of a lock that covers the list's resource; an entity tag when it is
 * that resource's. `resolve` turns a tag into a tree path (null: not this tree, so false).
 */
export function ifHolds(
  lists: readonly IfList[],
  requestPath: string,
  resolve: (resource: string) => string | null,
  state: (path: string) => { etag: string | null; tokens: ReadonlySet<string> },
): boolean {
  return lists.some((l) => {
    const path = l.resource === null ? requestPath : resolve(l.resource);
    if (path === null) return false;
    const st = state(path);
    return l.conditions.every((c) => {
      const ok = c.token !== undefined ? st.tokens.has(c.token) : st.etag !== null && opaque(c.etag!) === opaque(st.etag);
      return c.not ? !ok : ok;
    });
  });
}
