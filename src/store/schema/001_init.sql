-- 001: local chunks, manifests and file versions.

-- Sealed chunks held in chunks/ on this cell. One row per chunk, whoever owns it.
CREATE TABLE chunks (
  hash       TEXT PRIMARY KEY,        -- SHA-256 of the sealed bytes (its file name)
  size       INTEGER NOT NULL,        -- sealed size in bytes
  stored_at  INTEGER NOT NULL         -- unix ms
) WITHOUT ROWID;

-- Every manifest this cell knows (all versions). The JSON itself stays in manifests/;
-- this table is the index the API lists from.
CREATE TABLE manifests (
  manifest_hash TEXT PRIMARY KEY,
  source_path   TEXT NOT NULL,
  file_hash     TEXT NOT NULL,
  total_size    INTEGER NOT NULL,
  chunk_count   INTEGER NOT NULL,
  manifest_file TEXT NOT NULL,        -- relative to manifests/
  owner         TEXT NOT NULL,        -- cell id
  created_at    INTEGER NOT NULL
) WITHOUT ROWID;

-- Which chunks a manifest references, in order (the reverse index answers "who uses chunk X").
CREATE TABLE manifest_chunks (
  manifest_hash TEXT NOT NULL REFERENCES manifests(manifest_hash),
  idx           INTEGER NOT NULL,
  chunk_hash    TEXT NOT NULL,
  PRIMARY KEY (manifest_hash, idx)
) WITHOUT ROWID;
CREATE INDEX manifest_chunks_by_chunk ON manifest_chunks(chunk_hash);

-- History of each path in GROVE_HOME. A NULL manifest_hash records a deletion.
-- The current state of a path is its highest version.
CREATE TABLE file_versions (
  path          TEXT NOT NULL,
  version       INTEGER NOT NULL,
  manifest_hash TEXT REFERENCES manifests(manifest_hash),
  at            INTEGER NOT NULL,     -- unix ms
  PRIMARY KEY (path, version)
) WITHOUT ROWID;

-- Which cells hold which chunks (this cell included), as confirmed. Filled by sync later.
CREATE TABLE placements (
  chunk_hash   TEXT NOT NULL,
  cell_id      TEXT NOT NULL,
  confirmed_at INTEGER NOT NULL,
  PRIMARY KEY (chunk_hash, cell_id)
) WITHOUT ROWID;
