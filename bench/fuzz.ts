/**
 * Bench: the fuzzing campaign (issue 10, point 3). Generated malformed inputs (fast-check) at
 * every target, after the regression seeds (test/fuzz/seeds):
 *
 *   bun bench/fuzz.ts [--http-inputs 10000] [--decoder-inputs 100000] [--heavy-decoder-inputs 10000]
 *                     [--relay-inputs 10000] [--conns 8] [--seed N] [--only TEXT[,TEXT…]]
 *
 * 1. Decoders, in process: invite tokens, grants, fetch passes, revocations, cards, sealed
 *    messages (raw and JSON), bounty statements, messages, backup batches, relay frames and
 *    logins, the relay tunnel (heads, frames, reassembly, request/response). --decoder-inputs
 *    each (--heavy-decoder-inputs for the two that open HPKE messages, ~1 ms each).
 * 2. Every peer API endpoint of a real cell (`grove start` on 127.0.0.1, paired with the
 *    fuzzer's identity for real and made a friend, holding a file, a share, a chunk and a backup
 *    for it, a live invite), read from the Hono app, × three flavours (unsigned garbage, signed
 *    by the friend with hostile bodies/paths/queries, signed by an unknown cell): --http-inputs
 *    each over --conns kept-alive connections. Checked per input: an answer (no hang), no 5xx,
 *    a refusal is a 4xx JSON {error}, no unsigned or stranger's request accepted; per target:
 *    the cell answers /api/status and its state (placement.db row counts; chunks/, manifests/,
 *    grants/, invites/) is unchanged.
 * 3. A real `grove relay` (limits raised so the fuzzer is not rate limited): malformed logins,
 *    hostile text after login, binary frames of every size to self/unknown/refusing/accepting
 *    cells; then frames injected through it into the cell's relay client (random, tunnel-shaped,
 *    cut, flipped, partial, and whole sealed calls holding junk or hostile peer requests), each
 *    whole call answered without a 5xx; afterwards the cell still holds its reservation and a
 *    valid call through the relay works. --relay-inputs each.
 * Output: one row per target (inputs, inputs/s, answers by status, crashes, 5xx, state changes,
 * findings, time), every distinct finding with its input, and one JSON object as the last line.
 * Exit 1 when anything was found (crash, 5xx, state change, hang, accepted, non-JSON refusal).
 * Everything listens on 127.0.0.1.
 */
import { parseArgs } from "node:util";
import { runCampaign, totals, type Row } from "../test/fuzz/campaign.ts";
import { round, table } from "./lib/measure.ts";

const { values } = parseArgs({
  options: {
    "http-inputs": { type: "string", default: "10000" },
    "decoder-inputs": { type: "string", default: "100000" },
    "heavy-decoder-inputs": { type: "string", default: "10000" },
    "relay-inputs": { type: "string", default: "10000" },
    conns: { type: "string", default: "8" },
    seed: { type: "string" },
    only: { type: "string" },
  },
  strict: false,
});
const num = (k: string) => {
  const v = Number(values[k]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`fuzz: --${k} must be a whole number`);
    process.exit(2);
  }
  return v;
};
const seed = values.seed !== undefined ? num("seed") : Date.now() % 1_000_000;
const opts = {
  httpInputs: num("http-inputs"),
  decoderInputs: num("decoder-inputs"),
  heavyDecoderInputs: num("heavy-decoder-inputs"),
  relayInputs: num("relay-inputs"),
  conns: Math.max(1, num("conns")),
  seed,
  only: typeof values.only === "string" ? values.only.split(",").filter(Boolean) : [],
  log: (l: string) => console.error(`fuzz: ${l}`),
};
console.error(`fuzz: seed ${seed} (repeat a run with --seed ${seed})`);

const c = await runCampaign(opts);
const answers = (r: Row) =>
  Object.entries(r.answers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}:${v}`)
    .join(" ");
console.log(
  table([
    ["TARGET", "INPUTS", "INPUTS/S", "CRASHES", "5XX", "STATE", "FINDINGS", "TIME S", "ANSWERS"],
    ...c.rows.map((r) => [
      r.target,
      r.inputs,
      Math.round(r.inputs / Math.max(0.001, r.ms / 1000)),
      r.crashes,
      r.fivexx,
      r.stateChanges,
      r.findings.filter((f) => f.kind !== "http-layer-5xx").length,
      round(r.ms / 1000, 1),
      answers(r),
    ]),
  ]),
);
const tot = totals(c.rows);
const byGroup = (g: Row["group"]) => {
  const rs = c.rows.filter((r) => r.group === g);
  const inputs = rs.reduce((n, r) => n + r.inputs, 0);
  const ms = rs.reduce((n, r) => n + r.ms, 0);
  return { targets: rs.length, inputs, seconds: round(ms / 1000, 1), inputs_per_s: Math.round(inputs / Math.max(0.001, ms / 1000)) };
};
const groups = { decoder: byGroup("decoder"), http: byGroup("http"), relay: byGroup("relay") };
console.log(
  `\nHTTP: ${groups.http.inputs} inputs at ${groups.http.targets} targets (${c.routes.length} endpoints × 3 flavours) in ${groups.http.seconds} s, ${groups.http.inputs_per_s} inputs/s`,
);
console.log(
  `decoders: ${groups.decoder.inputs} inputs in ${groups.decoder.seconds} s; relay: ${groups.relay.inputs} inputs in ${groups.relay.seconds} s; total ${round(c.ms / 1000, 1)} s`,
);

// Every distinct finding (same target, kind and detail start: once, with a count).
const seen = new Map<string, { f: Row["findings"][number]; n: number }>();
for (const r of c.rows)
  for (const f of r.findings) {
    const k = `${f.target}|${f.kind}|${f.detail.slice(0, 80)}`;
    const e = seen.get(k);
    if (e) e.n++;
    else seen.set(k, { f, n: 1 });
  }
const layer = [...seen.values()].filter((e) => e.f.kind === "http-layer-5xx");
const real = [...seen.values()].filter((e) => e.f.kind !== "http-layer-5xx");
if (real.length) {
  console.log(`\nFINDINGS (${real.length} distinct):`);
  for (const { f, n } of real)
    console.log(`- [${f.kind}] ${f.target}: ${f.detail}${n > 1 ? ` (×${n})` : ""}\n    input: ${f.input.slice(0, 800)}`);
} else console.log("\nno findings: no crash, no 5xx, no state change, every refusal a 4xx JSON {error}");
if (layer.length)
  console.log(
    `\nnote: ${layer.reduce((n, e) => n + e.n, 0)} answers were 5xx from Bun's HTTP parser before the cell's code ran (a request line with raw control bytes, e.g. NUL, gets 505); not the cell's`,
  );

console.log(
  JSON.stringify({ bench: "fuzz", ...opts, log: undefined, ...tot, groups, seconds: round(c.ms / 1000, 1), endpoints: c.routes.length }),
);
process.exit(real.length ? 1 : 0);
