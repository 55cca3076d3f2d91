/**
 * @module config/live — which config.json keys a running cell takes on change, and applying them.
 *
 * A running cell re-reads config.json when the file changes (or on SIGHUP). The keys in LIVE_KEYS
 * are read where they are used (the card, the sync planner in the Worker, the bounty gate, the
 * inbox limits, who may ask the models, the room kept for other cells, the updater, the Host
 * check), or the runtime moves what it set up from them (it re-roots its watcher for the watched
 * folders, points the assistant at Ollama's new address, opens and closes relay reservations for
 * `relays`, and starts, stops or restarts mDNS for `mdns`, `mdns_interfaces` and the name it
 * advertises), so the cell takes them at once; every other key (listeners, the relay it runs,
 * crypto, models, the watcher's debounce, upload limits…) is set up once at start and takes effect
 * at the next start, which the cell says.
 */
import { ConfigSchema, type Config } from "./config.ts";

export const LIVE_KEYS = [
  "name",
  "advertise",
  "dashboard_names",
  "replication_factor",
  "sync_interval_s",
  "sync_after_change_s",
  "push_on_store",
  "home_mode",
  "peer_lost_after_s",
  "max_peer_storage_bytes",
  "watch_home",
  "watch_dirs",
  "audit_sample",
  "route_benchmark_interval_s",
  "bounty_allowance_bytes",
  "bounty_exempt_favorites",
  "bounty_exempt_friends",
  "message_rate_per_minute",
  "message_store_chars_per_peer",
  "llm_share",
  "ollama_url",
  "auto_update",
  "trusted_release_keys",
  "relays",
  "mdns",
  "mdns_interfaces",
] as const satisfies readonly (keyof Config)[];

const live = new Set<string>(LIVE_KEYS);

/** What a config reload did: the live keys taken at once and the keys waiting for a restart, or why the file was not taken. */
export type ConfigReload = { ok: true; applied: string[]; restart: string[] } | { ok: false; error: string };

export function isLiveKey(key: string): boolean {
  return live.has(key);
}

/** Copy the live keys of `next` that differ into `config` (in place: services hold this object); say what changed. */
export function applyLive(config: Config, next: Config): { applied: string[]; restart: string[] } {
  const applied: string[] = [];
  const restart: string[] = [];
  for (const key of Object.keys(ConfigSchema.shape) as (keyof Config)[]) {
    if (JSON.stringify(config[key]) === JSON.stringify(next[key])) continue;
    if (live.has(key)) {
      (config as Record<string, unknown>)[key] = next[key];
      applied.push(key);
    } else restart.push(key);
  }
  return { applied, restart };
}
