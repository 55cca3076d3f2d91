/** @module cli/relay — `grove relay`: run a relay hub in the foreground (relay/hub). */
import { DEFAULT_LIMITS, startRelay, type RelayLimits } from "../relay/hub.ts";
import { log } from "../core/log.ts";
import { CliError, parse, type Command } from "./command.ts";

const usage = `Usage: grove relay [--port N] [--host H] [--allow ID,ID,...] [limits]

Run a relay: cells that cannot reach each other directly exchange sealed frames through it
(it reads nothing). Cells log in with a signed challenge; a frame reaches a cell only if that
cell accepts its sender (its fleet). GET /status gives counts as JSON.

This relay is anonymous and earns nothing. A cell can run one itself instead ("relay_port" in
its config.json): it then proves to every cell that it operates it, and peers it carries for
credit it in the bounty (grove bounty).

Options:
  --port N                  port (default 5680)
  --host H                  address (default 0.0.0.0)
  --allow ID,ID,...         only these cell ids may log in (default: any cell)
  --capture FILE            append every frame passed on to FILE (what an operator sees;
                            for audits and tests: the payloads are sealed end to end)
Limits (each refused with a clear reason; the relay stays up):
  --max-reservations N      logged-in connections in total (default ${DEFAULT_LIMITS.max_reservations})
  --max-per-cell N          connections per cell (default ${DEFAULT_LIMITS.max_per_cell})
  --max-per-ip N            connections per IP address (default ${DEFAULT_LIMITS.max_per_ip})
  --max-frame-bytes N       largest frame payload (default ${DEFAULT_LIMITS.max_frame_bytes}: a chunk and its envelope)
  --circuit-bytes N         bytes one cell may send another per window (default ${DEFAULT_LIMITS.circuit_bytes})
  --circuit-seconds N       the window (default ${DEFAULT_LIMITS.circuit_seconds})
  --frames-per-second N     per connection, bursts of twice that (default ${DEFAULT_LIMITS.frames_per_second})`;

const LIMIT_FLAGS: Record<string, keyof RelayLimits> = {
  "max-reservations": "max_reservations",
  "max-per-cell": "max_per_cell",
  "max-per-ip": "max_per_ip",
  "max-frame-bytes": "max_frame_bytes",
  "circuit-bytes": "circuit_bytes",
  "circuit-seconds": "circuit_seconds",
  "frames-per-second": "frames_per_second",
};

function positiveInt(v: string, flag: string, min = 1): number {
  if (!/^\d{1,15}$/.test(v) || Number(v) < min) throw new CliError(`--${flag}: expected a whole number >= ${min}, got ${v}`, 2);
  return Number(v);
}

export const relay: Command = {
  name: "relay",
  summary: "run a relay hub for cells behind NAT",
  usage,
  async run(argv) {
    const options = { port: { type: "string" }, host: { type: "string" }, allow: { type: "string" }, capture: { type: "string" } } as Record<string, { type: "string" }>;
    for (const f of Object.keys(LIMIT_FLAGS)) options[f] = { type: "string" };
    const { values } = parse(argv, options, { min: 0, max: 0, usage });
    if (values.help) return console.log(usage), 0;
    const v = values as Record<string, string | undefined>;
    const port = v.port !== undefined ? positiveInt(v.port, "port", 0) : 5680;
    if (port > 65535) throw new CliError(`--port: not a port number: ${port}`, 2);
    const host = v.host ?? "0.0.0.0";
    const limits: Partial<RelayLimits> = {};
    for (const [flag, key] of Object.entries(LIMIT_FLAGS)) if (v[flag] !== undefined) limits[key] = positiveInt(v[flag]!, flag);
    let allow: Set<string> | null = null;
    if (v.allow !== undefined) {
      const ids = v.allow.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
      for (const id of ids) if (!/^[0-9a-f]{64}$/.test(id)) throw new CliError(`--allow: not a cell id (64 hex characters): ${id}`, 2);
      allow = new Set(ids);
    }
    let r;
    try {
      r = startRelay({ host, port, limits, allow, capture: v.capture ?? null });
    } catch (e) {
      const msg = (e as Error).message;
      if (/in use|EADDRINUSE/i.test(msg + (e as { code?: string }).code)) throw new CliError(`port ${port} on ${host} is already in use (try --port)`);
      throw new CliError(`cannot listen on ${host}:${port}: ${msg}`);
    }
    console.log(`Grove relay listening on ${host}:${r.server.port} (cells: ws://HOST:${r.server.port}/v1/relay; counts: /status)${allow ? `, ${allow.size} cells allowed` : ""}`);
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log("info", `relay stopping (${sig})`);
        r.stop();
        resolve();
      };
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    });
    return 0;
  },
};
