-- 019: small sealed chunks (at most 64 KiB + the AEAD tag) are rows here, not files in chunks/
-- (store/chunk-store; docs/design.md, "Small chunks live in placement.db"). A chunk is either a
-- row or a file; readers look at both.
-- Not additive in meaning: an older build would take every chunk kept here for missing, so a
-- database that has this table is not opened by builds that do not know it.
CREATE TABLE inline_chunks (
  hash      TEXT PRIMARY KEY,      -- SHA-256 of the sealed bytes, hex
  body      BLOB NOT NULL,         -- the sealed bytes
  stored_at INTEGER NOT NULL       -- unix ms (the trash collection's sweep spares young rows)
);
UPDATE schema_meta SET value = 19 WHERE key = 'min_reader';
