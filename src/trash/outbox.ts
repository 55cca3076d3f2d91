/**
 * @module trash/outbox — the owner's side of deletion on peers: which chunks in our trash each
 * peer still holds for us (its `placements` rows), and forgetting those copies once the peer has
 * acknowledged our DeleteRequest. Used by the sync round (sync/round, "deletions"); a chunk that
 * is live again (re-uploaded, restored from the trash) leaves the trash first and is not sent.
 */
import type { Database } from "bun:sqlite";
import type { CellId, ChunkHash } from "../core/types.ts";
import { liveChunkSql } from "../store/references.ts";

export class DeleteOutbox {
  constructor(private db: Database) {}

  /** Chunks in our trash that `peer` holds for us, ascending. */
  pendingFor(peer: CellId, now = Date.now()): ChunkHash[] {
    this.db
      .transaction(() => {
        this.db.query(`DELETE FROM chunk_trash WHERE ${liveChunkSql("chunk_trash.hash")}`).run({ now });
      })
      .immediate();
    return (
      this.db
        .query(
          "SELECT p.chunk_hash FROM placements p JOIN chunk_trash t ON t.hash = p.chunk_hash WHERE p.cell_id = ? ORDER BY p.chunk_hash",
        )
        .values(peer) as [ChunkHash][]
    ).map((r) => r[0]);
  }

  /** `peer` acknowledged a DeleteRequest for `hashes`: it keeps none of them for us any more. */
  acknowledged(peer: CellId, hashes: readonly ChunkHash[]): void {
    const del = this.db.query("DELETE FROM placements WHERE cell_id = ? AND chunk_hash = ?");
    this.db.transaction(() => {
      for (const h of hashes) del.run(peer, h);
    })();
  }
}
