/** @module config/config — config.json: schema (zod), defaults, and a one-line error naming a bad key. */
import { sha256Hex } from "../core/sha256.ts";
import { existsSync, readFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { normalizeRelayUrl } from "../net/route-class.ts";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { displayName, isSafeName, replaceUnsafe, unsafeNameProblem } from "../core/unsafe-text.ts";
import { plainIssue } from "../core/plain-issue.ts";

const url = z.string().url();

/** The config.json layout this build writes (see config_version). */
export const CONFIG_VERSION = 2;
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PEER_PORT = 5679;
const seconds = z.number().int().positive();

/** Every key of config.json with its default. Missing keys take the default; the file may hold only some. */
export const ConfigSchema = z.object({
  /** Ed25519 public keys (hex) whose signed builds this cell accepts as updates (update/release-sig). */
  trusted_release_keys: z
    .array(z.string().regex(/^[0-9a-fA-F]{64}$/, "must be a 64-hex Ed25519 public key (grove release keygen)"))
    .max(16)
    .default([]),
  /** Install a newer trusted build from a peer on its own (else the dashboard and `grove update` offer it). */
  auto_update: z.boolean().default(false),
  /** Shown to peers and in the dashboard: no control, bidi or invisible characters (peers refuse a card with one). */
  name: z
    .string()
    .min(1)
    .max(64)
    .refine(isSafeName, { error: (issue) => unsafeNameProblem(String(issue.input)) ?? "must not contain control characters" })
    .default(() => hostName()),
  /** Layout of this file: 2 since the dashboard and the peer API listen apart (config/migrate upgrades a file without it). */
  config_version: z.number().int().min(1).max(CONFIG_VERSION).default(CONFIG_VERSION),
  /**
   * Address the dashboard and local API listen on (overridden by --host). Anything but loopback
   * serves the dashboard beyond this machine: the cell then needs a dashboard password, and uses
   * TLS (tls_cert/tls_key or tls_self_signed) or prints a warning at every start.
   */
  host: z.string().min(1).default(DEFAULT_HOST),
  /** Port of the dashboard and local API (overridden by --port / GROVE_PORT). */
  port: z.number().int().min(0).max(65535).default(5678),
  /** Address the peer API (what other cells call) listens on (overridden by --peer-host). */
  peer_host: z.string().min(1).default("0.0.0.0"),
  /** Port of the peer API, advertised in this cell's card (overridden by --peer-port / GROVE_PEER_PORT). */
  peer_port: z.number().int().min(0).max(65535).default(DEFAULT_PEER_PORT),
  /** More host names the dashboard answers to (besides localhost, 127.0.0.1, [::1] and this machine's addresses); any other Host header is refused. */
  dashboard_names: z
    .array(
      z
        .string()
        .regex(
          /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$/,
          "must be a host name",
        ),
    )
    .max(16)
    .default([]),
  /** TLS for the dashboard: a PEM certificate and key (absolute paths), both or neither. */
  tls_cert: z.string().startsWith("/", "must be an absolute path").nullable().default(null),
  tls_key: z.string().startsWith("/", "must be an absolute path").nullable().default(null),
  /** TLS for the dashboard with a certificate this cell makes itself (GROVE_DIR/tls/); its SHA-256 fingerprint is printed at start. */
  tls_self_signed: z.boolean().default(false),
  /** Desired copies of each chunk in the fleet, counting this cell. */
  replication_factor: z.number().int().min(1).max(16).default(2),
  sync_interval_s: seconds.default(300),
  /** A sync round this long after a file is stored (later stores push it back); 0 = only on the interval. */
  sync_after_change_s: z.number().int().min(0).max(86400).default(5),
  /** Push each chunk a put stores to peers at once (sync/eager-push), not only in the next round. */
  push_on_store: z.boolean().default(true),
  /** A peer not heard from for this long no longer counts as holding copies (healing). */
  peer_lost_after_s: seconds.default(86400),
  /** Bytes this cell keeps for other cells at most (their chunks and manifest backups). */
  max_peer_storage_bytes: z
    .number()
    .int()
    .min(0)
    .default(50 * 1024 ** 3),
  /** Bounty: how far below zero a peer's balance here (what it keeps for us − what we keep for it) may go before its new chunks are refused (402). */
  bounty_allowance_bytes: z
    .number()
    .int()
    .min(0)
    .default(50 * 1024 ** 3),
  /** Bounty: favorites are never refused for their balance. */
  bounty_exempt_favorites: z.boolean().default(true),
  /** Bounty: friends are never refused for their balance. */
  bounty_exempt_friends: z.boolean().default(true),
  /** Versions older than this (never a file's current one) are purged automatically; 0 = keep every version. */
  version_retention_s: z.number().int().min(0).default(0),
  /** Purged versions and deleted chunks (ours, and those an owner asked us to delete) wait this long in the trash before they are collected. */
  trash_retention_s: z
    .number()
    .int()
    .min(0)
    .default(7 * 86400),
  /** Chunks challenged on each peer per sync round (audit; 0 = no audits). */
  audit_sample: z.number().int().min(0).max(64).default(4),
  route_benchmark_interval_s: seconds.default(21600),
  /** URLs peers may use to reach this cell; empty = detect interface addresses. */
  advertise: z.array(url).default([]),
  /** Relays this cell keeps a reservation on and advertises (ws:// or wss://, path /v1/relay when none is given). */
  relays: z
    .array(
      url.refine((u) => {
        try {
          normalizeRelayUrl(u);
          return true;
        } catch {
          return false;
        }
      }, "must be a relay URL: ws://HOST:PORT or wss://HOST:PORT"),
    )
    .max(8)
    .default([]),
  /** Run a relay (as `grove relay` does) on this port too, on the cell's host; null = none. Peers it carries for credit this cell in the bounty. */
  relay_port: z.number().int().min(0).max(65535).nullable().default(null),
  mdns: z.boolean().default(true),
  /**
   * What GROVE_HOME holds of the files of my other cells (mine/apply): "mirror", the plaintext of
   * every file, like a Syncthing folder; "on-demand", only what is pinned (`grove pin`), every
   * other file listed and fetched when opened. Either way this cell's own files stay in it.
   */
  home_mode: z.enum(["mirror", "on-demand"]).default("mirror"),
  /** Store new and changed files in GROVE_HOME as they appear (ingest/file-watcher). */
  watch_home: z.boolean().default(true),
  /** More folders to keep stored, each under its own name (absolute paths; not copied into GROVE_HOME). */
  watch_dirs: z
    .array(
      z
        .string()
        .min(2)
        .max(4096)
        .refine((d) => d.startsWith("/"), "must be an absolute path"),
    )
    .max(32)
    .default([]),
  /** A watched file is stored once it has not changed for this long (ms). */
  watch_debounce_ms: z.number().int().min(50).max(600_000).default(1000),
  /** Interfaces (names or addresses) to advertise on; empty = those ciao detects as networks. */
  mdns_interfaces: z.array(z.string().min(1).max(64)).max(32).default([]),
  /** Largest single upload accepted, in bytes. */
  max_upload_bytes: z
    .number()
    .int()
    .positive()
    .default(2 ** 40),
  /** Crypto implementation: "auto" picks native when it loads, else the portable one. */
  crypto: z.enum(["auto", "native", "portable"]).default("auto"),
  /** Worker threads sealing and opening chunks; 0 = one per core (at most 4). */
  crypto_workers: z.number().int().min(0).max(64).default(0),
  /** Messages one peer may send this cell per minute (more get 429 and stay queued there). */
  message_rate_per_minute: z.number().int().min(1).max(100_000).default(120),
  /** Characters of one peer's messages kept here at most (more get 507 and stay queued there). */
  message_store_chars_per_peer: z
    .number()
    .int()
    .min(1024)
    .default(16 * 1024 * 1024),
  /** Threads the model host uses to answer; 0 = one per core. */
  llm_threads: z.number().int().min(0).max(256).default(0),
  /** Who may ask this cell's models: friends, or nobody but this cell. */
  llm_share: z.enum(["friends", "none"]).default("friends"),
  /** The model host process stops after this long without a question (and starts on the next). */
  llm_idle_s: seconds.default(600),
  /** Longest answer, in tokens (a request may ask for less). */
  llm_max_tokens: z.number().int().min(1).max(32768).default(1024),
  /** An Ollama server whose models are offered too; null = use one answering on 127.0.0.1:11434, "off" = none. */
  ollama_url: z
    .union([z.literal("off"), url.refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL")])
    .nullable()
    .default(null),
});

export type Config = z.infer<typeof ConfigSchema>;

/** The schema with the checks that span keys (refinements keep `ConfigSchema.shape` readable). */
const CheckedConfig = ConfigSchema.refine((c) => (c.tls_cert === null) === (c.tls_key === null), {
  message: "set both tls_cert and tls_key, or neither",
  path: ["tls_key"],
}).refine((c) => !(c.tls_self_signed && c.tls_cert !== null), {
  message: "tls_self_signed and tls_cert exclude each other: choose one",
  path: ["tls_self_signed"],
});

/** One problem of a config.json value: where (the key, then an index in a list) and what, in plain words. */
export interface ConfigIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Validate a whole config.json value (every key, and the checks that span keys) without
 * throwing: the config it means, or every problem in plain words (core/plain-issue). For a
 * writer that must not write a bad file (the dashboard's Settings form).
 */
export function checkConfig(raw: unknown): { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] } {
  const result = CheckedConfig.safeParse(raw, { error: plainIssue });
  if (result.success) return { ok: true, config: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((i) => ({ path: i.path.filter((k) => typeof k !== "symbol"), message: i.message })),
  };
}

/** A config.json problem, phrased as one line that names the key. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Defaults for every key. A new cell writes these with its own name: see newCellConfig. */
export function defaultConfig(): Config {
  return ConfigSchema.parse({});
}

/** This machine's host name as a cell name (the default of `name` in a config.json without one). */
function hostName(host = hostname()): string {
  return replaceUnsafe(host, "-").slice(0, 64) || "grove-cell";
}

/**
 * The name a new cell takes, from its GROVE_DIR: the host name for the default ~/.grove, else
 * the host name and 4 hex characters of the folder's path, so that two cells of one machine are
 * told apart in peer and feed lists ("vm" and "vm-3f2a"). Change it with "name" in config.json.
 * @example newCellName("/srv/grove-b", "vm", "/root") // "vm-" + 4 hex characters
 */
export function newCellName(dir: string, host = hostname(), home = homedir()): string {
  const name = hostName(host);
  const abs = resolve(dir);
  if (abs === resolve(join(home, ".grove"))) return name;
  const suffix = sha256Hex(abs).slice(0, 4);
  return `${name.slice(0, 59)}-${suffix}`;
}

/** What a new cell in `dir` writes to its config.json: every default, and its own name. */
export function newCellConfig(dir: string): Config {
  return ConfigSchema.parse({ name: newCellName(dir) });
}

/** Validate an already-parsed value; throws ConfigError naming the first bad key. */
export function parseConfig(raw: unknown, source = "config.json"): { config: Config; unknownKeys: string[] } {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${source}: must be a JSON object`);
  }
  // Plain words (plainIssue), not the validation library's: the reader edits this file by hand.
  const result = CheckedConfig.safeParse(raw, { error: plainIssue });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.length ? issue.path.join(".") : "(root)";
    const got = issue.path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k as string], raw);
    throw new ConfigError(
      `${source}: bad value for "${key}": ${issue.message} (${got === undefined ? "not set" : `got ${displayName(String(JSON.stringify(got)))}`})`,
    );
  }
  const known = new Set(Object.keys(ConfigSchema.shape));
  return { config: result.data, unknownKeys: Object.keys(raw).filter((k) => !known.has(k)) };
}

/**
 * Read and validate config.json. A missing file means what a new cell writes (newCellConfig:
 * all defaults, and the name it would take). The file is never modified here.
 */
export function loadConfig(path: string): { config: Config; unknownKeys: string[] } {
  if (!existsSync(path)) return { config: newCellConfig(dirname(path)), unknownKeys: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseConfig(raw, path);
}

/** Write a fresh config.json with every default spelled out (first start only); returns what it wrote. */
export function writeDefaultConfig(path: string): Config {
  const config = newCellConfig(dirname(path));
  writeFileAtomicSync(path, JSON.stringify(config, null, 2) + "\n", 0o644);
  return config;
}
