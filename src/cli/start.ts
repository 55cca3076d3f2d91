/**
 * @module cli/start — `grove start`: parse the arguments, upgrade an old config.json, open and start
 * the cell's runtime (runtime/runtime), print where it listens, and stop it on SIGINT/SIGTERM.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { resolveLayout, type Layout } from "../core/layout.ts";
import { log } from "../core/log.ts";
import { VERSION } from "../core/build-info.ts";
import { errorMessage } from "../core/errors.ts";
import { displayName } from "../core/unsafe-text.ts";
import { isLoopbackHost } from "../net/loopback.ts";
import { normalizeRelayUrl } from "../net/route-class.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { TlsFiles } from "../web/tls.ts";
import { PasswordFile } from "../web/password.ts";
import type { ListenInfo } from "../api/types.ts";
import { CliError, parse, type Command } from "./command.ts";
import type { RuntimeInfo } from "./client.ts";
import { formatPhrase, phraseShownMarker } from "./recovery-phrase.ts";
import { shortId } from "../core/format.ts";

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
function showRecoveryPhrase(layout: Layout, newPhrase: string | null, phraseOf: (layout: Layout) => string): void {
  const shownMarker = phraseShownMarker(layout);
  if (!newPhrase && existsSync(shownMarker)) return;
  if (newPhrase) console.log(`\nA new cell was created in ${layout.dir}.`);
  if (!process.stdout.isTTY) {
    console.log(
      "Its recovery phrase is not printed here (this output is not a terminal and may be logged): run `grove recovery-phrase` in a terminal and write the 24 words down.\n",
    );
    return; // said again at each start until the words were shown
  }
  console.log("Your recovery phrase (shown once here; `grove recovery-phrase` prints it again):\n");
  console.log(formatPhrase(newPhrase ?? phraseOf(layout)));
  console.log("\nWrite it down and keep it offline: these 24 words restore this cell's identity and keys.\n");
  writeFileAtomicSync(shownMarker, new Date().toISOString() + "\n", 0o600);
}

function parsePort(v: string, from: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new CliError(`${from}: not a port number: ${v}`, 2);
  return Number(v);
}

export const start: Command = {
  name: "start",
  summary: "run this cell (dashboard + API) in the foreground",
  usage,
  async run(argv) {
    const { values } = parse(
      argv,
      {
        port: { type: "string" },
        host: { type: "string" },
        "peer-port": { type: "string" },
        "peer-host": { type: "string" },
        "auto-restart": { type: "boolean" },
      },
      { min: 0, max: 0, usage },
    );
    // Loaded here, not at the top: every other command imports this module (src/cli.ts), and these
    // (keys, config schema) are a good part of a CLI call's start-up.
    const [{ isInitialised, recoveryPhrase }, { ConfigError, loadConfig }, { migrateConfigFile }, { LegacyWindow }] = await Promise.all([
      import("../cell/state-dir.ts"),
      import("../config/config.ts"),
      import("../config/migrate.ts"),
      import("../web/legacy-window.ts"),
    ]);
    const layout = resolveLayout();
    const portFlag =
      values.port !== undefined
        ? parsePort(values.port, "--port")
        : process.env.GROVE_PORT
          ? parsePort(process.env.GROVE_PORT, "GROVE_PORT")
          : undefined;
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
    if (values["auto-restart"])
      return (await import("../runtime/supervisor.ts")).supervise({ args: argv.filter((a) => a !== "--auto-restart") });
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
      values["peer-port"] !== undefined
        ? parsePort(values["peer-port"], "--peer-port")
        : process.env.GROVE_PEER_PORT
          ? parsePort(process.env.GROVE_PEER_PORT, "GROVE_PEER_PORT")
          : config.peer_port;
    const peerHost = values["peer-host"] ?? config.peer_host;
    const password = new PasswordFile(layout.dashboardAuth);
    const publicDashboard = !isLoopbackHost(host);
    if (publicDashboard && !password.isSet()) {
      throw new CliError(
        `the dashboard on ${host} would be reachable from other machines before it has a password: set one first with \`grove password\`, or keep "host" on 127.0.0.1`,
      );
    }
    let tls: TlsFiles | null;
    try {
      tls = await (await import("../web/tls.ts")).dashboardTls(config, layout.tlsDir);
    } catch (e) {
      throw new CliError(errorMessage(e));
    }
    if (migration) {
      console.log(`config.json upgraded from version ${migration.from} to ${migration.to} (the old file is config.json.v1):`);
      for (const n of migration.notes) console.log(`  - ${n}`);
      log("info", "config.json upgraded", { from: migration.from, to: migration.to, notes: migration.notes.join("; ") });
    }

    let runtime: Runtime;
    let info: ListenInfo;
    try {
      // Loaded here, not at the top: every other command (`grove id`, `grove sync`…) imports this
      // module for its usage text, and the runtime is most of the program.
      const { openRuntime } = await import("../runtime/runtime.ts");
      runtime = openRuntime({ layout, listen: { host, port, peerHost, peerPort }, tls });
      info = await runtime.start();
    } catch (e) {
      throw new CliError(errorMessage(e));
    }
    const { cell } = runtime;
    const url = info.dashboard.url;
    const rt: RuntimeInfo = {
      pid: process.pid,
      url,
      host,
      port: info.dashboard.port,
      peer_url: info.peer.url,
      tls_fingerprint: tls?.fingerprint ?? null,
    };
    writeFileAtomicSync(layout.runtime, JSON.stringify(rt) + "\n", 0o600);

    showRecoveryPhrase(layout, runtime.newPhrase, recoveryPhrase);
    if (runtime.newName)
      console.log(
        `This cell is named "${displayName(runtime.newName)}": to change it, set "name" in ${layout.config} and restart the cell.`,
      );
    console.log(
      `Grove ${VERSION}: cell "${displayName(cell.config.name)}" (${shortId(cell.keys.id)}) listening on ${host}:${info.dashboard.port} (dashboard) and ${peerHost}:${info.peer.port} (peers)`,
    );
    console.log(`Dashboard: ${url.replace("127.0.0.1", "localhost")}/   files: ${layout.home}   crypto: ${cell.suite.name}`);
    const legacy = runtime.legacy();
    if (legacy)
      console.log(
        `Previous address: port ${info.dashboard.port} on ${legacy.host} still answers peers (only peers) until ${legacy.waiting} more have reached port ${info.peer.port}`,
      );
    if (publicDashboard) {
      if (tls)
        console.log(`Dashboard TLS: ${tls.selfSigned ? "self-signed certificate" : "certificate from config"}, SHA-256 ${tls.fingerprint}`);
      else {
        const warning = `WARNING: the dashboard listens on ${host} over plain HTTP: anyone on the network path can read its password and files. Set "tls_self_signed": true (or tls_cert/tls_key) in config.json, or "host": "127.0.0.1".`;
        console.error(warning);
        log("warn", warning);
      }
    }
    if (runtime.setupCode)
      console.log(
        `First-run setup code: ${runtime.setupCode}  (open the dashboard to choose a password; the code is also in ${layout.setupCode}; or run \`grove password\`)`,
      );
    if (cell.config.relays.length) console.log(`Relays: ${cell.config.relays.map((r) => normalizeRelayUrl(r)).join(", ")}`);
    if (runtime.hub)
      console.log(
        `Relay: serving on ${peerHost}:${runtime.hub.server.port} (ws://HOST:${runtime.hub.server.port}/v1/relay), operated by this cell`,
      );
    log("info", "cell started", { id: shortId(cell.keys.id), port: info.dashboard.port, peer_port: info.peer.port, pid: process.pid });

    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log("info", `stopping (${sig})`);
        runtime.stop();
        resolve();
      };
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    });
    return runtime.handoff(0); // after a self-update: restart into the new build
  },
};
