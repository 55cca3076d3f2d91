/**
 * A relay added to config.json while the cell runs is used without a restart; one taken out is let
 * go. A real `grove relay` that admits holders of its token, and two real cells on loopback whose
 * cards advertise only a closed port (so no direct route works): A starts with no relay, B with
 * the relay. A's file gains the relay: A's status shows it ready, and B joins A through it (the
 * invite names A's relay now). Taken out of the file, A's kept reservation is gone and the log says so.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cliJson, destroyCell, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { startRelay, tokenFile } from "../helpers/relay.ts";
import { until } from "../helpers/until.ts";
import type { RelayState } from "../../src/relay/relay-client.ts";

const root = tempRoot("grove-live-relays-");
// Nothing listens on port 9 of loopback: a peer trying this address is refused at once.
const CLOSED = "http://127.0.0.1:9";
let relay: Awaited<ReturnType<typeof startRelay>>;
let relayUrl = "";
let access = { path: "", token: "" };
let a: TestCell, b: TestCell;

beforeAll(async () => {
  access = tokenFile(root);
  relay = await startRelay(["--token-file", access.path]);
  relayUrl = `ws://${relay.url}`;
  const base = { sync_interval_s: 3600, watch_home: false, advertise: [CLOSED] };
  [a, b] = await Promise.all([
    startCell({ config: { ...base, name: "live-a" } }),
    startCell({ config: { ...base, name: "live-b", relays: [`${relayUrl}?token=${access.token}`] } }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([destroyCell(a), destroyCell(b)]);
  relay?.proc.kill("SIGTERM");
  await relay?.proc.exited;
  const { rmSync } = await import("node:fs");
  rmSync(root, { recursive: true, force: true });
});

/** Change keys of the cell's config.json, written atomically as an editor or the dashboard does. */
function edit(c: TestCell, extra: Record<string, unknown>): void {
  const p = join(c.dir, "config.json");
  writeFileSync(p + ".tmp", JSON.stringify({ ...JSON.parse(readFileSync(p, "utf8")), ...extra }, null, 2));
  renameSync(p + ".tmp", p);
}
const relaysOf = async (c: TestCell) => ((await (await c.api("/api/status")).json()) as { relays: RelayState[] }).relays;

test("a relay added to config.json is held at once, and a cell that reaches A only through it joins A", async () => {
  expect(await relaysOf(a)).toEqual([]);
  edit(a, { relays: [`${relayUrl}?token=${access.token}`] });
  await until("A's reservation on the relay added to its file", async () => (await relaysOf(a))[0]?.state === "ready", 10_000, 100);
  const held = await relaysOf(a);
  expect(held).toEqual([expect.objectContaining({ url: `${relayUrl}/v1/relay`, configured: true, state: "ready" })]);
  expect(JSON.stringify(held)).not.toContain(access.token);
  expect(a.output()).toContain("config.json reloaded: taken at once keys=relays");
  expect(a.output()).not.toContain("take effect at the next start");
  // The invite carries A's card as it is now: its closed port and the relay.
  const token = (await a.cli(["invite"])).stdout.trim();
  const joined = await b.cli(["join", token]);
  expect(joined.stderr).toBe("");
  expect(joined.code).toBe(0);
  const peers = await cliJson<{ name: string; best_route: string | null }[]>(b, ["peers", "--probe"]);
  expect(peers).toEqual([expect.objectContaining({ name: "live-a", best_route: `${relayUrl}/v1/relay` })]);
}, 30_000);

test("a relay taken out of config.json is let go: A holds no reservation on it any more", async () => {
  edit(a, { relays: [] });
  // A may open it again to call B (B's card names it), but not as one of its own relays.
  await until("A to drop its reservation", async () => !(await relaysOf(a)).some((r) => r.configured), 10_000, 100);
  expect(a.output()).toContain("relay: removed from config, reservation dropped");
  expect(a.output()).not.toContain("take effect at the next start");
}, 30_000);
