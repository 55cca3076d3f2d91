/**
 * Upgrading a cell from the one-listener build: its config.json is migrated, and a peer that
 * still knows it at the old address keeps syncing through the legacy window until it has learned
 * the new peer port; then the window closes and the dashboard is on loopback alone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { listeningOn } from "../helpers/proc.ts";
import { cliJson, destroyCell, freePort, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { upgradedPeerPort, migrateV1 } from "../../src/config/migrate.ts";

describe("migrateV1", () => {
  test("the old host goes to the peer API, the dashboard to loopback, the peer port is the old + 1000", () => {
    const { next, migration } = migrateV1({ host: "0.0.0.0", port: 5678, name: "pi", replication_factor: 3 }, 5678);
    expect(next).toEqual({
      host: "127.0.0.1",
      port: 5678,
      peer_host: "0.0.0.0",
      peer_port: 6678,
      config_version: 2,
      name: "pi",
      replication_factor: 3,
    });
    expect(migration.legacyHost).toBe("0.0.0.0");
    // A cell that listened on loopback only had no peers beyond this machine: no window.
    expect(migrateV1({ host: "127.0.0.1" }, 7000).migration.legacyHost).toBeNull();
    // The port it really listened on (--port, GROVE_PORT) counts, not the file's.
    expect(migrateV1({}, 5690).next.peer_port).toBe(6690);
    expect(upgradedPeerPort(65000)).toBe(64000);
    expect(upgradedPeerPort(0)).toBe(0);
  });
});

describe("a fleet that knows the old address", () => {
  let a: TestCell, b: TestCell;
  beforeAll(async () => {
    [a, b] = await Promise.all([
      startCell({ config: { name: "a", watch_home: false } }),
      startCell({ config: { name: "b", watch_home: false } }),
    ]);
    await pair(a, b);
    await Promise.all([a.stop(), b.stop()]);
    // A as the one-listener build left it: no config_version, "host": "0.0.0.0", one port.
    const cfgPath = join(a.dir, "config.json");
    const old = JSON.parse(readFileSync(cfgPath, "utf8"));
    delete old.config_version;
    delete old.peer_host;
    delete old.peer_port;
    writeFileSync(cfgPath, JSON.stringify({ ...old, host: "0.0.0.0", port: a.port }, null, 2));
    // B knows A at that single port only, as a card from the old build said.
    const db = new Database(join(b.dir, "placement.db"));
    const row = db.query("SELECT id, card FROM peers").get() as { id: string; card: string };
    const card = JSON.parse(row.card);
    db.query("UPDATE peers SET card = ? WHERE id = ?").run(JSON.stringify({ ...card, addresses: [`http://127.0.0.1:${a.port}`] }), row.id);
    db.close();
    rmSync(join(b.dir, "peer_speeds.json"), { force: true });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([destroyCell(a), destroyCell(b)]);
  });

  test("the upgrade keeps it syncing through the old address, then closes the window once B has the new card", async () => {
    // A comes back on the new build with a peer port B has never heard of.
    a = await startCell({ root: a.root, listen: { host: "127.0.0.1", port: a.port, peerPort: freePort() } });
    b = await startCell({ root: b.root, listen: { host: "127.0.0.1", port: b.port } });
    expect(a.output()).toContain("config.json upgraded from version 1 to 2");
    const cfg = JSON.parse(readFileSync(join(a.dir, "config.json"), "utf8"));
    expect(cfg).toMatchObject({ config_version: 2, host: "127.0.0.1", peer_host: "0.0.0.0", peer_port: upgradedPeerPort(a.port) });
    expect(existsSync(join(a.dir, "config.json.v1"))).toBe(true);
    expect(existsSync(join(a.dir, "legacy_peer_window.json"))).toBe(true);
    expect(a.output()).toContain(`Previous address: port ${a.port} on 0.0.0.0 still answers peers (only peers)`);
    expect(listeningOn(a.port)).toEqual(["0.0.0.0"]); // the old socket, for peers only

    // B reaches A at the old address and replicates A's file.
    expect((await a.api("/api/files/kept.txt", { method: "PUT", body: "still syncing" })).status).toBe(201);
    // B's probe reaches A where B knew it, and takes A's new card from there (it names the new port).
    const bProbe = await cliJson<{ id: string; best_route: string | null }[]>(b, ["peers", "--probe"]);
    expect(bProbe[0]!.best_route).toBe(a.peerUrl);
    expect(b.output()).toContain("peer card updated");
    const round = await cliJson<{ reached: number; chunks_pushed: number }>(a, ["sync"]);
    expect(round.reached).toBe(1);
    expect(round.chunks_pushed).toBe(1);

    // B's next probe reaches the new port, and the window closes.
    const probed = await cliJson<{ best_route: string | null; latency_ms: number | null }[]>(b, ["peers", "--probe"]);
    expect(probed[0]!.best_route).toBe(a.peerUrl);
    expect(probed[0]!.latency_ms).not.toBeNull();
    for (let i = 0; i < 50 && existsSync(join(a.dir, "legacy_peer_window.json")); i++) await Bun.sleep(100);
    expect(existsSync(join(a.dir, "legacy_peer_window.json"))).toBe(false);
    expect(a.output()).toContain("legacy peer window closed");
    for (let i = 0; i < 50 && listeningOn(a.port).join() !== "127.0.0.1"; i++) await Bun.sleep(100);
    expect(listeningOn(a.port)).toEqual(["127.0.0.1"]);
    // The dashboard and the CLI still answer at the same address.
    expect((await a.cli(["ls", "--json"])).code).toBe(0);
    expect((await cliJson<{ listening: { legacy: null } }>(a, ["status"])).listening.legacy).toBeNull();
    // And the next start has no window.
    await a.stop();
    a = await startCell({ root: a.root, listen: { host: "127.0.0.1", port: a.port } });
    expect(a.output()).not.toContain("Previous address");
    expect(listeningOn(a.port)).toEqual(["127.0.0.1"]);
  }, 90_000);
});
