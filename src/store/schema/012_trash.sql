-- 012: safe deletion (docs/design.md, "Deletion"). Nothing is deleted in one step: purged
-- versions, our own chunks nobody needs any more, and chunks an owner asked us to delete all wait
-- in a trash for `trash_retention_s` first, and a chunk file goes only once no row of any kind
-- still needs it (src/store/references.ts), checked in the transaction that decides it.

-- A chunk kept for another cell that its owner asked to delete (a signed DeleteRequest): it no
-- longer counts (inventories, quota, bounty) and is collected once trashed_at is older than
-- trash_retention_s. A new push of the same chunk by its owner clears it.
ALTER TABLE held ADD COLUMN trashed_at INTEGER;
CREATE INDEX held_trashed ON held(trashed_at) WHERE trashed_at IS NOT NULL;

-- "Is this manifest still a version of some path?" is asked per manifest by the collection.
CREATE INDEX file_versions_by_manifest ON file_versions(manifest_hash);

-- Versions dropped from history (`grove purge`, or older than version_retention_s), kept until
-- purged_at is older than trash_retention_s so that `grove trash restore` can put them back.
-- Version numbers are not reused while a path has rows here (PlacementDb.lastVersion).
CREATE TABLE purged_versions (
  path          TEXT NOT NULL,
  version       INTEGER NOT NULL,
  manifest_hash TEXT,                 -- NULL: the version recorded a deletion
  at            INTEGER NOT NULL,     -- unix ms: when the version was made
  purged_at     INTEGER NOT NULL,     -- unix ms
  PRIMARY KEY (path, version)
) WITHOUT ROWID;

-- Our own chunks that no live manifest (a version of a path, or one shared by an active grant)
-- references any more. The local copy (its `chunks` row and file) is removed once trashed_at is
-- older than trash_retention_s (collected_at is then set); the row stays while a peer still
-- holds the chunk (a `placements` row), so the DeleteRequest is sent again each sync round until
-- that peer acknowledges it. A chunk that becomes live again (re-uploaded, restored) leaves the
-- trash.
CREATE TABLE chunk_trash (
  hash         TEXT PRIMARY KEY,
  trashed_at   INTEGER NOT NULL,      -- unix ms
  collected_at INTEGER                -- unix ms: the local copy was removed
) WITHOUT ROWID;
