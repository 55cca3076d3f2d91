/** @module cli/relay — `grove relay`: run a relay hub in the foreground (relay/hub), for the cells its operator allows (relay/access). */
import { existsSync, statSync } from "node:fs";
import { DEFAULT_LIMITS, OPEN_LIMITS, startRelay, type RelayLimits } from "../relay/hub.ts";
import { allowListed, cellIdOf, newAccessToken, readList, setOf, tokenOf, watchedList, type Access } from "../relay/access.ts";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { log } from "../core/log.ts";
import { CliError, parse, type Command } from "./command.ts";

const MiB = 1024 ** 2;
const limit = (k: keyof RelayLimits, unit = "") =>
  DEFAULT_LIMITS[k] === OPEN_LIMITS[k]
    ? `default ${DEFAULT_LIMITS[k]}${unit}`
    : `default ${DEFAULT_LIMITS[k]}${unit}, with --open ${OPEN_LIMITS[k]}${unit}`;

const usage = `Usage: grove relay (--allow ID | --allow-file FILE | --token-file FILE | --open) [--port N] [--host H] [limits]

Run a relay: cells that cannot reach each other directly exchange sealed frames through it
(it reads nothing). Cells log in with a signed challenge; a frame reaches a cell only if that
cell accepts its sender (its fleet). GET /status gives counts as JSON (never cell ids).

A relay serves only the cells you allow. Say who, with one or more of:
  --allow ID[,ID...]        this cell may use the relay (repeat the flag for more cells)
  --allow-file FILE         cell ids, one a line (# comments); read again when it changes
  --token-file FILE         access tokens, one a line (read again when it changes); a missing
                            FILE is made with a new token. A cell that has one adds it to the
                            relay's URL in its config.json:
                              "relays": ["wss://HOST:PORT?token=TOKEN"]
                            The cell proves it holds the token at each login; the token itself
                            never travels, and never leaves that config (not in cards or invites).
or
  --open                    anyone may use it, under stricter limits (see below); not advised
A cell not allowed may still log in while a cell it is joining (by invite) is on the relay with
that invite live: it then exchanges small frames (64 KiB) with the allowed cells it names only.

This relay is anonymous and earns nothing. A cell can run one itself instead ("relay_port" in
its config.json): it then serves that cell and its peers, proves to every cell that it operates
it, and peers it carries for credit it in the bounty (grove bounty).

Options:
  --port N                  port (default 5680)
  --host H                  address (default 0.0.0.0)
  --capture FILE            append every frame passed on to FILE (what an operator sees;
                            for audits and tests: the payloads are sealed end to end)
Limits (each refused with a clear reason; the relay stays up):
  --max-reservations N      logged-in connections in total (${limit("max_reservations")})
  --max-per-cell N          connections per cell (${limit("max_per_cell")})
  --max-per-ip N            connections per IP address (${limit("max_per_ip")})
  --max-guests N            cells not allowed, logged in to pair (${limit("max_guests")})
  --max-frame-bytes N       largest frame payload (${limit("max_frame_bytes")}: a chunk and its envelope)
  --circuit-bytes N         bytes one cell may send another per window (default ${DEFAULT_LIMITS.circuit_bytes / 1024 ** 3} GiB, with --open ${OPEN_LIMITS.circuit_bytes / MiB} MiB)
  --circuit-seconds N       the window (${limit("circuit_seconds")})
  --frames-per-second N     per connection, bursts of twice that (${limit("frames_per_second")})
  --accepts-per-minute N    accept-list updates per connection, bursts of 10 (${limit("accepts_per_minute")})`;

const LIMIT_FLAGS: Record<string, keyof RelayLimits> = {
  "max-reservations": "max_reservations",
  "max-per-cell": "max_per_cell",
  "max-per-ip": "max_per_ip",
  "max-guests": "max_guests",
  "max-frame-bytes": "max_frame_bytes",
  "circuit-bytes": "circuit_bytes",
  "circuit-seconds": "circuit_seconds",
  "frames-per-second": "frames_per_second",
  "accepts-per-minute": "accepts_per_minute",
};

const NO_ACCESS = `say who may use this relay: --allow CELL_ID (repeatable), --allow-file FILE, --token-file FILE,
or --open for anyone (stricter limits; not advised). See grove relay --help.`;

function positiveInt(v: string, flag: string, min = 1): number {
  if (!/^\d{1,15}$/.test(v) || Number(v) < min) throw new CliError(`--${flag}: expected a whole number >= ${min}, got ${v}`, 2);
  return Number(v);
}

/** A list file read at start: its entries, or a CliError naming what is wrong. */
function listFile(path: string, flag: string, parse: (t: string) => string | null, what: string): string[] {
  let r;
  try {
    r = readList(path, parse);
  } catch (e) {
    throw new CliError(`--${flag}: cannot read ${path}: ${(e as Error).message}`, 2);
  }
  if (r.bad.length)
    throw new CliError(
      `--${flag}: ${path}: line${r.bad.length > 1 ? "s" : ""} ${r.bad.join(", ")} ${r.bad.length > 1 ? "are" : "is"} not ${what}`,
      2,
    );
  return r.values;
}

/** The token file: made with a new token when missing; refused when it holds none. */
function tokenFile(path: string): string[] {
  if (!existsSync(path)) {
    try {
      writeFileAtomicSync(
        path,
        `# Access tokens of this grove relay, one a line. A cell adds one to the relay URL in its config:\n#   "relays": ["wss://HOST:PORT?token=TOKEN"]\n${newAccessToken()}\n`,
        0o600,
      );
    } catch (e) {
      throw new CliError(`--token-file: cannot make ${path}: ${(e as Error).message}`, 2);
    }
    console.log(
      `Made ${path} with a new access token. Cells that may use this relay add it to the relay's URL in their config.json: "relays": ["ws://HOST:PORT?token=TOKEN"].`,
    );
  } else if ((statSync(path).mode & 0o077) !== 0) {
    console.warn(`Warning: ${path} can be read by other users of this machine (chmod 600 it).`);
  }
  const tokens = listFile(path, "token-file", tokenOf, "an access token (22 to 128 letters, digits, - or _)");
  if (!tokens.length) throw new CliError(`--token-file: ${path} holds no access token (a line of 22 to 128 letters, digits, - or _)`, 2);
  return tokens;
}

export const relay: Command = {
  name: "relay",
  summary: "run a relay hub for cells behind NAT (for the cells you allow)",
  usage,
  async run(argv) {
    const options = {
      port: { type: "string" },
      host: { type: "string" },
      allow: { type: "string", multiple: true },
      "allow-file": { type: "string" },
      "token-file": { type: "string" },
      open: { type: "boolean" },
      capture: { type: "string" },
    } as Record<string, { type: "string" | "boolean"; multiple?: boolean }>;
    for (const f of Object.keys(LIMIT_FLAGS)) options[f] = { type: "string" };
    const { values } = parse(argv, options, { min: 0, max: 0, usage });
    const v = values as Record<string, string | undefined>;
    const allowFlags = (values as { allow?: string[] }).allow ?? [];
    const open = (values as { open?: boolean }).open === true;
    const port = v.port !== undefined ? positiveInt(v.port, "port", 0) : 5680;
    if (port > 65535) throw new CliError(`--port: not a port number: ${port}`, 2);
    const host = v.host ?? "0.0.0.0";
    const limits: Partial<RelayLimits> = {};
    for (const [flag, key] of Object.entries(LIMIT_FLAGS)) if (v[flag] !== undefined) limits[key] = positiveInt(v[flag]!, flag);

    const listed = allowFlags.length > 0 || v["allow-file"] !== undefined || v["token-file"] !== undefined;
    if (open && listed) throw new CliError("--open lets any cell in: leave out --allow, --allow-file and --token-file (or --open)", 2);
    if (!open && !listed) throw new CliError(NO_ACCESS, 2);
    let access: Access = "anyone";
    const said: string[] = [];
    if (!open) {
      const ids = new Set<string>();
      for (const id of allowFlags
        .flatMap((a) => a.split(","))
        .map((s) => s.trim())
        .filter(Boolean)) {
        const c = cellIdOf(id);
        if (!c) throw new CliError(`--allow: not a cell id (64 hex characters): ${id}`, 2);
        ids.add(c);
      }
      const idSets: (() => ReadonlySet<string>)[] = [() => ids];
      if (ids.size) said.push(`${ids.size} cell${ids.size > 1 ? "s" : ""} named by --allow`);
      const file = v["allow-file"];
      if (file !== undefined) {
        const first = listFile(file, "allow-file", cellIdOf, "a cell id (64 hex characters)");
        if (!first.length) console.warn(`Warning: ${file} lists no cell yet: none of it may use the relay until one is added.`);
        idSets.push(setOf(watchedList(file, cellIdOf, first, "cell ids")));
        said.push(`cells in ${file} (${first.length} now)`);
      }
      let tokens: () => readonly string[] = () => [];
      const tf = v["token-file"];
      if (tf !== undefined) {
        const first = tokenFile(tf);
        tokens = watchedList(tf, tokenOf, first, "access tokens");
        said.push(`holders of the token${first.length > 1 ? "s" : ""} in ${tf}`);
      }
      access = allowListed(idSets, tokens);
    } else {
      const l = { ...OPEN_LIMITS, ...limits };
      console.warn(
        `Warning: this relay is open: any cell may use it, and strangers can pass their traffic through it (${l.circuit_bytes} bytes per ${l.circuit_seconds} s per pair of cells, ${l.max_reservations} reservations, ${l.max_per_ip} per IP, ${l.frames_per_second} frames/s). Prefer --allow or --token-file.`,
      );
    }
    let r;
    try {
      r = startRelay({ host, port, limits, allow: access, capture: v.capture ?? null });
    } catch (e) {
      const msg = (e as Error).message;
      if (/in use|EADDRINUSE/i.test(msg + (e as { code?: string }).code))
        throw new CliError(`port ${port} on ${host} is already in use (try --port)`);
      throw new CliError(`cannot listen on ${host}:${port}: ${msg}`);
    }
    console.log(
      `Grove relay listening on ${host}:${r.server.port} (cells: ws://HOST:${r.server.port}/v1/relay; counts: /status); ${open ? "open to any cell" : `serving ${said.join(", ")}`}`,
    );
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
