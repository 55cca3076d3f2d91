-- 010: bounty (docs/design.md: Bounty). Per peer, the storage this cell gives it (its chunks kept here:
-- `held`) and receives from it (our chunks it confirmed keeping: `placements`), as bytes now and
-- as byte-hours summed over time. Chunks only: manifest backups are small and not counted.
-- The byte figures are recomputed from those tables at each accrual; only the byte-hours, which
-- no other table can give back, are the ledger's own. Trade-off: a ledger lost with placement.db
-- (a recovered cell) starts again at zero, and its peer's statements will disagree until the
-- byte-hours catch up; that is shown, never merged.
CREATE TABLE bounty_ledger (
  peer                TEXT PRIMARY KEY,    -- cell id
  given_bytes         INTEGER NOT NULL,    -- bytes of its chunks kept here, as of accrued_at
  received_bytes      INTEGER NOT NULL,    -- bytes of our chunks it keeps, as of accrued_at
  given_byte_hours    REAL NOT NULL,       -- sum of given_bytes × hours, up to accrued_at
  received_byte_hours REAL NOT NULL,
  accrued_at          INTEGER NOT NULL     -- unix ms of the last accrual
) WITHOUT ROWID;

-- The balance over time, for the chart: a point when the balance changed or the last point is
-- over a minute old (so about one per sync round). Points older than a year are dropped.
CREATE TABLE bounty_history (
  peer               TEXT NOT NULL,
  at                 INTEGER NOT NULL,     -- unix ms
  balance_bytes      INTEGER NOT NULL,     -- received_bytes - given_bytes
  balance_byte_hours REAL NOT NULL,        -- received_byte_hours - given_byte_hours
  PRIMARY KEY (peer, at)
) WITHOUT ROWID;

-- The latest exchange of signed statements with each peer (whichever side started it): its
-- statement as received (signed), ours (signed), and whether they agree within the tolerance.
-- A disagreement is kept with both views and the reason; the figures are never merged.
CREATE TABLE bounty_statements (
  peer   TEXT PRIMARY KEY,
  at     INTEGER NOT NULL,                 -- unix ms of the comparison, this cell's clock
  theirs TEXT NOT NULL,                    -- JSON: the peer's signed statement
  ours   TEXT NOT NULL,                    -- JSON: this cell's signed statement
  agree  INTEGER NOT NULL CHECK (agree IN (0, 1)),
  reason TEXT                              -- why they disagree (null when they agree)
) WITHOUT ROWID;
