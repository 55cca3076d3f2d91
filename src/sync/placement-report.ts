/**
 * @module sync/placement-report — where our files stand in the fleet, for the Storage tab,
 * `grove placement` and GET /api/placement: copies per file against the factor (a file has as
 * many copies as its least-replicated chunk), the files at risk, and per peer what it keeps for
 * us and we keep for it. Copies count this cell and peers not lost (peer_lost_after_s).
 */
import type { CellId } from "../core/types.ts";
import type { Cell } from "../cell/cell.ts";
import type { PeerStore } from "../fleet/peer-store.ts";
import { shortId } from "../core/format.ts";

export interface FilePlacement {
  path: string;
  version: number;
  size: number;
  chunks: number;
  copies: number;
  desired: number;
  /** Cells holding every chunk of it ("self" first when this cell does). */
  holders: string[];
}

export interface PeerPlacement {
  id: CellId;
  name: string;
  /** Heard from within peer_lost_after_s: its copies count. */
  counted: boolean;
  last_seen: number | null;
  holds_for_us: { chunks: number; bytes: number };
  we_hold_for_it: { chunks: number; bytes: number; backups: number; backup_bytes: number };
}

export interface PlacementReport {
  factor: number;
  files: FilePlacement[];
  at_risk: FilePlacement[];
  peers: PeerPlacement[];
  totals: { files: number; at_risk: number; held_for_others_bytes: number; max_peer_storage_bytes: number };
}

export function placementReport(cell: Cell, peerStore: Pick<PeerStore, "list">, now = Date.now()): PlacementReport {
  const factor = cell.config.replication_factor;
  const lostBefore = now - cell.config.peer_lost_after_s * 1000;
  const peers = peerStore.list();
  const counted = new Set(peers.filter((p) => p.last_seen !== null && p.last_seen >= lostBefore).map((p) => p.id as string));

  const local = new Set((cell.db.db.query("SELECT hash FROM chunks").values() as [string][]).map((r) => r[0]));
  const holders = new Map<string, string[]>();
  const sizeOf = new Map<string, number>();
  for (const r of cell.db.db
    .query("SELECT p.chunk_hash, p.cell_id, COALESCE(p.size, c.size) FROM placements p LEFT JOIN chunks c ON c.hash = p.chunk_hash")
    .values() as [string, string, number | null][]) {
    let list = holders.get(r[0]);
    if (!list) holders.set(r[0], (list = []));
    list.push(r[1]);
    if (r[2] !== null) sizeOf.set(r[0], r[2]);
  }

  // This cell's own files: a file of another cell of mine that this one mirrors is placed by its owner.
  const own = new Set<string>(cell.db.ownManifests(cell.keys.id));
  const current = cell.db.list().filter((f) => own.has(f.manifest_hash));
  const refsOf = new Map<string, string[]>();
  for (const [m, h] of cell.db.db
    .query(
      `SELECT mc.manifest_hash, mc.chunk_hash FROM manifest_chunks mc
       WHERE mc.manifest_hash IN (SELECT v.manifest_hash FROM file_versions v
         WHERE v.manifest_hash IS NOT NULL AND v.version = (SELECT MAX(version) FROM file_versions WHERE path = v.path))`,
    )
    .values() as [string, string][]) {
    let list = refsOf.get(m);
    if (!list) refsOf.set(m, (list = []));
    list.push(h);
  }
  const files: FilePlacement[] = [];
  for (const f of current) {
    const refs = refsOf.get(f.manifest_hash) ?? [];
    let copies = refs.length ? Number.POSITIVE_INFINITY : factor;
    let common: Set<string> | null = null;
    for (const h of refs) {
      const cells = [...(local.has(h) ? ["self"] : []), ...(holders.get(h) ?? []).filter((id) => counted.has(id))];
      copies = Math.min(copies, cells.length);
      common = common === null ? new Set(cells) : new Set(cells.filter((c) => common!.has(c)));
    }
    const names = [...(common ?? (refs.length ? [] : ["self"]))].map((id) => (id === "self" ? "self" : peerName(peers, id)));
    files.push({ path: f.path, version: f.version, size: f.size, chunks: f.chunks, copies, desired: factor, holders: names });
  }

  const mine = new Map<string, { chunks: number; bytes: number }>();
  for (const [h, cells] of holders) {
    for (const id of cells) {
      const m = mine.get(id) ?? { chunks: 0, bytes: 0 };
      m.chunks++;
      m.bytes += sizeOf.get(h) ?? 0;
      mine.set(id, m);
    }
  }
  const theirs = new Map(cell.held.totals().map((t) => [t.owner as string, t]));
  const peerRows: PeerPlacement[] = peers.map((p) => {
    const t = theirs.get(p.id);
    return {
      id: p.id,
      name: p.name,
      counted: counted.has(p.id),
      last_seen: p.last_seen,
      holds_for_us: mine.get(p.id) ?? { chunks: 0, bytes: 0 },
      we_hold_for_it: { chunks: t?.chunks ?? 0, bytes: t?.chunk_bytes ?? 0, backups: t?.backups ?? 0, backup_bytes: t?.backup_bytes ?? 0 },
    };
  });
  const atRisk = files.filter((f) => f.copies < f.desired);
  return {
    factor,
    files,
    at_risk: atRisk,
    peers: peerRows,
    totals: {
      files: files.length,
      at_risk: atRisk.length,
      held_for_others_bytes: cell.held.totalBytes(),
      max_peer_storage_bytes: cell.config.max_peer_storage_bytes,
    },
  };
}

function peerName(peers: { id: string; name: string }[], id: string): string {
  const p = peers.find((x) => x.id === id);
  return p ? `${p.name} (${shortId(id)})` : shortId(id);
}
