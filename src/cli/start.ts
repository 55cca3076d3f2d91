/** @module cli/start — `grove start`: run a cell in the foreground (dashboard, local API, peer API). */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { recoveryPhrase } from "../cell/state-dir.ts";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { resolveLayout } from "../core/layout.ts";
import { log } from "../core/log.ts";
import { VERSION } from "../core/build-info.ts";
import { ConfigError, loadConfig } from "../config/config.ts";
import { openCell } from "../cell/cell.ts";
import { clearLeftovers } from "../cell/leftovers.ts";
import { createApp } from "../web/app.ts";
import { Fleet } from "../fleet/fleet.ts";
import { SyncService } from "../sync/sync-service.ts";
import { serve } from "../web/server.ts";
import { CliError, parse, type Command } from "./command.ts";
import { localUrl, type RuntimeInfo } from "./client.ts";
import { formatPhrase } from "./recovery-phrase.ts";
import { RelayClient } from "../relay/relay-client.ts";
import { startRelay, type Relay } from "../relay/hub.ts";
import { RelayCredit } from "../bounty/relay-credit.ts";
import { BountyLedger } from "../bounty/ledger.ts";
import { FileWatcher, watchRoots } from "../ingest/file-watcher.ts";
import { TrashCollector, collectContextOf } from "../trash/collector.ts";
import { createAssistant } from "../ai/assistant.ts";
import { fleetAccess } from "../ai/remote.ts";
import { supervise } from "../cell/supervisor.ts";
import { setRelayTransport } from "../fleet/peer-client.ts";
import { fromHex } from "../core/types.ts";
import { startUpdates } from "../update/lifecycle.ts";

const usage = `Usage: grove start [--port N] [--host H] [--auto-restart]

Run this cell in the foreground: dashboard, local API and peer API on one port.
On first run it creates GROVE_DIR (default ~/.grove) and prints the recovery phrase once.

Options:
  --port N   port to listen on (default: GROVE_PORT, else config.json "port", else 5678)
  --host H   address to listen on (default: config.json "host", else 0.0.0.0)
  --auto-restart
             run the cell under a supervisor that starts it again when it dies
             (backoff 0.5 s doubling to 30 s; gives up after 5 deaths within 10 s of starting)

Environment: GROVE_DIR, GROVE_HOME (default ~/GroveHome), GROVE_PORT.`;

function parsePort(v: string, from: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new CliError(`${from}: not a port number: ${v}`, 2);
  return Number(v);
}

/** A recovered cell (`grove recover`) rejoins the fleet through its invite before syncing. */
async function rejoinAfterRecovery(path: string, fleet: Fleet): Promise<void> {
  if (!existsSync(path)) return;
  let state: { token?: string; at?: number };
  try {
    state = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    state = {};
  }
  if (!state.token) return;
  try {
    const card = await fleet.join(state.token);
    console.log(`Recovery: rejoined the fleet through ${card.name} (${card.id.slice(0, 8)}); pulling manifests back…`);
    writeFileAtomicSync(path, JSON.stringify({ at: state.at ?? Date.now(), joined: card.id }) + "\n", 0o600);
  } catch (e) {
    console.error(`Recovery: could not rejoin through the invite: ${(e as Error).message}`);
    log("warn", "recovery: rejoin failed; known peers will still be asked", { why: (e as Error).message });
  }
}

export const start: Command = {
  name: "start",
  summary: "run this cell (dashboard + API) in the foreground",
  usage,
  async run(argv) {
    const { values } = parse(argv, { port: { type: "string" }, host: { type: "string" }, "auto-restart": { type: "boolean" } }, { min: 0, max: 0, usage });
    if (values.help) return console.log(usage), 0;
    const layout = resolveLayout();
    // Validate config before creating or touching anything.
    let config;
    try {
      config = loadConfig(layout.config).config;
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(e.message);
      throw e;
    }
    if (values["auto-restart"]) return supervise({ args: argv.filter((a) => a !== "--auto-restart") });
    const port = values.port !== undefined ? parsePort(values.port, "--port") : process.env.GROVE_PORT ? parsePort(process.env.GROVE_PORT, "GROVE_PORT") : config.port;
    const host = values.host ?? config.host;

    const { cell, newPhrase } = openCell(layout);
    clearLeftovers(layout, cell.db); // temp files of a run that was killed; nothing writes yet
    cell.assistant = createAssistant(cell); // local AI: models in GROVE_DIR/models, answered by a child process
    const listen = { host, port };
    const fleet = new Fleet(cell, listen);
    cell.assistant.attachFleet(fleetAccess(fleet)); // questions may go to friends' cells
    const app = createApp(cell, fleet);
    // A relay this cell runs (config relay_port): peers it carries for owe it, in the bounty.
    let hub: Relay | null = null;
    if (cell.config.relay_port !== null) {
      try {
        hub = startRelay({ host, port: cell.config.relay_port, operator: cell.keys });
      } catch (e) {
        cell.close();
        throw new CliError(`relay_port ${cell.config.relay_port} on ${host}: ${(e as Error).message} (is another relay running there?)`);
      }
    }
    let server;
    try {
      server = serve(app, { host, port, maxBodyBytes: Number.MAX_SAFE_INTEGER });
    } catch (e) {
      hub?.stop();
      cell.close();
      const msg = (e as Error).message;
      if (/in use|EADDRINUSE/i.test(msg + (e as { code?: string }).code)) throw new CliError(`port ${port} on ${host} is already in use (is another cell running? try --port)`);
      throw new CliError(`cannot listen on ${host}:${port}: ${msg}`);
    }
    listen.port = server.port!;
    const url = localUrl(host, server.port!);
    const rt: RuntimeInfo = { pid: process.pid, url, host, port: server.port! };
    writeFileAtomicSync(layout.runtime, JSON.stringify(rt) + "\n", 0o600);

    // Shown on the first start that comes up (a first start that failed, e.g. on a busy port,
    // has not shown it yet), then never again here.
    const shownMarker = join(layout.dir, ".phrase_shown");
    if (newPhrase || !existsSync(shownMarker)) {
      console.log(`\nA new cell was created in ${layout.dir}.`);
      console.log("Your recovery phrase (shown once here; `grove recovery-phrase` prints it again):\n");
      console.log(formatPhrase(newPhrase ?? recoveryPhrase(layout)));
      console.log("\nWrite it down and keep it offline: these 24 words restore this cell's identity and keys.\n");
      writeFileAtomicSync(shownMarker, new Date().toISOString() + "\n", 0o600);
    }
    console.log(`Grove ${VERSION}: cell "${cell.config.name}" (${cell.keys.id.slice(0, 8)}) listening on ${host}:${server.port}`);
    console.log(`Dashboard: ${url.replace("127.0.0.1", "localhost")}/   files: ${layout.home}   crypto: ${cell.suite.name}`);
    if (cell.config.mdns && process.env.GROVE_MDNS !== "0") {
      const { MdnsPresence } = await import("../net/mdns.ts"); // loaded only when used
      fleet.mdns = new MdnsPresence({ id: cell.keys.id, name: cell.config.name, port: server.port!, interfaces: cell.config.mdns_interfaces });
      void fleet.mdns.start();
    }
    // Relays: reservations on config `relays`, the transport for relay routes, calls answered by the peer API.
    const relay = new RelayClient({
      keys: cell.keys,
      suite: cell.suite,
      relays: cell.config.relays,
      accept: () => ({ ids: fleet.peers.list().map((p) => p.id), open: fleet.invites.live() > 0 }),
      peerX25519: (id) => {
        const p = fleet.peers.get(id);
        return p ? fromHex((JSON.parse(p.card) as { x25519: string }).x25519) : null;
      },
      serve: async (req) => app.fetch(req),
    });
    fleet.relay = relay;
    setRelayTransport((url, peer, req, ms, signal) => relay.call(url, peer, req, ms, signal));
    if (cell.config.relays.length) console.log(`Relays: ${cell.config.relays.join(", ")}`);
    if (hub) console.log(`Relay: serving on ${host}:${hub.server.port} (ws://HOST:${hub.server.port}/v1/relay), operated by this cell`);
    const relayCredit = (fleet.relayCredit = new RelayCredit(new BountyLedger(cell.db.db), hub, relay).start());
    await rejoinAfterRecovery(layout.recovering, fleet);
    const sync = new SyncService(fleet);
    fleet.rounds = sync;
    sync.start(cell.config.sync_interval_s);
    cell.vault.onStored = () => sync.nudge(cell.config.sync_after_change_s);
    const watcher = (cell.watcher = cell.config.watch_home || cell.config.watch_dirs.length
      ? new FileWatcher(cell.vault, {
          roots: watchRoots(layout.home, cell.config.watch_home, cell.config.watch_dirs),
          debounceMs: cell.config.watch_debounce_ms,
          maxBytes: cell.config.max_upload_bytes,
        })
      : null);
    void watcher?.start();
    // The trash collection: retention, purged versions and deleted chunks after trash_retention_s.
    const trash = new TrashCollector(collectContextOf(cell));
    trash.start();
    // After each round: deliver what waited for a peer (grants, revocations, messages).
    sync.onRound = () => {
      void fleet.sharing.retry().catch(() => {});
      void fleet.messenger.retry().catch(() => {});
    };
    const updates = startUpdates(fleet, sync); // self-update: offer our build, notice newer ones, settle a swap
    log("info", "cell started", { id: cell.keys.id.slice(0, 8), port: server.port, pid: process.pid });

    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log("info", `stopping (${sig})`);
        sync.stop();
        watcher?.stop();
        trash.stop();
        relayCredit.stop();
        hub?.stop();
        relay.stop();
        void fleet.mdns?.stop();
        server.stop(true);
        rmSync(layout.runtime, { force: true });
        cell.close();
        resolve();
      };
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    });
    return updates.handoff(0); // after a self-update: restart into the new build
  },
};
