/**
 * @module test/fuzz/http-targets — fuzzing every peer API endpoint of a real cell over HTTP.
 *
 * The endpoints are read from the Hono app itself (as test/web/auth-audit does), so a route added
 * later is fuzzed without touching this file. Each (endpoint, flavour) pair is one target:
 *   garbage   no, partial, malformed, tampered, replayed or duplicated auth headers;
 *   peer      signed by the paired friend (passes auth, reaches the handler) with hostile bodies,
 *             paths and queries: random bytes, sealed blobs cut, flipped or oversized, JSON of the
 *             wrong shape, huge numbers, deep nesting, bad hashes, `../`, NUL, over-long strings,
 *             and valid objects (grants, passes, statements, questions…) with one to three fields
 *             made hostile, sealed to the cell as the route expects so they reach its schema;
 *   stranger  signed correctly by a cell the target does not know.
 * Every input is checked: an answer came (no hang), no 5xx, a refusal is a 4xx with JSON
 * {error}, and an unsigned or stranger's request is never accepted. After a target: the cell
 * still answers /api/status and its state (placement.db row counts, chunks/ manifests/ grants/
 * invites/) is what it was. Inputs an endpoint would rightly accept (a valid push, release,
 * message…) are filtered out by the route's own validator, so any change is a finding.
 */
import fc from "fast-check";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveLayout } from "../../src/core/layout.ts";
import { type CellId, type ManifestHash } from "../../src/core/types.ts";
import { openRuntime } from "../../src/runtime/runtime.ts";
import { bodyLimit } from "../../src/web/peer-api.ts";
import { AI_INFO, BOUNTY_INFO, CARD_INFO, FRIEND_INFO, JOIN_INFO, MSG_INFO, SHARE_INFO, SYNC_INFO } from "../../src/protocol/labels.ts";
import { sealTo } from "../../src/protocol/seal.ts";
import { makeGrant, makeRevocation, verifyGrant, verifyPass, verifyRevocation } from "../../src/protocol/grant.ts";
import { makeStatement, StatementMessage, verifyStatement } from "../../src/protocol/bounty-statement.ts";
import { parsePayload } from "../../src/protocol/message.ts";
import { parseNotice } from "../../src/protocol/friendship.ts";
import { AiQuestion } from "../../src/protocol/ai-chat.ts";
import * as W from "../../src/sync/wire.ts";
import type { z } from "zod";
import type { FuzzCell } from "./cell-target.ts";
import { FuzzIdentity } from "./identity.ts";
import { RawHttp, type RawRequest, type RawResult } from "./raw-http.ts";
import {
  type ByteMutation,
  byteMutation,
  concat,
  describe,
  hex32,
  hex64,
  hostileBytes,
  hostileJsonText,
  hostileString,
  HUGE_NUMBER_TEXTS,
  mutateBytes,
  mutatedBytes,
  mutatedJsonText,
  type J,
  TRAVERSALS,
} from "./gen.ts";

export type Flavour = "garbage" | "peer" | "stranger";
export const FLAVOURS: Flavour[] = ["garbage", "peer", "stranger"];

export interface Route {
  method: string;
  path: string;
}

/** Every /peer/* endpoint the cell registers, read from the app (middleware and the catch-all left out). */
export function peerRoutes(): Route[] {
  const scratch = mkdtempSync(join(tmpdir(), "grove-fuzz-routes-"));
  try {
    const layout = resolveLayout({ GROVE_DIR: join(scratch, "dir"), GROVE_HOME: join(scratch, "home") });
    const rt = openRuntime({
      layout,
      listen: { host: "127.0.0.1", port: 0, peerHost: "127.0.0.1", peerPort: 0 },
      tls: null,
      inProcess: true,
    });
    try {
      const app = rt.app;
      const seen = new Set<string>();
      const out: Route[] = [];
      for (const r of app.routes) {
        if (r.method === "ALL" || !r.path.startsWith("/peer/") || r.path.endsWith("*")) continue;
        const k = `${r.method} ${r.path}`;
        if (!seen.has(k)) seen.add(k), out.push({ method: r.method, path: r.path });
      }
      return out;
    } finally {
      rt.stop();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A generated request, as data (printable, replayable); `materialize` signs and seals it. */
export interface Spec {
  method: string;
  params: string[];
  paramMode: "enc" | "raw";
  query: string;
  body: BodySpec;
  auth: AuthSpec;
  extra: [string, string][];
  /** PUT chunks: name the chunk by its body's hash (a short body then passes the name check). */
  hashOfBody?: boolean;
}

export type BodySpec =
  | { k: "none" }
  | { k: "bytes"; bytes: Uint8Array }
  | { k: "text"; text: string }
  | { k: "sealed"; text: string; info: string; aad: "signer" | "cell" | "none" | "other"; to: "cell" | "other"; muts: ByteMutation[] }
  | { k: "oversize"; extra: number };

export type AuthSpec =
  | { k: "peer" }
  | { k: "stranger"; who: number }
  | { k: "none" }
  | { k: "partial"; keep: boolean[] }
  | { k: "malformed"; header: number; value: string }
  | {
      k: "tamper";
      what:
        | "body"
        | "path"
        | "method"
        | "stale"
        | "future"
        | "to-empty"
        | "to-other"
        | "claim-peer"
        | "sig-random"
        | "nonce-upper"
        | "time-pad";
    }
  | { k: "replay" }
  | { k: "dup" };

const AUTH_HEADERS = ["X-Grove-Cell", "X-Grove-Time", "X-Grove-Nonce", "X-Grove-Signature"] as const;
const HTTP_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];
const LABELS = [
  JOIN_INFO,
  CARD_INFO,
  SYNC_INFO,
  `${SYNC_INFO}/inventory`,
  `${SYNC_INFO}/list`,
  MSG_INFO,
  SHARE_INFO,
  BOUNTY_INFO,
  AI_INFO,
  "",
  "grove/v1/x",
];

/** What the fuzzer knows of one route: its sealed label, a valid body to mutate, and what it would rightly accept. */
interface RouteKnowledge {
  info: string | null;
  template: unknown | null;
  /** True for a body the endpoint should accept (not a malformed input: not sent). */
  accepts?: (value: unknown) => boolean;
  /** Route-specific binary bodies. */
  binary?: fc.Arbitrary<Uint8Array>;
  acceptsBytes?: (body: Uint8Array, spec: Spec) => boolean;
}

const ok = (f: () => unknown): boolean => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};
const field = (v: unknown, k: string): unknown => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined);

/** The shared context of an HTTP campaign: the target cell and what the fuzzer knows of it. */
export class HttpFuzz {
  readonly strangers: FuzzIdentity[];
  private knowledge = new Map<string, RouteKnowledge>();
  readonly plausible: fc.Arbitrary<J>;

  private constructor(readonly t: FuzzCell) {
    this.strangers = Array.from({ length: 8 }, (_, i) => new FuzzIdentity(`stranger-${i}`));
    const ids = [t.id, t.peer.id, t.heldHash, t.backupName, ...(t.grantId ? [t.grantId] : [])];
    this.plausible = fc.oneof(
      fc.constantFrom<J>(...ids, 1, 0, Date.now(), "index", "manifest", "grant", "fetch-pass", "revocation", "bounty-statement", "user"),
      hex64(),
      hex32(),
      fc.array(fc.constantFrom<J>(...ids), { maxLength: 3 }),
      fc.array(fc.nat({ max: 300 }), { maxLength: 4 }),
    );
  }

  static async create(t: FuzzCell): Promise<HttpFuzz> {
    const f = new HttpFuzz(t);
    await f.learn();
    return f;
  }

  /** Valid bodies for the routes this fuzzer knows (others get generic hostile bodies). */
  private async learn(): Promise<void> {
    const t = this.t;
    const p = t.peer;
    const secret = p.identity.ed25519Secret;
    const now = Date.now();
    const { grant, pass } = await makeGrant({
      creatorSecret: secret,
      creator: p.id,
      recipient: t.id as CellId,
      recipientX25519: t.x25519,
      manifestHash: randomBytes(32).toString("hex") as ManifestHash,
      fileKey: new Uint8Array(randomBytes(32)),
      chunks: [t.heldHash],
      filename: "a.txt",
      fileType: "text/plain",
      totalSize: 4096,
      expiresAt: null,
    });
    const statement = makeStatement(secret, p.id, t.id as CellId, now, {
      given_bytes: 1,
      received_bytes: 2,
      given_byte_hours: 3,
      received_byte_hours: 4,
    });
    const k = (path: string, v: RouteKnowledge) => this.knowledge.set(path, v);
    const selfSigned = { signer: p.id, self: t.id as CellId };
    k("/peer/join", {
      info: JOIN_INFO,
      template: { secret: randomBytes(32).toString("hex"), card: p.card },
      accepts: (v) => field(v, "secret") === t.inviteSecret,
    });
    k("/peer/msg", {
      info: MSG_INFO,
      template: { v: 1, id: randomBytes(16).toString("hex"), text: "hello", sent_at: now },
      accepts: (v) => ok(() => parsePayload(v)),
    });
    k("/peer/friend", { info: FRIEND_INFO, template: { v: 1, kind: "request" }, accepts: (v) => ok(() => parseNotice(v)) });
    k("/peer/bounty/statement", {
      info: BOUNTY_INFO,
      template: { statement },
      accepts: (v) => StatementMessage.safeParse(v).success && ok(() => verifyStatement(field(v, "statement"), selfSigned)),
    });
    k("/peer/share/grant", {
      info: SHARE_INFO,
      template: { grant, pass, manifest: {} },
      accepts: (v) => ok(() => (verifyGrant(field(v, "grant")), verifyPass(field(v, "pass")))),
    });
    k("/peer/ai/chat", {
      info: AI_INFO,
      template: { v: 1, model: null, history: [{ role: "user", text: "hi" }], question: "why?", max_tokens: 16, temperature: 0.5 },
      accepts: (v) => AiQuestion.safeParse(v).success,
    });
    k("/peer/share/revoke", {
      info: null,
      template: makeRevocation(secret, p.id, randomBytes(32).toString("hex")),
      accepts: (v) => ok(() => verifyRevocation(v)),
    });
    k("/peer/share/chunk", {
      info: null,
      template: { pass, chunks: [t.heldHash], hash: t.heldHash },
      accepts: (v) => ok(() => verifyPass(field(v, "pass"))),
    });
    k("/peer/bench", {
      info: null,
      template: { bytes: 1024 },
      accepts: (v) => {
        const b = field(v, "bytes");
        return (typeof b === "number" || typeof b === "string") && Number.isInteger(Number(b)) && Number(b) >= 1 && Number(b) <= 1 << 20;
      },
    });
    k("/peer/ping", { info: null, template: {} });
    const batch = W.encodeBackupBatch([
      { kind: "manifest", name: randomBytes(32).toString("hex"), blob: new Uint8Array(randomBytes(64)) },
      { kind: "index", name: "0".repeat(64), blob: new Uint8Array([1]) },
    ]);
    k("/peer/sync/backups", {
      info: null,
      template: null,
      binary: fc.oneof(mutatedBytes(batch), hostileBytes()),
      acceptsBytes: (b) => ok(() => W.decodeBackupBatch(b)),
    });
    k("/peer/sync/chunks/:hash", {
      info: null,
      template: null,
      binary: hostileBytes(),
      acceptsBytes: (b, s) => b.byteLength >= 16 && createHash("sha256").update(b).digest("hex") === s.params[0],
    });
    // Sealed sync routes (any added later too): their label and schema come from sync/wire.
    const templates: Record<string, unknown> = {
      inventory: { chunks: randomBytes(32).toString("hex"), backups: randomBytes(32).toString("hex"), card: p.card },
      list: { chunks: [0, 17], backups: [255] },
      audit: { challenges: [{ hash: t.heldHash, nonce: randomBytes(16).toString("hex") }] },
      release: { chunks: [t.heldHash] },
    };
    this.syncTemplates = templates;
  }

  private syncTemplates: Record<string, unknown> = {};

  /** What is known of `route` (a sealed /peer/sync/NAME route is understood from sync/wire). */
  about(route: Route): RouteKnowledge {
    const known = this.knowledge.get(route.path);
    if (known) return known;
    const m = /^\/peer\/sync\/([a-z]+)$/.exec(route.path);
    if (m && route.method === "POST") {
      const name = m[1]!;
      const cap = name[0]!.toUpperCase() + name.slice(1);
      const wire = W as unknown as Record<string, unknown>;
      const schema = (wire[`${cap}Request`] ?? wire[`${cap}Body`]) as z.ZodObject | undefined;
      const shape =
        schema && typeof schema === "object" && "shape" in schema
          ? Object.fromEntries(Object.keys(schema.shape).map((k) => [k, null]))
          : {};
      return {
        info: W.info(name),
        template: this.syncTemplates[name] ?? shape,
        accepts: schema ? (v) => schema.safeParse(v).success : undefined,
      };
    }
    return { info: null, template: null };
  }

  /** Hostile values for a path parameter, by its name. */
  private param(name: string): fc.Arbitrary<string> {
    const t = this.t;
    const valid: Record<string, string[]> = {
      hash: [t.heldHash],
      name: ["index", t.backupName],
      job: [randomBytes(16).toString("hex")],
      target: ["linux-x64", "darwin-arm64"],
    };
    return fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(...(valid[name] ?? [t.peer.id])) },
      { weight: 2, arbitrary: fc.oneof(hex64(), hex32()) },
      { weight: 5, arbitrary: hostileString(5000) },
    );
  }

  private query(): fc.Arbitrary<string> {
    const kv = fc
      .tuple(
        fc.oneof(fc.constantFrom("wait", "after", "offset", "length", "build", "a", "__proto__", "", "%00", "a[b]"), hostileString(300)),
        fc.oneof(fc.constantFrom(...HUGE_NUMBER_TEXTS, "-1", "0", "99999999", "1e3", "", "%00", "..%2F"), hostileString(3000)),
        fc.boolean(),
      )
      .map(([k, v, raw]) => (raw ? `${k}=${v}` : `${enc(k)}=${enc(v)}`));
    return fc.oneof(
      { weight: 3, arbitrary: fc.constant("") },
      { weight: 2, arbitrary: fc.array(kv, { minLength: 1, maxLength: 4 }).map((a) => `?${a.join("&")}`) },
      { weight: 1, arbitrary: fc.constantFrom("?", "??", "?&&", "?#x", "?a=1#frag", `?${"a=1&".repeat(2000)}`) },
    );
  }

  private body(route: Route, flavour: Flavour): fc.Arbitrary<BodySpec> {
    const know = this.about(route);
    const text = hostileJsonText(this.plausible);
    const sealedTo = (t: fc.Arbitrary<string>, info: fc.Arbitrary<string>, strict: boolean): fc.Arbitrary<BodySpec> =>
      fc.record({
        k: fc.constant("sealed" as const),
        text: t,
        info,
        aad: strict
          ? fc.constant("signer" as const)
          : fc.constantFrom("signer" as const, "cell" as const, "none" as const, "other" as const),
        to: strict ? fc.constant("cell" as const) : fc.constantFrom("cell" as const, "cell" as const, "other" as const),
        muts: strict ? fc.constant<ByteMutation[]>([]) : fc.array(byteMutation(), { maxLength: 2 }),
      });
    const deep = flavour === "peer" || route.path === "/peer/join";
    // The server drops a GET's body (the signature then covers none): a signed GET carries none.
    if (flavour !== "garbage" && (route.method === "GET" || route.method === "HEAD")) return fc.constant({ k: "none" as const });
    const choices: { weight: number; arbitrary: fc.Arbitrary<BodySpec> }[] = [
      { weight: 2, arbitrary: fc.constant({ k: "none" as const }) },
      { weight: 3, arbitrary: hostileBytes().map((bytes) => ({ k: "bytes" as const, bytes })) },
      { weight: 3, arbitrary: text.map((t) => ({ k: "text" as const, text: t })) },
      { weight: 1, arbitrary: fc.constantFrom(1, 4096, 70_000).map((extra) => ({ k: "oversize" as const, extra })) },
    ];
    if (deep) choices.push({ weight: 2, arbitrary: sealedTo(text, fc.constantFrom(...(know.info ? [know.info] : []), ...LABELS), false) });
    if (deep && know.info) {
      choices.push({ weight: 4, arbitrary: sealedTo(text, fc.constant(know.info), true) });
      if (know.template !== null)
        choices.push({ weight: 10, arbitrary: sealedTo(mutatedJsonText(know.template, this.plausible), fc.constant(know.info), true) });
      if (know.template !== null)
        choices.push({ weight: 2, arbitrary: sealedTo(fc.constant(JSON.stringify(know.template)), fc.constant(know.info), false) });
    }
    if (deep && !know.info && know.template !== null)
      choices.push({ weight: 10, arbitrary: mutatedJsonText(know.template, this.plausible).map((t) => ({ k: "text" as const, text: t })) });
    if (deep && know.binary) choices.push({ weight: 10, arbitrary: know.binary.map((bytes) => ({ k: "bytes" as const, bytes })) });
    return fc.oneof(...choices);
  }

  private auth(flavour: Flavour): fc.Arbitrary<AuthSpec> {
    if (flavour === "peer") return fc.constant({ k: "peer" as const });
    if (flavour === "stranger") return fc.nat({ max: this.strangers.length - 1 }).map((who) => ({ k: "stranger" as const, who }));
    return fc.oneof(
      fc.constant({ k: "none" as const }),
      fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }).map((keep) => ({ k: "partial" as const, keep })),
      fc.record({
        k: fc.constant("malformed" as const),
        header: fc.nat({ max: 3 }),
        value: fc.oneof(hostileString(9000), hex64(), hex128Up(), fc.constantFrom("0", "-1", "1e3", " 1", "99999999999999999")),
      }),
      fc.record({
        k: fc.constant("tamper" as const),
        what: fc.constantFrom(
          "body",
          "path",
          "method",
          "stale",
          "future",
          "to-empty",
          "to-other",
          "claim-peer",
          "sig-random",
          "nonce-upper",
          "time-pad",
        ),
      }),
      fc.constant({ k: "replay" as const }),
      fc.constant({ k: "dup" as const }),
    );
  }

  private extraHeaders(): fc.Arbitrary<[string, string][]> {
    const h = fc.oneof(
      fc.constantFrom<[string, string]>(
        ["Content-Type", "application/json"],
        ["Content-Type", "text/plain; charset=utf-16"],
        ["Content-Type", "multipart/form-data; boundary=x"],
        ["Authorization", "Bearer 0000"],
        ["Cookie", "grove_session=x"],
        ["X-Forwarded-For", "10.0.0.1"],
        ["X-Grove-Response-Signature", "00"],
        ["Accept-Encoding", "gzip, br"],
        ["Origin", "http://evil.example"],
        ["Range", "bytes=0-1"],
        ["Expect", "100-continue"],
      ),
      fc
        .tuple(fc.constantFrom("Content-Type", "X-Grove-Extra", "Accept", "If-None-Match"), hostileString(9000))
        .map(([k, v]) => [k, v] as [string, string]),
    );
    return fc.oneof(
      { weight: 4, arbitrary: fc.constant<[string, string][]>([]) },
      { weight: 1, arbitrary: fc.array(h, { minLength: 1, maxLength: 3 }) },
    );
  }

  /** The generator of one target. */
  specs(route: Route, flavour: Flavour): fc.Arbitrary<Spec> {
    const params = (route.path.match(/:[a-zA-Z]+/g) ?? []).map((p) => p.slice(1));
    const know = this.about(route);
    return fc
      .record({
        method: fc.oneof(
          { weight: 12, arbitrary: fc.constant(route.method) },
          { weight: 1, arbitrary: fc.constantFrom(...HTTP_METHODS, "FOO", "get") },
        ),
        params: fc.tuple(...params.map((p) => this.param(p))),
        paramMode: fc.constantFrom("enc" as const, "enc" as const, "raw" as const),
        query: this.query(),
        body: this.body(route, flavour),
        auth: this.auth(flavour),
        extra: this.extraHeaders(),
        hashOfBody: route.path.includes(":hash") ? fc.boolean() : fc.constant(false),
      })
      .filter((s) => !this.wouldAccept(route, know, s));
  }

  /** True when the spec is a valid request the endpoint should accept (not malformed: skipped). */
  private wouldAccept(route: Route, know: RouteKnowledge, s: Spec): boolean {
    if (s.method !== route.method) return false;
    const b = s.body;
    if (b.k === "bytes" && know.acceptsBytes) return know.acceptsBytes(b.bytes, s);
    if (b.k === "none" && know.acceptsBytes) return know.acceptsBytes(new Uint8Array(0), s);
    if (!know.accepts) return false;
    let text: string | null = null;
    if (b.k === "text" && !know.info) text = b.text;
    if (b.k === "sealed" && know.info && b.info === know.info && b.aad === "signer" && b.to === "cell" && b.muts.length === 0)
      text = b.text;
    if (text === null) return false;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return false;
    }
    return ok(() => {
      if (!know.accepts!(v)) throw new Error("refused");
    });
  }

  /** Sign, seal and frame a spec as the raw request to send (plus a replay of it, for that case). */
  async materialize(route: Route, s: Spec): Promise<Prepared> {
    const t = this.t;
    let body: Uint8Array | null = await this.bodyBytes(route, s);
    let i = 0;
    let path = route.path.replace(/:[a-zA-Z]+/g, () => {
      const v = s.params[i++] ?? "";
      return s.paramMode === "enc" ? enc(v) : v;
    });
    if (s.hashOfBody && (body?.byteLength ?? 0) < 16)
      path = path.replace(
        /[^/]*$/,
        createHash("sha256")
          .update(body ?? new Uint8Array(0))
          .digest("hex"),
      );
    const target = path + s.query;
    // Control bytes, spaces or a request head over Bun's limit: refused by its HTTP parser before the cell's code runs.
    const headBytes = target.length * 3 + s.extra.reduce((n, [k, v]) => n + k.length + v.length * 3, 0);
    const httpInvalid =
      !HTTP_METHODS.includes(s.method) ||
      /[\x00-\x20\x7f]/.test(target) ||
      s.extra.some(([, v]) => /[\x00-\x08\x0a-\x1f\x7f]/.test(v)) ||
      headBytes > 8000;
    // What the cell will verify: the target as its URL parser reads it.
    const signTarget = normalize(target);
    const headers: [string, string][] = [...s.extra.map(([k, v]) => [k, v.replace(/[\r\n]/g, "")] as [string, string])];
    const a = s.auth;
    let replay = false;
    const method = s.method;
    const signAs = (
      who: FuzzIdentity,
      o: { now?: number; nonce?: string; as?: string; to?: string; m?: string; target?: string; body?: Uint8Array | null } = {},
    ) =>
      Object.entries(who.signRequest(o.m ?? method, o.target ?? signTarget, o.body === undefined ? body : o.body, o.to ?? t.id, o)) as [
        string,
        string,
      ][];
    if (a.k === "peer") headers.push(...signAs(t.peer));
    else if (a.k === "stranger") headers.push(...signAs(this.strangers[a.who]!));
    else if (a.k === "partial") headers.push(...signAs(t.peer).filter((_, j) => a.keep[j]));
    else if (a.k === "malformed")
      headers.push(...signAs(t.peer).map(([k, v], j) => [k, j === a.header ? a.value.replace(/[\r\n]/g, "") : v] as [string, string]));
    else if (a.k === "replay") (replay = true), headers.push(...signAs(t.peer));
    else if (a.k === "dup") headers.push(...signAs(t.peer), ["X-Grove-Cell", this.strangers[0]!.id]);
    else if (a.k === "tamper") {
      const w = a.what;
      if (w === "body" && method !== "GET" && method !== "HEAD")
        headers.push(...signAs(t.peer)), (body = concat(body ?? new Uint8Array(0), new Uint8Array([0x20])));
      else if (w === "path" || w === "body")
        headers.push(...signAs(t.peer, { target: signTarget + (signTarget.includes("?") ? "&x=1" : "?x=1") }));
      else if (w === "method") headers.push(...signAs(t.peer, { m: method === "GET" ? "POST" : "GET" }));
      else if (w === "stale") headers.push(...signAs(t.peer, { now: Date.now() - 6 * 60_000 }));
      else if (w === "future") headers.push(...signAs(t.peer, { now: Date.now() + 6 * 60_000 }));
      else if (w === "to-empty") headers.push(...signAs(t.peer, { to: "" }));
      else if (w === "to-other") headers.push(...signAs(t.peer, { to: this.strangers[1]!.id }));
      else if (w === "claim-peer") headers.push(...signAs(this.strangers[2]!, { as: t.peer.id }));
      else if (w === "sig-random")
        headers.push(
          ...signAs(t.peer).map(([k, v]) => [k, k === "X-Grove-Signature" ? randomBytes(64).toString("hex") : v] as [string, string]),
        );
      else if (w === "nonce-upper")
        headers.push(
          ...signAs(t.peer).map(([k, v]) => [k, k === "X-Grove-Nonce" ? v.toUpperCase().replace(/^[0-9]/, "A") : v] as [string, string]),
        );
      else if (w === "time-pad")
        headers.push(...signAs(t.peer).map(([k, v]) => [k, k === "X-Grove-Time" ? `0${v}` : v] as [string, string]));
    }
    // A header value with control bytes (a malformed auth header too) is refused by the HTTP layer.
    const httpBad = httpInvalid || headers.some(([, v]) => /[\x00-\x08\x0a-\x1f\x7f]/.test(v));
    const req: RawRequest = { method, target, headers, body };
    // A route's own validator accepts this body (a valid push or batch): not a malformed input.
    const know = this.about(route);
    const skip = s.method === route.method && know.acceptsBytes !== undefined && know.acceptsBytes(body ?? new Uint8Array(0), s);
    const fullySigned = a.k === "peer" || (a.k === "partial" && a.keep.every(Boolean));
    // A target that leaves /peer/ once parsed (`..`) reaches another surface (audited elsewhere).
    // GET /peer/hello answers anyone (the cell's id and X25519 key, for a join with the words).
    const peerSurface = signTarget.startsWith("/peer/") && !(route.method === "GET" && signTarget.split("?")[0] === "/peer/hello");
    return { req, httpInvalid: httpBad, expectRefusal: !fullySigned && peerSurface, replay, skip, peerSurface };
  }

  private async bodyBytes(route: Route, s: Spec): Promise<Uint8Array | null> {
    const b = s.body;
    const t = this.t;
    if (b.k === "none") return null;
    if (b.k === "bytes") return b.bytes;
    if (b.k === "text") return new TextEncoder().encode(b.text);
    if (b.k === "oversize") return new Uint8Array(bodyLimit(normalize(route.path.replace(/:[a-zA-Z]+/g, "a"))) + b.extra).fill(0x7b);
    const signer = s.auth.k === "stranger" ? this.strangers[s.auth.who]!.id : t.peer.id;
    const aad = b.aad === "signer" ? signer : b.aad === "cell" ? t.id : b.aad === "other" ? this.strangers[3]!.id : undefined;
    const to = b.to === "cell" ? t.x25519 : this.strangers[4]!.identity.x25519Public;
    const sealed = await sealTo(to, new TextEncoder().encode(b.text), b.info, aad);
    if (!b.muts.length) return sealed;
    const out = mutateBytes(sealed, b.muts);
    // A mutation that changed nothing (a byte set to its own value, a cut of 0) would send a valid
    // body the fuzzer did not mean to: one more flipped bit makes it the altered body it is meant to be.
    if (out.byteLength === sealed.byteLength && out.every((x, i) => x === sealed[i])) out[out.byteLength - 1]! ^= 1;
    return out;
  }
}

export interface Prepared {
  req: RawRequest;
  /** Not valid HTTP (a method or bytes the server's HTTP layer refuses before the app sees it). */
  httpInvalid: boolean;
  /** Unsigned, tampered or a stranger's: must be refused. */
  expectRefusal: boolean;
  /** Send it twice: the second must be refused as a replay. */
  replay: boolean;
  /** A valid request after all (the route's validator accepts it): not sent. */
  skip: boolean;
  /** The target, once parsed, is under /peer/ (else it reaches another surface). */
  peerSurface: boolean;
}

const hex128Up = () => fc.string({ unit: fc.constantFrom(..."0123456789ABCDEF"), minLength: 128, maxLength: 128 });

/** Percent-encode every byte but the unreserved ones (lone surrogates too, unlike encodeURIComponent). */
export function enc(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8"))
    out += /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}

/** The request target as the server's URL parser will see it (path + query). */
export function normalize(target: string): string {
  try {
    const u = new URL(target, "http://h");
    return u.pathname + u.search;
  } catch {
    return target;
  }
}

export interface Finding {
  target: string;
  kind:
    | "5xx"
    | "hang"
    | "dropped"
    | "accepted"
    | "non-json-refusal"
    | "replay-accepted"
    | "crash"
    | "state-change"
    | "http-layer-5xx"
    | "throw";
  detail: string;
  input: string;
}

export interface TargetResult {
  target: string;
  inputs: number;
  statuses: Record<string, number>;
  crashes: number;
  fivexx: number;
  stateChanges: number;
  findings: Finding[];
  ms: number;
}

/** Bun's limit on a request's line and headers (bytes). */
const HTTP_HEADER_LIMIT = 16 * 1024;

/** The size of a request's line and headers as sent. */
function headBytes(req: RawRequest): number {
  return req.headers.reduce(
    (n, [k, v]) => n + Buffer.byteLength(`${k}: ${v}\r\n`),
    Buffer.byteLength(`${req.method} ${req.target} HTTP/1.1\r\n`),
  );
}

/** Judge one answer. */
export function judge(target: string, p: Prepared, r: RawResult, inputDesc: () => string, second = false): Finding | null {
  const f = (kind: Finding["kind"], detail: string): Finding => ({ target, kind, detail, input: inputDesc() });
  if (!r.ok) {
    if (r.error === "timeout") return f("hang", `no answer in ${Math.round(r.ms)} ms`);
    if (p.httpInvalid) return null; // the HTTP layer closed on a request that is not HTTP
    // Headers over the HTTP layer's limit: it answers 431 and closes while the client may still
    // be sending, and that close can reset the connection before the 431 is read.
    if (headBytes(p.req) > HTTP_HEADER_LIMIT) return null;
    return f("dropped", `connection ${r.error} without an answer`);
  }
  // The HTTP layer (Bun's parser: a request line or header it cannot read, headers too large)
  // answers before the cell's code runs, without a content type: counted, not judged as the cell.
  const fromApp = r.headers["content-type"] !== undefined || r.status < 400;
  if (!fromApp)
    return r.status >= 500
      ? f("http-layer-5xx", `${r.status} from the HTTP layer before the cell's code (not valid HTTP: ${p.httpInvalid})`)
      : null;
  if (r.status >= 500) return f("5xx", `${r.status} ${text(r.body)}`);
  if (second && r.status < 400 && p.peerSurface) return f("replay-accepted", `a replayed request was answered ${r.status}`);
  if (p.expectRefusal && !second && r.status < 400 && !p.replay) return f("accepted", `answered ${r.status} ${text(r.body)}`);
  if (r.status >= 400 && p.req.method !== "HEAD") {
    let e: unknown;
    try {
      e = (JSON.parse(new TextDecoder().decode(r.body)) as { error?: unknown }).error;
    } catch {}
    if (typeof e !== "string" || !e) return f("non-json-refusal", `${r.status} ${text(r.body)}`);
  }
  return null;
}

/** A stable number for a name (each target draws its own inputs from the campaign seed). */
export function hashOf(s: string): number {
  return createHash("sha256").update(s).digest().readInt32BE(0);
}

function text(b: Uint8Array): string {
  const s = JSON.stringify(new TextDecoder().decode(b.subarray(0, 200)));
  return b.byteLength > 200 ? `${s}…(${b.byteLength} bytes)` : s;
}

export function describeSpec(route: Route, s: Spec): string {
  return describe(
    { route: `${route.method} ${route.path}`, ...s, body: s.body.k === "sealed" ? { ...s.body, text: s.body.text.slice(0, 200) } : s.body },
    600,
  );
}

/** Send `count` generated inputs (after `seeds`) at one target over `conns`; returns per-input findings and status counts. */
export async function runHttpTarget(
  fz: HttpFuzz,
  route: Route,
  flavour: Flavour,
  count: number,
  opts: { seed: number; conns: RawHttp[]; seeds?: Spec[]; onProgress?: (done: number) => void },
): Promise<Omit<TargetResult, "crashes" | "stateChanges">> {
  const name = `${route.method} ${route.path} [${flavour}]`;
  const arb = fz.specs(route, flavour);
  const statuses: Record<string, number> = {};
  const findings: Finding[] = [];
  const t0 = performance.now();
  const queue: Spec[] = [...(opts.seeds ?? [])];
  let generated = 0;
  let batch = 0;
  const total = queue.length + count;
  let done = 0;
  const next = (): Spec | null => {
    if (!queue.length && generated < count) {
      const n = Math.min(256, count - generated);
      try {
        queue.push(...fc.sample(arb, { numRuns: n, seed: (opts.seed * 7919 + hashOf(name) + batch++) | 0 }));
      } catch (e) {
        findings.push({
          target: name,
          kind: "throw",
          detail: `the fuzzer's generator failed: ${(e as Error).message}`,
          input: `(batch ${batch - 1})`,
        });
      }
      generated += n;
    }
    return queue.shift() ?? null;
  };
  const worker = async (conn: RawHttp) => {
    for (let s = next(); s; s = next()) {
      const spec = s;
      let p: Prepared;
      try {
        p = await fz.materialize(route, spec);
      } catch (e) {
        findings.push({
          target: name,
          kind: "throw",
          detail: `the fuzzer could not build this input: ${(e as Error).message}`,
          input: describeSpec(route, spec),
        });
        continue;
      }
      if (p.skip) {
        statuses.skipped = (statuses.skipped ?? 0) + 1;
        continue;
      }
      const r = await conn.request(p.req, 10_000);
      const key = r.ok ? (r.headers["content-type"] === undefined ? `${r.status}/http` : String(r.status)) : r.error;
      statuses[key] = (statuses[key] ?? 0) + 1;
      const bad = judge(name, p, r, () => describeSpec(route, spec));
      if (bad) findings.push(bad);
      if (p.replay) {
        const r2 = await conn.request(p.req, 10_000);
        const bad2 = judge(name, p, r2, () => `(replayed) ${describeSpec(route, spec)}`, true);
        if (bad2) findings.push(bad2);
      }
      if (++done % 1000 === 0) opts.onProgress?.(done);
    }
  };
  await Promise.all(opts.conns.map(worker));
  return {
    target: name,
    inputs: total,
    statuses,
    fivexx: findings.filter((f) => f.kind === "5xx").length,
    findings,
    ms: performance.now() - t0,
  };
}
