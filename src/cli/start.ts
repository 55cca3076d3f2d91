/** @module cli/start — `grove start`: run a cell in the foreground (dashboard, local API, peer API). */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { isInitialised, recoveryPhrase } from "../cell/state-dir.ts";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { resolveLayout } from "../core/layout.ts";
import { log } from "../core/log.ts";
import { VERSION } from "../core/build-info.ts";
import { ConfigError, loadConfig } from "../config/config.ts";
import { openCell } from "../cell/cell.ts";
import { clearLeftovers } from "../cell/leftovers.ts";
import { createApp, createPeerApp } from "../web/app.ts";
import { Listeners } from "../web/listeners.ts";
import { LegacyWindow } from "../web/legacy-window.ts";
import { dashboardTls, type TlsFiles } from "../web/tls.ts";
import { SetupCode } from "../web/setup-code.ts";
import { PasswordFile } from "../web/password.ts";
import { MAX_PEER_REQUEST, peerApi } from "../web/peer-api.ts";
import { migrateConfigFile } from "../config/migrate.ts";
import { isLoopbackHost } from "../net/loopback.ts";
import { normalizeRelayUrl } from "../net/route-class.ts";
import { displayName } from "../core/unsafe-text.ts";
import { errorMessage } from "../core/errors.ts";
import type { Layout } from "../core/layout.ts";
import { Fleet } from "../fleet/fleet.ts";
import { SyncService } from "../sync/sync-service.ts";
import { CliError, parse, type Command } from "./command.ts";
import { localUrl, type RuntimeInfo } from "./client.ts";
import { formatPhrase, phraseShownMarker } from "./recovery-phrase.ts";
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
import { fromHex, type CellId } from "../core/types.ts";
import { startUpdates } from "../update/lifecycle.ts";

const usage = `Usage: grove start [--port N] [--host H] [--peer-port N] [--peer-host H] [--auto-restart]

Run this cell in the foreground. Two listeners:
  dashboard and local API   --host:--port            (default 127.0.0.1:5678, this machine only)
  peer API (other cells)    --peer-host:--peer-port  (default 0.0.0.0:5679, every interface)
On first run it creates GROVE_DIR (default ~/.grove), shows the recovery phrase once on a
terminal, and prints a one-time setup code for the dashboard's first password (or set the
password with \`grove password\`).

Options:
  --port N        dashboard port (default: GROVE_PORT, else config.json "port", else 5678)
  --host H        dashboard address (default: config.json "host", else 127.0.0.1). Anything but
                  loopback needs a dashboard password, and TLS or a warning at every start
  --peer-port N   peer API port (default: GROVE_PEER_PORT, else "peer_port", else 5679)
  --peer-host H   peer API address (default: "peer_host", else 0.0.0.0)
  --auto-restart  run the cell under a supervisor that starts it again when it dies
                  (backoff 0.5 s doubling to 30 s; gives up after 5 deaths within 10 s of starting)

Environment: GROVE_DIR, GROVE_HOME (default ~/GroveHome), GROVE_PORT, GROVE_PEER_PORT.`;

/**
 * The 24 words, once: on a terminal only. A first start run as a service would put them in the
 * system log, so there the cell says where to get them instead (and says it at every start until
 * they were shown).
 */
function showRecoveryPhrase(layout: Layout, newPhrase: string | null): void {
  const shownMarker = phraseShownMarker(layout);
  if (!newPhrase && existsSync(shownMarker)) return;
  if (newPhrase) console.log(`\nA new cell was created in ${layout.dir}.`);
  if (!process.stdout.isTTY) {
    console.log("Its recovery phrase is not printed here (this output is not a terminal and may be logged): run `grove recovery-phrase` in a terminal and write the 24 words down.\n");
    return; // said again at each start until the words were shown
  }
  console.log("Your recovery phrase (shown once here; `grove recovery-phrase` prints it again):\n");
  console.log(formatPhrase(newPhrase ?? recoveryPhrase(layout)));
  console.log("\nWrite it down and keep it offline: these 24 words restore this cell's identity and keys.\n");
  writeFileAtomicSync(shownMarker, new Date().toISOString() + "\n", 0o600);
}

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
    const { values } = parse(
      argv,
      { port: { type: "string" }, host: { type: "string" }, "peer-port": { type: "string" }, "peer-host": { type: "string" }, "auto-restart": { type: "boolean" } },
      { min: 0, max: 0, usage },
    );
    if (values.help) return console.log(usage), 0;
    const layout = resolveLayout();
    const portFlag = values.port !== undefined ? parsePort(values.port, "--port") : process.env.GROVE_PORT ? parsePort(process.env.GROVE_PORT, "GROVE_PORT") : undefined;
    // Validate config before creating or touching anything (a bad file is left as it is).
    const readConfig = () => {
      try {
        return loadConfig(layout.config).config;
      } catch (e) {
        if (e instanceof ConfigError) throw new CliError(e.message);
        throw e;
      }
    };
    let config = readConfig();
    if (values["auto-restart"]) return supervise({ args: argv.filter((a) => a !== "--auto-restart") });
    // A config.json an older build wrote (one listener) is upgraded (config/migrate).
    const migration = migrateConfigFile(layout.config, {
      hasIdentity: isInitialised(layout),
      effectivePort: (raw) => portFlag ?? (typeof raw.port === "number" ? raw.port : 5678),
    });
    if (migration) {
      if (migration.legacyHost && !existsSync(layout.legacyWindow)) LegacyWindow.open(layout.legacyWindow, migration.legacyHost);
      config = readConfig();
    }
    const port = portFlag ?? config.port;
    const host = values.host ?? config.host;
    const peerPort =
      values["peer-port"] !== undefined ? parsePort(values["peer-port"], "--peer-port") : process.env.GROVE_PEER_PORT ? parsePort(process.env.GROVE_PEER_PORT, "GROVE_PEER_PORT") : config.peer_port;
    const peerHost = values["peer-host"] ?? config.peer_host;
    const password = new PasswordFile(layout.dashboardAuth);
    const publicDashboard = !isLoopbackHost(host);
    if (publicDashboard && !password.isSet()) {
      throw new CliError(`the dashboard on ${host} would be reachable from other machines before it has a password: set one first with \`grove password\`, or keep "host" on 127.0.0.1`);
    }
    let tls: TlsFiles | null;
    try {
      tls = await dashboardTls(config, layout.tlsDir);
    } catch (e) {
      throw new CliError(errorMessage(e));
    }
    if (migration) {
      console.log(`config.json upgraded from version ${migration.from} to ${migration.to} (the old file is config.json.v1):`);
      for (const n of migration.notes) console.log(`  - ${n}`);
      log("info", "config.json upgraded", { from: migration.from, to: migration.to, notes: migration.notes.join("; ") });
    }

    const { cell, newPhrase } = openCell(layout);
    clearLeftovers(layout, cell.db); // temp files of a run that was killed; nothing writes yet
    cell.assistant = createAssistant(cell); // local AI: models in GROVE_DIR/models, answered by a child process
    const listen = { host: peerHost, port: peerPort }; // what the card advertises: the peer API
    const fleet = new Fleet(cell, listen);
    cell.assistant.attachFleet(fleetAccess(fleet)); // questions may go to friends' cells

    // Peers that still know this cell at its pre-split address (web/legacy-window).
    let listeners: Listeners | null = null;
    const legacy = LegacyWindow.load(layout.legacyWindow);
    const peerIds = () => fleet.peers.list().map((p) => p.id);
    const checkLegacy = () => {
      const w = listeners?.legacyWindow;
      if (w && w.waitingFor(peerIds()) === 0) listeners!.closeLegacy();
    };
    const onPeer = (peer: CellId, via: string | undefined) => {
      if (via === "peer" && listeners?.legacyWindow?.reached(peer)) checkLegacy();
    };
    const listening = () => listeners?.info(listeners.legacyWindow?.waitingFor(peerIds()) ?? 0) ?? null;
    const peerRoutes = peerApi(fleet, { onPeer });
    const app = createApp(cell, fleet, { listening, peerRoutes });
    const peerApp = createPeerApp(fleet, peerRoutes, () => listeners?.info().dashboard.url.replace("127.0.0.1", "localhost") ?? "");
    // A relay this cell runs (config relay_port): peers it carries for owe it, in the bounty.
    let hub: Relay | null = null;
    if (cell.config.relay_port !== null) {
      try {
        hub = startRelay({
          host: peerHost,
          port: cell.config.relay_port,
          operator: cell.keys,
          // It serves this cell's fleet: the cell and its peers, asked at each login and again later
          // (a cell joining through a live invite gets in as a guest: relay/hub).
          allow: (id) => id === cell.keys.id || fleet.peers.list().some((p) => p.id === id),
        });
      } catch (e) {
        cell.close();
        throw new CliError(`relay_port ${cell.config.relay_port} on ${peerHost}: ${(e as Error).message} (is another relay running there?)`);
      }
    }
    // The first-run code exists before the dashboard takes its first request.
    const setupCode = password.isSet() ? null : new SetupCode(layout.setupCode).ensure();
    try {
      listeners = new Listeners(
        {
          dashboard: { host, port, tls, maxBodyBytes: cell.config.max_upload_bytes + 1024 * 1024 },
          peer: { host: peerHost, port: peerPort, maxBodyBytes: MAX_PEER_REQUEST },
          legacy,
        },
        { dashboard: app, peer: peerApp },
      ).start();
    } catch (e) {
      hub?.stop();
      cell.close();
      throw new CliError(errorMessage(e));
    }
    const info = listeners.info();
    listen.port = info.peer.port;
    const url = localUrl(host, info.dashboard.port).replace("http:", tls ? "https:" : "http:");
    const rt: RuntimeInfo = { pid: process.pid, url, host, port: info.dashboard.port, peer_url: info.peer.url, tls_fingerprint: tls?.fingerprint ?? null };
    writeFileAtomicSync(layout.runtime, JSON.stringify(rt) + "\n", 0o600);
    checkLegacy(); // no peers at all (or all already moved): nothing to wait for

    showRecoveryPhrase(layout, newPhrase);
    console.log(`Grove ${VERSION}: cell "${displayName(cell.config.name)}" (${cell.keys.id.slice(0, 8)}) listening on ${host}:${info.dashboard.port} (dashboard) and ${peerHost}:${info.peer.port} (peers)`);
    console.log(`Dashboard: ${url.replace("127.0.0.1", "localhost")}/   files: ${layout.home}   crypto: ${cell.suite.name}`);
    if (listeners.legacyWindow) {
      console.log(`Previous address: port ${info.dashboard.port} on ${listeners.legacyWindow.host} still answers peers (only peers) until ${listeners.legacyWindow.waitingFor(peerIds())} more have reached port ${info.peer.port}`);
    }
    if (publicDashboard) {
      if (tls) console.log(`Dashboard TLS: ${tls.selfSigned ? "self-signed certificate" : "certificate from config"}, SHA-256 ${tls.fingerprint}`);
      else {
        const warning = `WARNING: the dashboard listens on ${host} over plain HTTP: anyone on the network path can read its password and files. Set "tls_self_signed": true (or tls_cert/tls_key) in config.json, or "host": "127.0.0.1".`;
        console.error(warning);
        log("warn", warning);
      }
    }
    if (setupCode) {
      const code = setupCode;
      console.log(`First-run setup code: ${code}  (open the dashboard to choose a password; the code is also in ${layout.setupCode}; or run \`grove password\`)`);
    }
    if (cell.config.mdns && process.env.GROVE_MDNS !== "0") {
      const { MdnsPresence } = await import("../net/mdns.ts"); // loaded only when used
      fleet.mdns = new MdnsPresence({ id: cell.keys.id, name: cell.config.name, port: info.peer.port, interfaces: cell.config.mdns_interfaces });
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
      serve: async (req) => peerApp.fetch(req), // the peer API alone, never the dashboard
    });
    fleet.relay = relay;
    setRelayTransport((url, peer, req, ms, signal) => relay.call(url, peer, req, ms, signal));
    if (cell.config.relays.length) console.log(`Relays: ${cell.config.relays.map((r) => normalizeRelayUrl(r)).join(", ")}`);
    if (hub) console.log(`Relay: serving on ${peerHost}:${hub.server.port} (ws://HOST:${hub.server.port}/v1/relay), operated by this cell`);
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
    const legacyTimer = setInterval(checkLegacy, 60_000); // a peer removed may have been the last one waited for
    log("info", "cell started", { id: cell.keys.id.slice(0, 8), port: info.dashboard.port, peer_port: info.peer.port, pid: process.pid });

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
        clearInterval(legacyTimer);
        listeners!.stop();
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
