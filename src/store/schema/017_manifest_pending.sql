-- 017: manifests written by a group commit of small files (ingest/ingest-batch) whose files in
-- manifests/ are not fsynced yet: their body is kept here, durable in the version's own
-- transaction, until store/manifest-settle has fsynced the file (or written it again from this
-- body after a crash) and removed the row. Additive: an older build ignores the table (a file
-- torn by a crash would then read as a missing manifest, which fsck reports).
CREATE TABLE manifest_pending (
  manifest_file TEXT PRIMARY KEY,  -- relative to manifests/
  body          TEXT NOT NULL,     -- the file's exact content
  at            INTEGER NOT NULL   -- unix ms
) WITHOUT ROWID;
