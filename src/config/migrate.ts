/**
 * @module config/migrate — upgrades a config.json written by an older build, once, in place.
 *
 * Version 1 (no `config_version` key) had one listener: `host`/`port` served the dashboard, the
 * local API and the peer API together, on 0.0.0.0 by default. Version 2 listens apart: the
 * dashboard and local API on `host`:`port` (loopback by default), the peer API on
 * `peer_host`:`peer_port`. Upgrading moves the old `host` to `peer_host` (where peers reached
 * the cell), puts the dashboard on loopback, and gives the peer API a port of its own
 * (`port` + 1000, so two cells upgraded on one machine do not collide).
 *
 * Peers still know the old address until they learn the new card, so when the old host was not
 * loopback the upgrade also opens a legacy window (web/legacy-window): the dashboard's port keeps
 * answering peers on the old host, and only peers, until every peer has reached the new port.
 *
 * The old file is kept beside the new one as config.json.v1; the file is written atomically.
 */
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { CONFIG_VERSION, DEFAULT_HOST } from "./config.ts";
import { isLoopbackHost } from "../net/loopback.ts";

export interface ConfigMigration {
  from: number;
  to: number;
  /** What changed, one line each, for the start banner and the log. */
  notes: string[];
  /** The old listener's host when peers may still call it there (a legacy window opens); else null. */
  legacyHost: string | null;
}

/** The peer port an upgraded cell gets: its old port + 1000 (− 1000 near the top; 0 stays 0). */
export function upgradedPeerPort(oldPort: number): number {
  if (oldPort === 0) return 0;
  return oldPort + 1000 <= 65535 ? oldPort + 1000 : oldPort - 1000;
}

type Raw = Record<string, unknown>;

/** The version-2 form of a version-1 object; `effectivePort` is the port the old build really listened on. */
export function migrateV1(raw: Raw, effectivePort: number): { next: Raw; migration: ConfigMigration } {
  const oldHost = typeof raw.host === "string" && raw.host ? raw.host : "0.0.0.0";
  const next: Raw = { ...raw, config_version: 2 };
  const notes: string[] = [];
  if (next.peer_host === undefined) next.peer_host = oldHost;
  if (next.peer_port === undefined) next.peer_port = upgradedPeerPort(effectivePort);
  next.host = DEFAULT_HOST;
  notes.push(
    `the dashboard and local API now listen on ${DEFAULT_HOST} only (was ${oldHost}); set "host" to serve them beyond this machine`,
  );
  notes.push(
    `the peer API listens apart, on ${String(next.peer_host)}:${String(next.peer_port)} ("peer_host", "peer_port"); peers learn it from this cell's card`,
  );
  const legacyHost = isLoopbackHost(oldHost) ? null : oldHost;
  if (legacyHost)
    notes.push(`until every peer has reached the new port, port ${effectivePort} keeps answering peers (and only peers) on ${oldHost}`);
  return { next, migration: { from: 1, to: CONFIG_VERSION, notes, legacyHost } };
}

/**
 * Upgrade the config.json at `path` when an older build wrote it. `hasIdentity` says whether the
 * cell existed before this start (a new cell's hand-written config is already current: it is
 * only stamped). Returns what was done, or null when the file is current or absent.
 */
export function migrateConfigFile(
  path: string,
  opts: { hasIdentity: boolean; effectivePort: (raw: Raw) => number },
): ConfigMigration | null {
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return null; // loadConfig reports it, naming the file
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return null;
  const obj = raw as Raw;
  if (obj.config_version !== undefined) return null;
  if (!opts.hasIdentity) {
    writeFileAtomicSync(path, JSON.stringify({ config_version: CONFIG_VERSION, ...obj }, null, 2) + "\n", 0o644);
    return null;
  }
  const { next, migration } = migrateV1(obj, opts.effectivePort(obj));
  copyFileSync(path, path + ".v1");
  writeFileAtomicSync(path, JSON.stringify(next, null, 2) + "\n", 0o644);
  return migration;
}
