/** @module web/api/status — GET /api/status: who this cell is and what it stores. */
import { Hono } from "hono";
import { buildHash, buildTarget, VERSION } from "../../core/build-info.ts";
import type { Cell } from "../../cell/cell.ts";
import type { WebEnv } from "../context.ts";

export interface CellStatus {
  id: string;
  name: string;
  version: string;
  build: string;
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
}

export function cellStatus(cell: Cell): CellStatus {
  return {
    id: cell.keys.id,
    name: cell.config.name,
    version: VERSION,
    build: buildHash(),
    target: buildTarget(),
    crypto: cell.suite.name,
    uptime_s: Math.round((Date.now() - cell.startedAt) / 1000),
    dir: cell.layout.dir,
    home: cell.layout.home,
    ...cell.db.stats(),
    replication_factor: cell.config.replication_factor,
    kept_for_peers_bytes: cell.held.totalBytes(),
  };
}

export const statusApi = new Hono<WebEnv>();
statusApi.get("/", (c) => c.json(cellStatus(c.var.cell)));
