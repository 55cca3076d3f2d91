-- 003: the fleet. One row per paired cell, holding its latest verified cell card.
CREATE TABLE peers (
  id         TEXT PRIMARY KEY,          -- cell id (hex Ed25519 public key)
  name       TEXT NOT NULL,
  card       TEXT NOT NULL,             -- the signed cell card, JSON, as verified
  friend     INTEGER NOT NULL DEFAULT 0, -- may share files with us
  favorite   INTEGER NOT NULL DEFAULT 0, -- gets our chunks first
  added_at   INTEGER NOT NULL,          -- unix ms
  last_seen  INTEGER                    -- unix ms of the last verified contact
) WITHOUT ROWID;
