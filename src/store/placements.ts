/**
 * @module store/placements — the owner's side of replication in placement.db: which of our own
 * chunks are on which peers, as each peer confirmed (a stored push, an inventory listing), and
 * which of them this cell holds itself (`chunks`).
 */
import type { Database } from "bun:sqlite";
import type { CellId, ChunkHash } from "../core/types.ts";
import { bucketOf } from "./set-digest.ts";
import { liveManifestSql } from "./references.ts";

export interface OwnChunk {
  hash: ChunkHash;
  /** Sealed size when held here, else null (then it can be pulled, not pushed). */
  local_size: number | null;
}

export class Placements {
  constructor(private db: Database) {}

  /**
   * Every chunk referenced by a live manifest of ours: any version in the history, or shared by
   * an active grant (store/references). Chunks of purged versions are not here: they are trash.
   */
  ownChunks(owner: CellId, now = Date.now()): OwnChunk[] {
    return this.db
      .query(
        `SELECT DISTINCT mc.chunk_hash AS hash, c.size AS local_size
         FROM manifest_chunks mc
         JOIN manifests m ON m.manifest_hash = mc.manifest_hash
         LEFT JOIN chunks c ON c.hash = mc.chunk_hash
         WHERE m.owner = $owner AND ${liveManifestSql("m.manifest_hash")}`,
      )
      .all({ owner, now }) as OwnChunk[];
  }

  /** Chunk names the peer confirmed holding for us, ascending. */
  on(peer: CellId): ChunkHash[] {
    return (this.db.query("SELECT chunk_hash FROM placements WHERE cell_id = ? ORDER BY chunk_hash").values(peer) as [ChunkHash][]).map(
      (r) => r[0],
    );
  }

  /** Every (chunk, peer) record. */
  all(): { chunk_hash: ChunkHash; cell_id: CellId; confirmed_at: number }[] {
    return this.db.query("SELECT chunk_hash, cell_id, confirmed_at FROM placements").all() as {
      chunk_hash: ChunkHash;
      cell_id: CellId;
      confirmed_at: number;
    }[];
  }

  /** The peers that hold a confirmed copy of `hash`. */
  holdersOf(hash: ChunkHash): CellId[] {
    return (this.db.query("SELECT cell_id FROM placements WHERE chunk_hash = ?").values(hash) as [CellId][]).map((r) => r[0]);
  }

  confirm(peer: CellId, hash: ChunkHash, size: number | null, at = Date.now()): void {
    this.db
      .query("INSERT OR REPLACE INTO placements (chunk_hash, cell_id, confirmed_at, size) VALUES (?, ?, ?, ?)")
      .run(hash, peer, at, size);
  }

  /** `confirm` for many chunks on one peer, in one transaction (one commit). */
  confirmMany(peer: CellId, chunks: readonly { hash: ChunkHash; size: number }[], at = Date.now()): void {
    this.db.transaction(() => {
      for (const c of chunks) this.confirm(peer, c.hash, c.size, at);
    })();
  }

  drop(peer: CellId, hash: ChunkHash): void {
    this.db.query("DELETE FROM placements WHERE chunk_hash = ? AND cell_id = ?").run(hash, peer);
  }

  /** Forget everything recorded for `peer` (it was removed from the fleet). */
  dropPeer(peer: CellId): void {
    this.db.query("DELETE FROM placements WHERE cell_id = ?").run(peer);
  }

  /**
   * The peer's listing of some buckets is the truth for those buckets: records there are
   * replaced by `listed`. Returns how many records were added and removed.
   */
  replaceBuckets(
    peer: CellId,
    buckets: readonly number[],
    listed: readonly (readonly [ChunkHash, number])[],
    at = Date.now(),
  ): { added: number; removed: number } {
    const want = new Set(buckets);
    const current = this.on(peer).filter((h) => want.has(bucketOf(h)));
    const sizes = new Map(listed.filter(([h]) => want.has(bucketOf(h))));
    const next = new Set(sizes.keys());
    const cur = new Set(current);
    let added = 0;
    let removed = 0;
    this.db.transaction(() => {
      for (const h of current) if (!next.has(h)) this.drop(peer, h), removed++;
      for (const h of next) if (!cur.has(h)) this.confirm(peer, h, sizes.get(h) ?? null, at), added++;
    })();
    return { added, removed };
  }

  /** Record that this cell holds chunk `hash` itself (pulled back from a peer). */
  addLocal(hash: ChunkHash, size: number): void {
    this.db.query("INSERT OR IGNORE INTO chunks (hash, size, stored_at) VALUES (?, ?, ?)").run(hash, size, Date.now());
  }

  /** This cell's own copy is gone (missing or damaged file). */
  dropLocal(hash: ChunkHash): void {
    this.db.query("DELETE FROM chunks WHERE hash = ?").run(hash);
  }
}
