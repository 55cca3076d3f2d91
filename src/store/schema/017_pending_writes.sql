-- 017: writes made durable after the store answers (docs/design.md, "What is durable, and when").
-- Additive: an older build ignores both tables.

-- Manifest files written without an fsync (ingest, ingest/ingest-batch): their body is kept
-- here, durable in the version's own transaction, until store/manifest-settle has fsynced the
-- file (or written it again from this body after a crash) and removed the row.
CREATE TABLE manifest_pending (
  manifest_file TEXT PRIMARY KEY,  -- relative to manifests/
  body          TEXT NOT NULL,     -- the file's exact content
  at            INTEGER NOT NULL   -- unix ms
) WITHOUT ROWID;

-- Plaintext copies in GROVE_HOME that a put wrote without an fsync: a view the chunks can
-- rebuild. ingest/home-copies fsyncs them once the store is quiet; after a crash, before the
-- watcher looks, a copy that is missing or torn (and not written since by someone else: its
-- mtime is not past `at`) is written again from the chunks.
CREATE TABLE home_pending (
  path      TEXT PRIMARY KEY,
  file_hash TEXT NOT NULL,
  at        INTEGER NOT NULL         -- unix ms, after the copy's last write
) WITHOUT ROWID;
