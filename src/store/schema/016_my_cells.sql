-- 016: my cells and one tree (docs/design.md, "One tree across my cells"). Additive: older builds
-- ignore the new column and tables (min_reader stays).

-- A peer that is one of mine: the same owner's cell, paired with an invite made with --mine. It
-- holds the owner's file keys (crypto/key-ring) and exchanges tree events with this cell.
ALTER TABLE peers ADD COLUMN mine INTEGER NOT NULL DEFAULT 0;

-- Every tree event this cell holds, its own and those of my other cells (tree/events). An event
-- never changes once made; (origin, seq) names it. body: the event as JSON.
CREATE TABLE tree_events (
  origin TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  body   TEXT NOT NULL,
  PRIMARY KEY (origin, seq)
) WITHOUT ROWID;

-- The manifests tree events name, as JSON checked against their hash: a file of another of my
-- cells is listed and opened from here without being one of this cell's own versions.
CREATE TABLE tree_manifests (
  manifest_hash TEXT PRIMARY KEY,
  body          TEXT NOT NULL
) WITHOUT ROWID;

-- This cell's own files as its last tree events described them (path -> manifest): the next
-- change to its files is what differs from this.
CREATE TABLE tree_local (
  path          TEXT PRIMARY KEY,
  manifest_hash TEXT NOT NULL
) WITHOUT ROWID;

-- Paths pinned on this cell (`grove pin`): in home_mode "on-demand", the files at or under each are
-- written into GROVE_HOME like a mirror's; the rest are fetched when opened.
CREATE TABLE tree_pins (
  path TEXT PRIMARY KEY,           -- a file or a folder, relative to GROVE_HOME; "" = everything
  at   INTEGER NOT NULL            -- unix ms
) WITHOUT ROWID;
