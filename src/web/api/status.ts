/** @module web/api/status — GET /api/status: who this cell is, what it stores, and how its sync rounds go. */
import { Hono } from "hono";
import { buildHash, buildTarget, buildTime, VERSION } from "../../core/build-info.ts";
import type { Cell } from "../../cell/cell.ts";
import type { WebEnv } from "../context.ts";
import type { Fleet, RoundRunner } from "../../fleet/fleet.ts";
import type { SyncProgress, SyncReport } from "../../sync/round.ts";
import type { RelayState } from "../../relay/relay-client.ts";
import type { WatcherStatus } from "../../ingest/file-watcher.ts";
import { offeredUpdate } from "../../update/lifecycle.ts";
import type { ListenInfo } from "../listen-info.ts";
import type { UpdateAvailable } from "../../update/update-state.ts";

export interface CellStatus {
  id: string;
  name: string;
  version: string;
  build: string;
  /** When the build was made (content-derived); null when run from source. */
  build_time: string | null;
  target: string;
  crypto: string;
  uptime_s: number;
  dir: string;
  home: string;
  files: number;
  chunks: number;
  stored_bytes: number;
  replication_factor: number;
  /** Bytes this cell keeps for other cells (their chunks and manifest backups). */
  kept_for_peers_bytes: number;
  /** This cell's relay connections (config `relays`, and relays opened to reach a peer). */
  relays: RelayState[];
  /** The file watcher (GROVE_HOME and `watch_dirs`), or null when it is off. */
  watching: WatcherStatus | null;
  /** A newer trusted build a peer offers (`grove update` installs it), or null. */
  update_available: UpdateAvailable | null;
  /** Sync rounds: the one running (and how far it is), the last one, the interval; null when this cell runs none. */
  sync: SyncStatus | null;
  /** Where the cell really listens (null when not known: an app without listeners). */
  listening: ListenInfo | null;
}

export interface SyncStatus {
  running: boolean;
  progress: SyncProgress | null;
  /** The last round that finished since the cell started, in brief. */
  last: { started_at: number; duration_ms: number; reached: number; peers: number; chunks_pushed: number; chunks_pulled: number; under_replicated: number; missing: number; errors: number } | null;
  /** Set when the most recent round failed as a whole. */
  last_error: string | null;
  /** What the recovery round restored and refused (a recovered cell, since it started), or null. */
  recovery?: ({ at: number } & NonNullable<SyncReport["restored"]>) | null;
  interval_s: number;
  /** A round this long after a file is stored (0: none). */
  after_change_s: number;
}

function syncStatus(cell: Cell, rounds: RoundRunner | null): SyncStatus | null {
  if (!rounds) return null;
  const r = rounds.last;
  return {
    running: rounds.running,
    progress: rounds.progress,
    last: r
      ? { started_at: r.started_at, duration_ms: r.duration_ms, reached: r.reached, peers: r.peers, chunks_pushed: r.chunks_pushed, chunks_pulled: r.chunks_pulled, under_replicated: r.under_replicated, missing: r.missing, errors: r.errors.length }
      : null,
    last_error: rounds.lastError,
    recovery: rounds.recovery ? { at: rounds.recovery.at, ...rounds.recovery.restored } : null,
    interval_s: cell.config.sync_interval_s,
    after_change_s: cell.config.sync_after_change_s,
  };
}

export function cellStatus(cell: Cell, relays: RelayState[] = [], rounds: RoundRunner | null = null, listening: ListenInfo | null = null): CellStatus {
  return {
    id: cell.keys.id,
    name: cell.config.name,
    version: VERSION,
    build: buildHash(),
    build_time: buildTime(),
    target: buildTarget(),
    crypto: cell.suite.name,
    uptime_s: Math.round((Date.now() - cell.startedAt) / 1000),
    dir: cell.layout.dir,
    home: cell.layout.home,
    ...cell.db.stats(),
    replication_factor: cell.config.replication_factor,
    kept_for_peers_bytes: cell.held.totalBytes(),
    relays,
    watching: cell.watcher?.status() ?? null,
    update_available: offeredUpdate(cell.layout.dir),
    sync: syncStatus(cell, rounds),
    listening,
  };
}

export function statusApi(fleet: Fleet, listening: () => ListenInfo | null = () => null): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get("/", (c) => c.json(cellStatus(c.var.cell, fleet.relay?.status() ?? [], fleet.rounds, listening())));
  return app;
}
