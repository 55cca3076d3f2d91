/**
 * A sample of the fuzzing campaign (bench/fuzz.ts runs the full one): the regression seeds and
 * some generated malformed inputs at every target — each decoder in process, every peer API
 * endpoint of a real cell (read from the app) in three flavours, a real relay, and the cell's
 * relay client through it. No crash, no 5xx, no state change, every refusal a 4xx JSON {error},
 * no unsigned or stranger's request accepted, every whole sealed call through the relay answered.
 * A fixed seed per run of the suite keeps it reproducible: FUZZ_SEED=N picks another.
 */
import { describe, expect, test } from "bun:test";
import { runCampaign, totals, type Campaign } from "./campaign.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_130);

function report(c: Campaign): string {
  const lines: string[] = [];
  for (const r of c.rows)
    for (const f of r.findings)
      if (f.kind !== "http-layer-5xx") lines.push(`[${f.kind}] ${f.target}: ${f.detail}\n    input: ${f.input.slice(0, 600)}`);
  return lines.slice(0, 40).join("\n");
}

describe("fuzzing (a sample; bench/fuzz.ts runs 10,000 per target)", () => {
  test("decoders, every peer endpoint × {garbage, peer, stranger}, the relay and the relay client: no crash, no 5xx, no state change", async () => {
    const c = await runCampaign({ httpInputs: 60, decoderInputs: 300, heavyDecoderInputs: 40, relayInputs: 150, conns: 8, seed: SEED });
    const t = totals(c.rows);
    // Every endpoint of the peer API is fuzzed (the route list comes from the app).
    const keys = new Set(c.routes.map((r) => `${r.method} ${r.path}`));
    for (const k of [
      "POST /peer/join",
      "GET /peer/card",
      "POST /peer/share/grant",
      "POST /peer/msg",
      "POST /peer/friend",
      "PUT /peer/sync/chunks/:hash",
      "POST /peer/sync/backups",
      "POST /peer/bounty/statement",
    ])
      expect(keys.has(k)).toBe(true);
    expect(c.rows.filter((r) => r.group === "http").length).toBe(c.routes.length * 3);
    expect(c.rows.filter((r) => r.group === "relay").length).toBe(4);
    expect(c.rows.filter((r) => r.group === "decoder").length).toBeGreaterThanOrEqual(14);
    for (const r of c.rows) expect(r.inputs).toBeGreaterThanOrEqual(r.group === "decoder" ? 40 : 60);
    const found = report(c);
    if (found) console.error(`fuzz findings (seed ${SEED}):\n${found}`);
    expect(found).toBe("");
    expect({ crashes: t.crashes, fivexx: t.fivexx, state_changes: t.state_changes }).toEqual({ crashes: 0, fivexx: 0, state_changes: 0 });
  }, 180_000);
});
