/** @module web/api/status — GET /api/status: who this cell is, what it stores, and how its sync rounds go. */
import { Hono } from "hono";
import { buildHash, buildTarget, buildTime, VERSION } from "../../core/build-info.ts";
import type { Cell } from "../../cell/cell.ts";
import type { WebEnv } from "../context.ts";
import type { WebServices } from "../services.ts";
import type { RoundRunner } from "../../sync/sync-service.ts";
import { offeredUpdate } from "../../update/lifecycle.ts";
import type { CellStatus, SyncStatus } from "../../api/types.ts";
export type { CellStatus, SyncStatus } from "../../api/types.ts";

function syncStatus(cell: Cell, rounds: RoundRunner | null): SyncStatus | null {
  if (!rounds) return null;
  const r = rounds.last;
  return {
    running: rounds.running,
    progress: rounds.progress,
    last: r
      ? {
          started_at: r.started_at,
          duration_ms: r.duration_ms,
          reached: r.reached,
          peers: r.peers,
          chunks_pushed: r.chunks_pushed,
          chunks_pulled: r.chunks_pulled,
          under_replicated: r.under_replicated,
          missing: r.missing,
          errors: r.errors.length,
        }
      : null,
    last_error: rounds.lastError,
    recovery: rounds.recovery ? { at: rounds.recovery.at, ...rounds.recovery.restored } : null,
    interval_s: cell.config.sync_interval_s,
    after_change_s: cell.config.sync_after_change_s,
  };
}

/** The cell's status as GET /api/status and Settings show it. */
export function cellStatus(s: Pick<WebServices, "cell" | "relay" | "rounds" | "watching" | "listening">): CellStatus {
  const { cell, rounds } = s;
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
    relays: s.relay?.status() ?? [],
    watching: s.watching(),
    update_available: offeredUpdate(cell.layout.dir),
    sync: syncStatus(cell, rounds),
    listening: s.listening(),
  };
}

export function statusApi(s: WebServices): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get("/", (c) => c.json(cellStatus(s)));
  return app;
}
