/** @module web/api/status — GET /api/status: who this cell is and what it stores. */
import { Hono } from "hono";
import { buildHash, buildTarget, buildTime, VERSION } from "../../core/build-info.ts";
import type { Cell } from "../../cell/cell.ts";
import type { WebEnv } from "../context.ts";
import type { Fleet } from "../../fleet/fleet.ts";
import type { RelayState } from "../../relay/relay-client.ts";
import type { WatcherStatus } from "../../ingest/file-watcher.ts";
import { offeredUpdate } from "../../update/lifecycle.ts";
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
}

export function cellStatus(cell: Cell, relays: RelayState[] = []): CellStatus {
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
  };
}

export function statusApi(fleet: Fleet): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get("/", (c) => c.json(cellStatus(c.var.cell, fleet.relay?.status() ?? [])));
  return app;
}
