/**
 * @module test/fuzz/campaign — one fuzzing campaign over every target: the in-process decoders,
 * every peer API endpoint of a real cell in three flavours, a real relay, and the cell's relay
 * client through it. Shared by bench/fuzz.ts (the full campaign) and test/fuzz/fuzz.test.ts (a
 * sample in the default suite). Each target reports inputs, answers by status, crashes, 5xx,
 * state changes and findings; the seeds (test/fuzz/seeds) go first on every run.
 */
import { destroyCell } from "../helpers/cell.ts";
import { startRelay } from "../helpers/relay.ts";
import { DEFAULT_LIMITS } from "../../src/relay/hub.ts";
import { cellAlive, diffSnapshots, snapshot, startFuzzCell, type FuzzCell } from "./cell-target.ts";
import { decoderTargets, runDecoderTarget } from "./decoder-targets.ts";
import { FLAVOURS, HttpFuzz, peerRoutes, runHttpTarget, type Finding, type Route } from "./http-targets.ts";
import { RawHttp } from "./raw-http.ts";
import { fuzzRelayBinary, fuzzRelayLogin, fuzzRelayText, fuzzRelayToCell, relayAlive, relayCallWorks } from "./relay-targets.ts";
import { decoderSeeds, httpSeeds, loginSeeds, relayCellSeeds } from "./seeds.ts";

export interface CampaignOptions {
  /** Inputs per HTTP target (endpoint × flavour). */
  httpInputs: number;
  /** Inputs per cheap in-process decoder target, and per costly one (HPKE opens). */
  decoderInputs: number;
  heavyDecoderInputs: number;
  /** Inputs per relay target. */
  relayInputs: number;
  seed: number;
  /** Kept-alive connections to the cell (requests in flight). */
  conns: number;
  /** Only targets whose name contains one of these (all when empty). */
  only?: string[];
  log?: (line: string) => void;
}

export interface Row {
  group: "decoder" | "http" | "relay";
  target: string;
  inputs: number;
  /** Answers by status (HTTP, relay) or accepted/refused (decoders). */
  answers: Record<string, number>;
  crashes: number;
  fivexx: number;
  stateChanges: number;
  findings: Finding[];
  ms: number;
}

export interface Campaign {
  rows: Row[];
  routes: Route[];
  ms: number;
}

const wanted = (o: CampaignOptions, name: string) => !o.only?.length || o.only.some((f) => name.includes(f));

/** Run the campaign; never throws for a finding (they are in the rows), only for a broken setup. */
export async function runCampaign(o: CampaignOptions): Promise<Campaign> {
  const log = o.log ?? (() => {});
  const rows: Row[] = [];
  const t0 = performance.now();
  const push = (r: Row) => {
    rows.push(r);
    log(
      `${r.target}: ${r.inputs} inputs, ${Math.round(r.inputs / Math.max(0.001, r.ms / 1000))}/s, ${r.findings.filter((f) => f.kind !== "http-layer-5xx").length} findings`,
    );
  };

  // 1. Decoders, in this process.
  for (const d of await decoderTargets()) {
    if (!wanted(o, d.name)) continue;
    const r = await runDecoderTarget(d, d.heavy ? o.heavyDecoderInputs : o.decoderInputs, { seed: o.seed, seeds: decoderSeeds(d.name) });
    push({
      group: "decoder",
      target: d.name,
      inputs: r.inputs,
      answers: { decoded: r.accepted, refused: r.refused },
      crashes: r.findings.filter((f) => f.kind === "throw").length,
      fivexx: 0,
      stateChanges: 0,
      findings: r.findings,
      ms: r.ms,
    });
  }

  const routes = peerRoutes();
  const httpTargets = routes
    .flatMap((r) => FLAVOURS.map((f) => ({ r, f, name: `${r.method} ${r.path} [${f}]` })))
    .filter((t) => wanted(o, t.name));
  const relayNames = [
    "relay login (malformed logins)",
    "relay text (after login)",
    "relay binary frames",
    "relay → cell (relay client frames)",
  ].filter((n) => wanted(o, n));
  if (!httpTargets.length && !relayNames.length) return { rows, routes, ms: performance.now() - t0 };

  // 2. A real relay (open to the fuzzer's made-up cells, limits raised so it is not rate limited) and a real cell on it.
  const relay = await startRelay([
    "--open",
    "--max-per-ip",
    "100000",
    "--frames-per-second",
    "1000000",
    "--accepts-per-minute",
    "100000000",
    "--max-per-cell",
    "64",
    "--max-reservations",
    "100000",
  ]);
  const relayUrl = `ws://${relay.url}/v1/relay`;
  let t: FuzzCell | null = null;
  try {
    t = await startFuzzCell({ relays: [`ws://${relay.url}`] });
    let fz = await HttpFuzz.create(t);
    await waitRelayReady(t);

    // 3. Every peer endpoint × flavour.
    let conns = Array.from({ length: o.conns }, () => new RawHttp(t!.host, t!.port));
    for (const { r, f, name } of httpTargets) {
      const before = snapshot(t.cell.dir);
      const res = await runHttpTarget(fz, r, f, o.httpInputs, { seed: o.seed, conns, seeds: httpSeeds(fz, r, f) });
      const dead = await cellAlive(t.cell);
      const findings = [...res.findings];
      let changes = 0;
      if (dead) {
        findings.push({
          target: name,
          kind: "crash",
          detail: dead,
          input: "(see the inputs above; the cell's output follows)\n" + t.cell.output().slice(-2000),
        });
        // Start again so the remaining targets still run.
        for (const c of conns) c.close();
        await destroyCell(t.cell);
        t = await startFuzzCell({ relays: [`ws://${relay.url}`] });
        fz = await HttpFuzz.create(t);
        conns = Array.from({ length: o.conns }, () => new RawHttp(t!.host, t!.port));
      } else {
        const diff = diffSnapshots(before, snapshot(t.cell.dir));
        changes = diff.length;
        for (const d of diff) findings.push({ target: name, kind: "state-change", detail: d, input: "(one of this target's inputs)" });
      }
      push({
        group: "http",
        target: name,
        inputs: res.inputs,
        answers: res.statuses,
        crashes: dead ? 1 : 0,
        fivexx: res.fivexx,
        stateChanges: changes,
        findings,
        ms: res.ms,
      });
    }
    for (const c of conns) c.close();

    // 4. The relay, and the cell's relay client through it.
    const relayRow = async (
      name: string,
      run: () => Promise<{ inputs: number; statuses: Record<string, number>; findings: Finding[]; ms: number }>,
      cellToo: boolean,
    ) => {
      const before = cellToo ? snapshot(t!.cell.dir) : null;
      const res = await run();
      const findings = [...res.findings];
      const dead = await relayAlive(relay.url, relay.proc);
      if (dead) findings.push({ target: name, kind: "crash", detail: dead, input: relay.out().slice(-2000) });
      let changes = 0;
      let cellDead: string | null = null;
      if (cellToo) {
        cellDead = await cellAlive(t!.cell);
        if (cellDead) findings.push({ target: name, kind: "crash", detail: cellDead, input: t!.cell.output().slice(-2000) });
        else {
          for (const d of diffSnapshots(before!, snapshot(t!.cell.dir)))
            changes++, findings.push({ target: name, kind: "state-change", detail: d, input: "(one of this target's inputs)" });
          const ready = await waitRelayReady(t!, 10_000).then(
            () => null,
            (e: Error) => e.message,
          );
          if (ready) findings.push({ target: name, kind: "crash", detail: `the cell lost its relay reservation: ${ready}`, input: "" });
          const works = await relayCallWorks(relayUrl, t!);
          if (works) findings.push({ target: name, kind: "crash", detail: works, input: "" });
        }
      }
      const fivexx = findings.filter((f) => f.kind === "5xx").length;
      push({
        group: "relay",
        target: name,
        inputs: res.inputs,
        answers: res.statuses,
        crashes: (dead ? 1 : 0) + (cellDead ? 1 : 0),
        fivexx,
        stateChanges: changes,
        findings,
        ms: res.ms,
      });
    };
    for (const name of relayNames) {
      if (name.startsWith("relay login"))
        await relayRow(name, () => fuzzRelayLogin(relayUrl, o.relayInputs, { seed: o.seed, seeds: loginSeeds }), false);
      if (name.startsWith("relay text")) await relayRow(name, () => fuzzRelayText(relayUrl, o.relayInputs, { seed: o.seed }), false);
      if (name.startsWith("relay binary"))
        await relayRow(
          name,
          () => fuzzRelayBinary(relayUrl, o.relayInputs, { seed: o.seed, maxFrameBytes: DEFAULT_LIMITS.max_frame_bytes }),
          false,
        );
      if (name.startsWith("relay → cell"))
        await relayRow(
          name,
          () => fuzzRelayToCell(relayUrl, t!, fz, routes, o.relayInputs, { seed: o.seed, seeds: relayCellSeeds(fz, routes) }),
          true,
        );
    }
  } finally {
    if (t) await destroyCell(t.cell);
    relay.proc.kill("SIGTERM");
    await relay.proc.exited;
  }
  return { rows, routes, ms: performance.now() - t0 };
}

/** Wait until the cell reports its relay reservation ready (GET /api/status). */
async function waitRelayReady(t: FuzzCell, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  let last = "";
  while (Date.now() < end) {
    const st = (await (await t.cell.api("/api/status")).json()) as { relays?: { state: string; error: string | null }[] };
    const r = st.relays?.[0];
    if (r?.state === "ready") return;
    last = `${r?.state ?? "no relay"} ${r?.error ?? ""}`;
    await Bun.sleep(100);
  }
  throw new Error(`the cell's relay reservation is not ready: ${last}`);
}

/** Totals over rows, for the final line. */
export function totals(rows: Row[]) {
  return {
    targets: rows.length,
    inputs: rows.reduce((n, r) => n + r.inputs, 0),
    crashes: rows.reduce((n, r) => n + r.crashes, 0),
    fivexx: rows.reduce((n, r) => n + r.fivexx, 0),
    state_changes: rows.reduce((n, r) => n + r.stateChanges, 0),
    findings: rows.reduce((n, r) => n + r.findings.filter((f) => f.kind !== "http-layer-5xx").length, 0),
    http_layer_5xx: rows.reduce((n, r) => n + r.findings.filter((f) => f.kind === "http-layer-5xx").length, 0),
  };
}
