/**
 * Route fallback with real cells on loopback: B's only direct route goes through a TCP proxy
 * this test can cut. While it answers, A uses it; cut, A falls back to B's relay route and
 * still syncs; restored, A moves back to the direct route and the relay carries no more data.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, destroyCell, startCell, tempRoot, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";
import { startRelay, tokenFile } from "../helpers/relay.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import { CountingProxy } from "../../bench/lib/tcp-proxy.ts";

let relay: Awaited<ReturnType<typeof startRelay>>;
let a: TestCell, b: TestCell;
let proxy: CountingProxy;
let proxyPort = 0;
let bPort = 0;
let idB = "";
const root = tempRoot("grove-fallback-");
const access = tokenFile(root); // the relay serves the holders of this token: A and B

type PeerView = { id: string; best_route: string | null; routes: { url: string; kind: string; reachable: boolean }[] };
const probeFromA = async (): Promise<PeerView> => JSON.parse((await a.cli(["peers", "--probe", "--json"])).stdout)[0];
const relayed = async () => ((await (await fetch(`http://${relay.url}/status`)).json()) as { bytes_relayed: number }).bytes_relayed;

async function putAndSync(name: string, size: number, seed: number): Promise<{ chunks_pushed: number; errors: string[] }> {
  const src = join(root, name);
  writeFileSync(src, pseudoRandom(size, seed));
  expect((await a.cli(["put", src, "--as", name])).code).toBe(0);
  return JSON.parse((await a.cli(["sync", "--json"])).stdout);
}

beforeAll(async () => {
  relay = await startRelay(["--token-file", access.path]);
  const relayUrl = `ws://${relay.url}?token=${access.token}`;
  bPort = freePort();
  proxyPort = freePort();
  proxy = new CountingProxy(proxyPort, bPort).start();
  const cfg = { replication_factor: 2, sync_interval_s: 3600, relays: [relayUrl] };
  a = await startCell({ config: { ...cfg, name: "fa" } });
  b = await startCell({
    listen: { host: "127.0.0.1", port: bPort },
    config: { ...cfg, name: "fb", advertise: [`http://127.0.0.1:${proxyPort}`] },
  });
  idB = cellIdOf(b);
  const token = (await b.cli(["invite"])).stdout.trim();
  expect((await a.cli(["join", token])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  proxy?.stop();
  await Promise.all([destroyCell(a), destroyCell(b)]);
  relay?.proc.kill("SIGTERM");
  await relay?.proc.exited;
  const { rmSync } = await import("node:fs");
  rmSync(root, { recursive: true, force: true });
}, 60_000);

test("the direct route is used while it answers, the relay route when it does not, and the direct one again when it is back", async () => {
  const relayRoute = `ws://${relay.url}/v1/relay`;
  const direct = `http://127.0.0.1:${proxyPort}`;

  // Both routes answer: the direct one is chosen (a relay route always ranks after a direct one).
  let p = await probeFromA();
  expect(p.id).toBe(idB);
  expect(p.routes.map((r) => [r.url, r.reachable]).sort()).toEqual(
    [
      [direct, true],
      [relayRoute, true],
    ].sort(),
  );
  expect(p.best_route).toBe(direct);

  // The direct route goes away: A falls back to the relay and still replicates.
  proxy.stop();
  p = await probeFromA();
  expect(p.routes.find((r) => r.url === direct)?.reachable).toBe(false);
  expect(p.best_route).toBe(relayRoute);
  const before = await relayed();
  const s1 = await putAndSync("via-relay.bin", 600_000, 21);
  expect(s1.errors).toEqual([]);
  expect(s1.chunks_pushed).toBe(1);
  expect((await relayed()) - before).toBeGreaterThan(600_000);

  // The direct route is back: A moves back to it; the relay carries only the probe's ping.
  proxy = new CountingProxy(proxyPort, bPort).start();
  p = await probeFromA();
  expect(p.best_route).toBe(direct);
  const mid = await relayed();
  const s2 = await putAndSync("direct-again.bin", 600_000, 22);
  expect(s2.errors).toEqual([]);
  expect(s2.chunks_pushed).toBe(1);
  expect((await relayed()) - mid).toBeLessThan(100_000);
  expect(proxy.snapshot().up).toBeGreaterThan(600_000);
});

test("a relay that restarts is logged into again by both cells, and carries their sync again", async () => {
  proxy.stop(); // only the relay route is left
  const port = relay.url.split(":")[1]!;
  relay.proc.kill("SIGTERM");
  await relay.proc.exited;
  relay = await startRelay(["--port", port, "--token-file", access.path]);
  expect(relay.url.endsWith(`:${port}`)).toBe(true);
  const state = async (c: TestCell) =>
    (JSON.parse((await c.cli(["status", "--json"])).stdout) as { relays: { state: string }[] }).relays[0]?.state;
  for (let i = 0; i < 150 && ((await state(a)) !== "ready" || (await state(b)) !== "ready"); i++) await Bun.sleep(100);
  expect([await state(a), await state(b)]).toEqual(["ready", "ready"]);
  expect((await probeFromA()).best_route).toBe(`ws://${relay.url}/v1/relay`);
  const s = await putAndSync("after-restart.bin", 300_000, 23);
  expect(s.errors).toEqual([]);
  expect(s.chunks_pushed).toBe(1);
}, 60_000);
