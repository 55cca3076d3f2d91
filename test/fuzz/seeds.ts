/**
 * @module test/fuzz/seeds — regression inputs: every input the fuzzers found a fault with, kept
 * and sent first on every run (the sample in the default suite too), each with what it broke.
 */
import type { Flavour, HttpFuzz, Route, Spec } from "./http-targets.ts";
import type { CellFrameSpec, LoginSpec } from "./relay-targets.ts";

const DEEP_ARRAY = "[".repeat(100_000) + "]".repeat(100_000);
const DEEP_OBJECT = '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000);

/** A peer-signed spec with a body; the rest plain. */
function spec(body: Spec["body"], over: Partial<Spec> = {}): Spec {
  return { method: "POST", params: [], paramMode: "enc", query: "", body, auth: { k: "peer" }, extra: [], ...over };
}
const sealed = (text: string, info: string): Spec["body"] => ({ k: "sealed", text, info, aad: "signer", to: "cell", muts: [] });

/**
 * HTTP regressions, by route:
 *  - a 100,000-deep JSON value where a grant, pass, revocation, statement or card is read:
 *    JSON.stringify overflowed (500 "Maximum call stack size exceeded") after ~1.5 s of CPU;
 *  - /peer/join whose sealed body is `null` (or not an object): TypeError, 500;
 *  - /peer/bench whose body is the JSON `null` (TypeError), or whose `bytes` is a deep array
 *    (Number() overflows on it): 500.
 */
export function httpSeeds(fz: HttpFuzz, route: Route, flavour: Flavour): Spec[] {
  const k = `${route.method} ${route.path}`;
  const info = fz.about(route).info ?? "";
  const t = fz.t;
  const auth: Spec["auth"] = flavour === "stranger" ? { k: "stranger", who: 0 } : { k: "peer" };
  if (flavour === "garbage") return [];
  const out: Spec[] = [];
  if (k === "POST /peer/join") {
    for (const text of [
      "null",
      "5",
      "[]",
      '"x"',
      "true",
      `{"secret":${DEEP_ARRAY},"card":null}`,
      `{"secret":${DEEP_ARRAY},"card":${JSON.stringify(t.peer.card)}}`,
    ])
      out.push(spec(sealed(text, info), { auth }));
  }
  if (flavour !== "peer") return out;
  if (k === "POST /peer/bench")
    for (const text of ["null", "5", "[]", '"x"', `{"bytes":${DEEP_ARRAY}}`]) out.push(spec({ k: "text", text }));
  if (k === "POST /peer/share/revoke") out.push(spec({ k: "text", text: DEEP_ARRAY }), spec({ k: "text", text: DEEP_OBJECT }));
  if (k === "POST /peer/share/chunk")
    out.push(spec({ k: "text", text: `{"pass":${DEEP_ARRAY},"chunks":["${t.heldHash}"],"hash":"${t.heldHash}"}` }));
  if (k === "POST /peer/share/grant") out.push(spec(sealed(`{"grant":${DEEP_ARRAY},"pass":null,"manifest":null}`, info)));
  if (k === "POST /peer/bounty/statement") out.push(spec(sealed(`{"statement":${DEEP_ARRAY}}`, info)));
  if (k === "POST /peer/sync/inventory")
    out.push(spec(sealed(`{"card":${DEEP_OBJECT},"chunks":"${"0".repeat(64)}","backups":"${"0".repeat(64)}"}`, info)));
  return out;
}

/** Decoder regressions, by target name prefix. */
export function decoderSeeds(name: string): unknown[] {
  const deep = [JSON.parse(DEEP_ARRAY), JSON.parse(DEEP_OBJECT)];
  // Reassembly: part numbers out of range left holes (TypeError) or a bad count (RangeError).
  if (name.startsWith("tunnel reassembly"))
    return [
      [
        2,
        [
          [5, 2, 1],
          [7, 2, 1],
        ],
      ],
      [1, [[-1, 1, 1]]],
      [-1, [[0, -1, 1]]],
      [0, [[0, 0, 1]]],
      [1, [[0.5, 1, 1]]],
      [
        2,
        [
          [Number.NaN, 2, 1],
          [1, 2, 1],
        ],
      ],
    ];
  if (/^(grant|fetch pass|revocation|card|bounty statement)/.test(name)) return deep;
  return [];
}

/**
 * Relay → cell regressions: whole, correctly sealed calls that were never answered (junk
 * message, header names Headers refuses, methods Request refuses), a path whose `..` led out of
 * /peer/ to the dashboard, the last part alone of a many-part call from a stranger (kept
 * waiting for parts that never come), and frames that do not open filling the sender's slots.
 */
export function relayCellSeeds(fz: HttpFuzz, routes: Route[]): CellFrameSpec[] {
  const peer = fz.t.peer.id;
  const head = (h: unknown): CellFrameSpec => ({ k: "sealed-head", from: "peer", head: JSON.stringify(h), body: new Uint8Array(0) });
  const ping = routes.findIndex((r) => r.path === "/peer/ping");
  const out: CellFrameSpec[] = [
    { k: "sealed-junk", from: "peer", message: new Uint8Array([0, 0, 0, 2, 123, 125]) },
    { k: "sealed-junk", from: "stranger", message: new Uint8Array(3) },
    head({ method: "POST", path: "/peer/ping", headers: { "X-Grove-Cell": peer, "bad name": "x" } }),
    head({ method: "POST", path: "/peer/ping", headers: { "X-Grove-Cell": peer, "X-A": "a\u0000b" } }),
    head({ method: "TRACE", path: "/peer/ping", headers: { "X-Grove-Cell": peer } }),
    head({ method: "CONNECT", path: "/peer/ping", headers: { "X-Grove-Cell": peer } }),
    head({ method: "GET", path: "/peer/../setup", headers: { "X-Grove-Cell": peer } }),
    head({ method: "GET", path: "/peer/%2e%2e/api/status", headers: { "X-Grove-Cell": peer } }),
    head({ method: "GET", path: "/peer/ping x", headers: { "X-Grove-Cell": peer } }),
    { k: "partial", parts: 3, send: [0, 0] },
    // Request frames that do not open each took one of the sender's 32 call slots for 120 s, so
    // the friend's real calls through the relay went unanswered: 40 of them, then real calls.
    ...Array.from(
      { length: 40 },
      (): CellFrameSpec => ({ k: "mutated", from: "peer", muts: [{ op: "flip", at: 50, bit: 0 }], response: false }),
    ),
    { k: "sealed-junk", from: "peer", message: new Uint8Array(5) },
    head({ method: "POST", path: "/peer/ping", headers: { "X-Grove-Cell": peer } }),
  ];
  if (ping >= 0) out.push({ k: "call", from: "peer", route: ping, spec: spec({ k: "none" }, { params: [], query: "/../../api/status" }) });
  return out;
}

/** Relay login regressions (none found so far; kept as the place for them). */
export const loginSeeds: LoginSpec[] = [
  { k: "text", text: `{"type":"login","${"é".repeat(200)}":1}` },
  { k: "text", text: "null" },
];
