-- 006: sharing. Grants this cell made (direction 'out', peer = recipient) and received
-- ('in', peer = sharer); the signed objects are kept as JSON, received ones also in grants/.
CREATE TABLE grants (
  id            TEXT PRIMARY KEY,       -- SHA-256 of the grant without its signature
  direction     TEXT NOT NULL CHECK (direction IN ('out', 'in')),
  peer          TEXT NOT NULL,
  path          TEXT,                   -- out: the shared path in GROVE_HOME
  filename      TEXT NOT NULL,
  file_type     TEXT NOT NULL,
  size          INTEGER NOT NULL,
  manifest_hash TEXT NOT NULL,
  granted_at    INTEGER NOT NULL,
  expires_at    INTEGER,
  received_at   INTEGER,                -- in
  delivered     INTEGER NOT NULL DEFAULT 0, -- out: the recipient confirmed
  revoked_at    INTEGER,
  grant_json    TEXT NOT NULL,
  pass_json     TEXT NOT NULL,
  manifest_json TEXT                    -- in: the sharer's manifest (chunk list)
) WITHOUT ROWID;

-- Revocations this cell knows of (its own and those signed by owners whose chunks it keeps).
CREATE TABLE revocations (
  grant_id   TEXT PRIMARY KEY,
  owner      TEXT NOT NULL,
  revoked_at INTEGER NOT NULL,
  body       TEXT NOT NULL              -- the signed revocation, JSON
) WITHOUT ROWID;
