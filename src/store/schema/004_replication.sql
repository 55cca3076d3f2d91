-- 004: replication. Placements are looked up per peer too (inventories, the Storage tab), and
-- carry the chunk's sealed size (known from the push or the peer's listing).
CREATE INDEX placements_by_cell ON placements(cell_id, chunk_hash);
ALTER TABLE placements ADD COLUMN size INTEGER;

-- Chunks this cell keeps for other cells (owner record). The bytes live in chunks/ like our own;
-- a file is removed only when no owner (nor this cell) needs it any more.
CREATE TABLE held (
  owner      TEXT NOT NULL,           -- cell id of the chunk's owner
  chunk_hash TEXT NOT NULL,
  size       INTEGER NOT NULL,
  stored_at  INTEGER NOT NULL,        -- unix ms
  PRIMARY KEY (owner, chunk_hash)
) WITHOUT ROWID;
CREATE INDEX held_by_chunk ON held(chunk_hash);

-- Manifest backups other cells keep here, sealed to themselves (we cannot read them):
-- kind 'manifest' (name = manifest hash) or 'index' (one per owner, name = its digest).
-- The bytes: see 005.
CREATE TABLE backups (
  owner     TEXT NOT NULL,
  name      TEXT NOT NULL,
  kind      TEXT NOT NULL CHECK (kind IN ('manifest', 'index')),
  size      INTEGER NOT NULL,
  stored_at INTEGER NOT NULL,
  PRIMARY KEY (owner, name)
) WITHOUT ROWID;
