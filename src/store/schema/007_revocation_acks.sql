-- 007: which peers confirmed each of our revocations (the others are told again after every
-- sync round, so a holder that was offline at revoke time stops serving too).
CREATE TABLE revocation_acks (
  grant_id TEXT NOT NULL,
  peer     TEXT NOT NULL,
  at       INTEGER NOT NULL,
  PRIMARY KEY (grant_id, peer)
) WITHOUT ROWID;
