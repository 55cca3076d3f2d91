-- 002: dashboard sessions. Only a hash of the cookie value is stored, so a copy of the
-- database does not log anyone in.
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  csrf       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
