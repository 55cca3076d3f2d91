/**
 * The dashboard's status in words (issue 22, point 4): a peer's presence and route kind, errors
 * said without socket text, the last sync round in sentences (a peer that did not answer is a
 * warning, never the green line), a round's problems named by peer, and the Storage charts as
 * labelled SVG.
 */
import { describe, expect, test } from "bun:test";
import { humanError, humanProblem, isTechnical } from "../../views/human-error.ts";
import { presence, routeKindText } from "../../views/peer-presence.ts";
import { roundFacts, roundProblems, RoundSummary } from "../../views/round-summary.tsx";
import { HeldChart, ThroughputChart } from "../../views/charts.tsx";
import { awayHolders } from "../../views/storage.tsx";
import { PeerCallError, PeerUnreachableError } from "../../src/net/peer-client.ts";
import { badRequest, GroveError } from "../../src/core/errors.ts";
import type { SyncReport } from "../../src/sync/round.ts";
import type { PeerPlacement, PlacementReport } from "../../src/sync/placement-report.ts";
import type { CellId } from "../../src/core/types.ts";

const RAW = "cannot reach http://127.0.0.1:5802: ECONNREFUSED: Unable to connect. Is the computer able to access the url?";
const noTechnicalText = (s: string) => {
  for (const bad of ["ECONNREFUSED", "127.0.0.1", "Unable to connect", "http://"]) expect(s).not.toContain(bad);
};
const html = async (node: unknown) => String(await (node as { toString(): string | Promise<string> }).toString());

describe("errors in words", () => {
  test("an unreachable peer: what happened and what to do, no socket text", () => {
    const said = humanError(new PeerUnreachableError(RAW), "pi-in-the-attic");
    expect(said).toStartWith("pi-in-the-attic could not be reached");
    expect(said).toContain("it may be switched off or offline");
    noTechnicalText(said);
    // The same words from a stored line (a sync round's problem, a relay's state).
    expect(humanProblem(RAW, "pi")).toStartWith("pi could not be reached");
    expect(humanProblem("went silent during the round: The operation timed out.", "the relay")).toStartWith(
      "The relay could not be reached",
    );
  });

  test("an answer that does not verify, a full peer, a stranger: each its own words", () => {
    expect(humanError(new PeerCallError("answer from http://10.0.0.2:5679 did not verify (bad signature)"), "pi")).toContain(
      "could not be checked",
    );
    expect(humanProblem("HTTP 507: no room", "pi")).toContain("has no room");
    expect(humanProblem("refused: 401 unknown cell", "pi")).toContain("did not accept this cell");
  });

  test("a message written for people stays as it is; anything else technical becomes a plain sentence", () => {
    expect(humanError(badRequest("this invite has expired: ask for a new one"))).toBe("this invite has expired: ask for a new one");
    expect(isTechnical("this invite has expired")).toBe(false);
    const internal = humanError(new TypeError("undefined is not an object (evaluating 'x.y')"));
    expect(internal).toBe("Something went wrong on this cell. Try again; the cell's log has the details.");
    const odd = humanError(new GroveError("upstream said HTTP 502 at [fe80::1]:5679", 502), "pi");
    expect(odd).toContain("Something went wrong while talking to pi");
    noTechnicalText(odd);
  });
});

describe("a peer's presence and route", () => {
  const route = (url: string, reachable: boolean) => ({ url, kind: "lan", reachable, latency_ms: 1, mb_s: null });
  test("online when a route answered, offline when none did, not checked before any probe", () => {
    expect(presence({ best_route: "http://192.168.1.5:5679", routes: [route("http://192.168.1.5:5679", true)] })).toBe("online");
    expect(presence({ best_route: null, routes: [route("http://192.168.1.5:5679", false)] })).toBe("offline");
    expect(presence({ best_route: null, routes: [] })).toBe("unknown");
  });

  test("route kinds as people name them", () => {
    expect(routeKindText("http://127.0.0.1:5679")).toBe("this machine");
    expect(routeKindText("http://192.168.1.5:5679")).toBe("direct (LAN)");
    expect(routeKindText("http://100.101.1.2:5679")).toBe("Tailscale");
    expect(routeKindText("http://nas.tail1234.ts.net:5679")).toBe("Tailscale");
    expect(routeKindText("http://[200:1234::1]:5679")).toBe("Yggdrasil");
    expect(routeKindText("http://203.0.113.7:5679")).toBe("direct (internet)");
    expect(routeKindText("wss://relay.example/v1/relay")).toBe("relay");
    expect(routeKindText("not a url at all")).toBe("unknown");
  });
});

const report = (over: Partial<SyncReport>): SyncReport =>
  ({
    started_at: Date.now() - 60_000,
    duration_ms: 1234,
    peers: 1,
    reached: 1,
    unreached: [],
    routes_probed: 1,
    benchmarks: 0,
    chunks_pushed: 0,
    bytes_pushed: 0,
    chunks_pulled: 0,
    bytes_pulled: 0,
    healed: 0,
    released: 0,
    audited: 0,
    audit_failed: 0,
    backups_pushed: 0,
    backups_deferred: 0,
    restored: null,
    recovering: false,
    chunks: 4,
    under_replicated: 0,
    missing: 0,
    other_builds: 0,
    delete_requests: 0,
    chunks_trashed_on_peers: 0,
    refused_over_allowance: 0,
    bounty_statements: 0,
    bounty_disagreements: 0,
    bytes_sent: 0,
    bytes_received: 0,
    errors: [],
    ...over,
  }) as SyncReport;

describe("the last round in sentences", () => {
  test("the only peer not reached: a warning naming it, and the copies line is not the green one", async () => {
    const facts = roundFacts(report({ reached: 0, unreached: ["pi-in-the-attic (bbbbbbbb)"] }));
    const peers = facts.find((f) => f.key === "peers")!;
    expect(peers.tone).toBe("warn");
    expect(peers.text).toBe("0 of 1 peer answered; no answer from pi-in-the-attic (bbbbbbbb).");
    const copies = facts.find((f) => f.key === "copies")!;
    expect(copies.tone).toBe("warn");
    expect(copies.text).toContain("did not answer");
    const page = await html(RoundSummary({ r: report({ reached: 0, unreached: ["pi (bbbbbbbb)"] }) }));
    expect(page).not.toContain("<pre");
    expect(page).toContain('data-fact="copies"');
    expect(page).not.toContain('class="fact ok" data-fact="copies"');
  });

  test("everything answered and moved: plain sentences with sizes, the copies line ok", () => {
    const facts = roundFacts(report({ chunks_pushed: 2, bytes_pushed: 2048, audited: 3 }));
    expect(facts.map((f) => [f.key, f.tone, f.text])).toEqual([
      ["peers", "ok", "The peer answered."],
      ["moved", "info", "Sent 2 copies (2.0 KiB) to peers."],
      ["audited", "ok", "Checked 3 copies kept by peers: all intact."],
      ["copies", "ok", "Every chunk has all its copies."],
      ["took", "info", "Took 1.2 s."],
    ]);
  });

  test("problem lines name the peer and say what happened, once", () => {
    const names = new Map([["bbbbbbbb", "pi-in-the-attic"]]);
    const lines = roundProblems([`bbbbbbbb: inventory: ${RAW}`, `bbbbbbbb: push: ${RAW}`, "cccccccc: audit: 3 chunks missing"], names);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toStartWith("pi-in-the-attic could not be reached");
    expect(lines[1]).toBe("the peer cccccccc: audit: 3 chunks missing");
    for (const l of lines) noTechnicalText(l);
  });
});

const peer = (name: string, forUs: number, forIt: number, lastSeen: number | null): PeerPlacement => ({
  id: name.charAt(0).repeat(64) as CellId,
  name,
  counted: true,
  last_seen: lastSeen,
  holds_for_us: { chunks: forUs ? 1 : 0, bytes: forUs },
  we_hold_for_it: { chunks: forIt ? 1 : 0, bytes: forIt, backups: 0, backup_bytes: 0 },
});

describe("holders that did not answer", () => {
  test("a holder not seen since the last round started is away at once, not after two intervals", () => {
    const now = Date.now();
    const r = { peers: [peer("b-cell", 1000, 0, now - 60_000)] } as PlacementReport;
    expect(awayHolders(r, 3600, now)).toEqual([]);
    expect(awayHolders(r, 3600, now, now - 30_000).map((p) => p.name)).toEqual(["b-cell"]);
    expect(awayHolders(r, 3600, now, now - 90_000)).toEqual([]); // it answered in that round
  });
});

describe("charts", () => {
  test("throughput: one bar per round, an svg with role img and a label in words", async () => {
    const now = Date.now();
    const svg = await html(
      ThroughputChart({
        now,
        rounds: [
          { at: now - 120_000, duration_ms: 1000, bytes_sent: 4 * 1024 * 1024, bytes_received: 0, reached: 1, peers: 1 },
          { at: now - 60_000, duration_ms: 500, bytes_sent: 0, bytes_received: 1024, reached: 1, peers: 1 },
          { at: now, duration_ms: 10, bytes_sent: 0, bytes_received: 0, reached: 0, peers: 1 },
        ],
      }),
    );
    expect(svg).toContain('role="img"');
    expect(svg).toMatch(
      /aria-label="Bytes moved by the last 3 sync rounds: 4\.0 MiB in all, at most 4\.0 MiB in one round; the latest moved 0 B\."/,
    );
    expect(svg.match(/class="round-bar"/g)).toHaveLength(3);
    expect(await html(ThroughputChart({ rounds: [] }))).toContain('id="throughput-empty"');
  });

  test("bytes held per peer: a row per peer with its name and both figures", async () => {
    const svg = await html(HeldChart({ peers: [peer("b-cell", 3 * 1024 * 1024, 0, null), peer("c-cell", 0, 2048, null)] }));
    expect(svg).toContain('role="img"');
    expect(svg).toContain("b-cell keeps 3.0 MiB for this cell, this cell keeps 0 B for it; c-cell keeps 0 B for this cell");
    expect(svg.match(/class="held-row"/g)).toHaveLength(2);
    expect(svg).toContain(">b-cell</text>");
  });
});
