/**
 * @module test/fuzz/gen — fast-check generators of hostile input shared by every fuzz target
 * (peer API, decoders, relay): strings, numbers and JSON texts an attacker would send, byte
 * blobs of awkward sizes, and mutations of valid objects and sealed blobs.
 *
 * JSON is built as a small tree (`J`) and written by `jsonText`, so a generated body can hold
 * what a JS value cannot: duplicate keys, `__proto__` as an own key, number literals past
 * double range (`1e999`), 100,000-deep nesting. Large pieces are made only when sampled.
 *
 * @example
 *   const texts = fc.sample(hostileJsonText(), { numRuns: 100, seed: 1 });
 */
import fc from "fast-check";

/** A JSON text fragment written as is (a number past double range, deep nesting, invalid JSON). */
export class Raw {
  constructor(readonly text: string) {}
}
/** A JSON object as its list of entries (keeps duplicates and `__proto__`). */
export class Obj {
  constructor(readonly entries: [string, J][]) {}
}
export type J = string | number | boolean | null | Raw | Obj | J[];

/** Write a J tree as JSON text. */
export function jsonText(v: J): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Obj) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(",")}}`;
  if (Array.isArray(v)) return `[${v.map(jsonText).join(",")}]`;
  if (typeof v === "number" && !Number.isFinite(v)) return "null";
  return JSON.stringify(v);
}

/** A plain JSON value (from JSON.parse) as a J tree, to mutate it. */
export function toJ(v: unknown): J {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (Array.isArray(v)) return v.map(toJ);
  if (typeof v === "object") return new Obj(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toJ(x)]));
  return null;
}

const hex = (n: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n });
export const hex32 = () => hex(32);
export const hex64 = () => hex(64);
export const hex128 = () => hex(128);

/** Path traversal, NUL, encodings and other strings that trip parsers and file paths. */
export const TRAVERSALS = [
  "../",
  "..",
  "../../../../etc/passwd",
  "..\\..\\windows",
  "..%2f",
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e%2f",
  "%2e%2e/",
  "....//",
  "/..",
  ".",
  "./",
  "%00",
  "\u0000",
  "a\u0000b",
  "\u0000../",
  "chunks/../../placement.db",
  "/etc/passwd",
  "C:\\x",
  "~",
  "~root",
  "${HOME}",
  "$(id)",
  "`id`",
];
export const SPECIALS = [
  "",
  " ",
  "null",
  "undefined",
  "true",
  "NaN",
  "Infinity",
  "-1",
  "0x10",
  "1e999",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "index",
  "\ud800",
  "\udfff",
  "\ud83d",
  "\u202e",
  "\uffff",
  "\ufeff",
  "😀",
  "\r\n",
  "\n",
  "\t",
  "%",
  "%%",
  "%zz",
  "?",
  "#",
  "&",
  "=",
  "'",
  '"',
  "<script>",
  "{{7*7}}",
  "*",
  "\\",
  "/",
  "//",
  ":",
  ";",
  "\u0085",
  "\u2028",
  "Ａ",
  "İ",
  "ß",
];
const FIELD_NAMES = [
  "type",
  "v",
  "id",
  "x25519",
  "secret",
  "card",
  "chunks",
  "backups",
  "hash",
  "nonce",
  "challenges",
  "pass",
  "grant",
  "manifest",
  "statement",
  "request",
  "question",
  "model",
  "history",
  "max_tokens",
  "temperature",
  "bytes",
  "text",
  "sent_at",
  "owner",
  "recipient",
  "creator",
  "grant_id",
  "chunks_digest",
  "expires_at",
  "revoked_at",
  "signature",
  "name",
  "addresses",
  "build",
  "capabilities",
  "issued_at",
  "from",
  "to",
  "at",
  "kind",
  "accept",
  "open",
  "time",
  "method",
  "path",
  "headers",
  "status",
  "routes",
  "encrypted_file_key",
  "total_size",
  "filename",
  "file_type",
  "manifest_hash",
  "granted_at",
];
export const HUGE_NUMBER_TEXTS = [
  "1e999",
  "-1e999",
  "1e308",
  "-1e308",
  "4.9e-324",
  "1e-400",
  "9007199254740993",
  "-9007199254740993",
  "18446744073709551616",
  "1" + "0".repeat(400),
  "0." + "0".repeat(400) + "1",
  "-0",
  "1E+2",
  "123456789012345678901234567890",
  "2.5",
  "-1",
  "0",
  "1e21",
];
const INVALID_JSON_TEXTS = [
  "NaN",
  "Infinity",
  "-Infinity",
  "undefined",
  "01",
  "+1",
  ".5",
  "0x1f",
  "'x'",
  "tru",
  "nul",
  "[",
  "{",
  '{"a":',
  "]",
  '"\\x"',
  '"\\u12"',
  "\u0000",
];

/** Sizes that sit on the edges the code checks (0, 1, tags, ids, seal overhead, part sizes). */
export const EDGE_SIZES = [
  0, 1, 2, 3, 4, 9, 10, 15, 16, 17, 25, 26, 31, 32, 33, 36, 37, 41, 42, 48, 49, 50, 57, 58, 64, 65, 255, 256, 1023, 1024, 4096, 65535,
  65536, 65537,
];

/** A string from the lists above, random code units, hex-like or long. */
export function hostileString(maxLong = 70_000): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 40, arbitrary: fc.constantFrom(...TRAVERSALS, ...SPECIALS) },
    { weight: 30, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
    {
      weight: 20,
      arbitrary: fc.oneof(
        hex(63),
        hex(65),
        hex(64).map((s) => s.toUpperCase()),
        hex(64).map((s) => s.slice(0, 63) + "g"),
        hex(31),
        hex(33),
        hex(127),
        hex(129),
      ),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(255, 256, 513, 1025, 4097, 16_385, maxLong), fc.constantFrom("a", "é", "😀", "\u0000", "../"))
        .map(([n, c]) => c.repeat(Math.ceil(n / c.length))),
    },
    {
      weight: 10,
      arbitrary: fc
        .tuple(fc.string({ maxLength: 10 }), fc.constantFrom(...TRAVERSALS), fc.string({ maxLength: 10 }))
        .map(([a, t, b]) => a + t + b),
    },
  );
}

/** A number (or number literal) a schema may not expect. */
export function hostileNumber(): fc.Arbitrary<J> {
  return fc.oneof(
    fc.constantFrom<J>(
      0,
      -0,
      -1,
      1,
      0.5,
      -0.5,
      2 ** 31,
      2 ** 32,
      2 ** 53,
      2 ** 53 + 2,
      -(2 ** 53),
      1e21,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      255,
      256,
      65536,
    ),
    fc.constantFrom(...HUGE_NUMBER_TEXTS).map((t) => new Raw(t)),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
  );
}

/** Whole-text oddities: deep nesting, very wide arrays (`big`), invalid literals. Built when sampled. */
export function hostileRaw(big = true): fc.Arbitrary<Raw> {
  const small = fc.constantFrom(...INVALID_JSON_TEXTS).map((t) => new Raw(t));
  if (!big) return small;
  return fc.oneof(
    fc
      .tuple(fc.constantFrom(1_000, 10_000, 100_000, 200_000), fc.constantFrom("[", '{"a":'))
      .map(([d, o]) => new Raw(o.repeat(d) + (o === "[" ? "" : "1") + (o === "[" ? "]" : "}").repeat(d))),
    fc.constantFrom(1_000, 50_000).map((n) => new Raw(`[${"0,".repeat(n)}0]`)),
  );
}

/** A hostile leaf: string, number, boolean, null, or a raw oddity. */
export function hostileLeaf(plausible?: fc.Arbitrary<J>): fc.Arbitrary<J> {
  return fc.oneof(
    { weight: 50, arbitrary: hostileString() },
    { weight: 30, arbitrary: hostileNumber() },
    { weight: 10, arbitrary: fc.constantFrom<J>(true, false, null) },
    { weight: 5, arbitrary: hostileRaw(false) },
    { weight: 1, arbitrary: hostileRaw(true) },
    { weight: plausible ? 40 : 0, arbitrary: plausible ?? fc.constant(null) },
  );
}

/** A key: a field name some schema has, a prototype name, or junk. */
export function hostileKey(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...FIELD_NAMES),
    fc.constantFrom("__proto__", "constructor", "prototype", "", " ", "\u0000", "😀".repeat(40)),
    fc.string({ unit: "binary", maxLength: 20 }),
  );
}

/** A hostile JSON tree: nested objects/arrays of hostile keys and leaves (shallow; deep ones are Raw). */
export function hostileJson(plausible?: fc.Arbitrary<J>): fc.Arbitrary<J> {
  const { node } = fc.letrec<{ node: J }>((tie) => ({
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      hostileLeaf(plausible),
      fc.array(tie("node"), { maxLength: 6 }),
      fc.array(fc.tuple(hostileKey(), tie("node")), { maxLength: 6 }).map((e) => new Obj(e)),
    ),
  }));
  return node;
}

/** JSON text (or almost-JSON) of a hostile value. */
export function hostileJsonText(plausible?: fc.Arbitrary<J>): fc.Arbitrary<string> {
  return hostileJson(plausible).map(jsonText);
}

/** One change to a J tree; applied by `mutate`. */
export type Mutation =
  | { op: "set"; at: number; value: J }
  | { op: "delete"; at: number }
  | { op: "add"; at: number; key: string; value: J }
  | { op: "dup"; at: number; value: J }
  | { op: "type"; at: number }
  | { op: "root"; value: J }
  | { op: "wrap" };

export function mutation(plausible?: fc.Arbitrary<J>): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  const value = hostileJson(plausible);
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant("set" as const), at, value }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), at }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("add" as const), at, key: hostileKey(), value }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("dup" as const), at, value }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("type" as const), at }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("root" as const), value }) },
    { weight: 1, arbitrary: fc.constant({ op: "wrap" as const }) },
  );
}

/** Every object in a tree (the root first), to pick one to change. */
function objectsOf(v: J, out: Obj[] = []): Obj[] {
  if (v instanceof Obj) {
    out.push(v);
    for (const [, x] of v.entries) objectsOf(x, out);
  } else if (Array.isArray(v)) for (const x of v) objectsOf(x, out);
  return out;
}

function clone(v: J): J {
  if (v instanceof Obj) return new Obj(v.entries.map(([k, x]) => [k, clone(x)]));
  if (Array.isArray(v)) return v.map(clone);
  return v;
}

/** A string becomes a number, a number a string, an array an object… */
function retype(v: J): J {
  if (typeof v === "string") return /^\d+$/.test(v) ? Number(v) : v.length;
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v === null) return "null";
  if (Array.isArray(v)) return new Obj(v.map((x, i) => [String(i), x]));
  if (v instanceof Obj) return v.entries.map(([, x]) => x);
  return null;
}

/** Apply mutations to a copy of `base`. */
export function mutate(base: J, muts: readonly Mutation[]): J {
  let root = clone(base);
  for (const m of muts) {
    if (m.op === "root") {
      root = m.value;
      continue;
    }
    if (m.op === "wrap") {
      root = [root];
      continue;
    }
    const objs = objectsOf(root);
    if (!objs.length) continue;
    const o = objs[m.at % objs.length]!;
    const i = o.entries.length ? m.at % o.entries.length : -1;
    if (m.op === "add") o.entries.push([m.key, m.value]);
    else if (i < 0) continue;
    else if (m.op === "set") o.entries[i] = [o.entries[i]![0], m.value];
    else if (m.op === "delete") o.entries.splice(i, 1);
    else if (m.op === "dup") o.entries.push([o.entries[i]![0], m.value]);
    else if (m.op === "type") o.entries[i] = [o.entries[i]![0], retype(o.entries[i]![1])];
  }
  return root;
}

/** A valid object with 1 to 3 hostile changes, as JSON text. */
export function mutatedJsonText(base: unknown, plausible?: fc.Arbitrary<J>): fc.Arbitrary<string> {
  const j = toJ(base);
  return fc.array(mutation(plausible), { minLength: 1, maxLength: 3 }).map((ms) => jsonText(mutate(j, ms)));
}

/** `n` pseudo-random bytes from `seed` (xorshift: fast, unlike drawing each byte from fast-check). */
export function prngBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Random bytes of an edge size or any size up to `max`. */
export function hostileBytes(max = 70_000): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.tuple(fc.constantFrom(...EDGE_SIZES.filter((n) => n <= max)), fc.integer()).map(([n, seed]) => prngBytes(n, seed)),
    },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.tuple(fc.nat({ max }), fc.integer()).map(([n, seed]) => prngBytes(n, seed)) },
    { weight: 1, arbitrary: fc.tuple(fc.nat({ max: 255 }), fc.constantFrom(16, 49, 64, 1000)).map(([b, n]) => new Uint8Array(n).fill(b)) },
  );
}

/** One change to a byte blob (a sealed message, a frame, a batch). */
export type ByteMutation =
  | { op: "truncate"; at: number }
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; value: number }
  | { op: "append"; bytes: Uint8Array }
  | { op: "prepend"; bytes: Uint8Array }
  | { op: "cut"; at: number; len: number }
  | { op: "u32"; at: number; value: number };

export function byteMutation(): fc.Arbitrary<ByteMutation> {
  const at = fc.nat();
  return fc.oneof(
    fc.record({ op: fc.constant("truncate" as const), at }),
    fc.record({ op: fc.constant("flip" as const), at, bit: fc.nat({ max: 7 }) }),
    fc.record({ op: fc.constant("set" as const), at, value: fc.constantFrom(0, 1, 2, 0x7f, 0x80, 0xff) }),
    fc.record({ op: fc.constant("append" as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
    fc.record({ op: fc.constant("prepend" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ op: fc.constant("cut" as const), at, len: fc.nat({ max: 64 }) }),
    fc.record({ op: fc.constant("u32" as const), at, value: fc.constantFrom(0, 1, 0x7fffffff, 0xffffffff, 0x10000, 65536 * 1024) }),
  );
}

export function mutateBytes(base: Uint8Array, muts: readonly ByteMutation[]): Uint8Array {
  let b: Uint8Array = base.slice();
  for (const m of muts) {
    const n = b.byteLength;
    if (m.op === "truncate") b = b.slice(0, n ? m.at % n : 0);
    else if (m.op === "flip" && n) b[m.at % n]! ^= 1 << m.bit;
    else if (m.op === "set" && n) b[m.at % n] = m.value;
    else if (m.op === "append") b = concat(b, m.bytes);
    else if (m.op === "prepend") b = concat(m.bytes, b);
    else if (m.op === "cut" && n) {
      const at = m.at % n;
      b = concat(b.slice(0, at), b.slice(at + m.len));
    } else if (m.op === "u32" && n >= 4) new DataView(b.buffer, b.byteOffset).setUint32(m.at % (n - 3), m.value);
  }
  return b;
}

export function mutatedBytes(base: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.array(byteMutation(), { minLength: 1, maxLength: 3 }).map((ms) => mutateBytes(base, ms));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.byteLength);
  return out;
}

/** A short, printable description of an input for a report (bytes as length + head, long strings cut, deep values elided). */
export function describe(v: unknown, max = 300): string {
  const s = show(v, 0);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function show(v: unknown, depth: number): string {
  if (v instanceof Uint8Array)
    return `bytes[${v.byteLength}] ${Buffer.from(v.subarray(0, 48)).toString("hex")}${v.byteLength > 48 ? "…" : ""}`;
  if (typeof v === "string") return JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…(${v.length} chars)` : v);
  if (v === null || typeof v !== "object") return String(v);
  if (depth > 6) return Array.isArray(v) ? `[…${nesting(v)} deep]` : "{…}";
  if (Array.isArray(v))
    return `[${v
      .slice(0, 12)
      .map((x) => show(x, depth + 1))
      .join(",")}${v.length > 12 ? `,…(${v.length})` : ""}]`;
  const e = Object.entries(v as Record<string, unknown>);
  return `{${e
    .slice(0, 16)
    .map(([k, x]) => `${JSON.stringify(k.slice(0, 60))}:${show(x, depth + 1)}`)
    .join(",")}${e.length > 16 ? ",…" : ""}}`;
}

function nesting(v: unknown): number {
  let d = 0;
  while (v !== null && typeof v === "object" && d < 1e7) {
    const first: unknown = Array.isArray(v) ? v[0] : Object.values(v as object)[0];
    v = first;
    d++;
  }
  return d;
}
