-- 008: messages between paired cells (end-to-end sealed on the wire, kept here in clear text
-- like the rest of placement.db). One row per message, on each side: the sender keeps it as
-- 'out' (queued until the recipient confirms), the recipient as 'in'. Ids are random (128 bits),
-- chosen by the sender, so the same message received twice is stored once.
CREATE TABLE messages (
  id           TEXT PRIMARY KEY,        -- 32 hex characters, chosen by the sender
  peer         TEXT NOT NULL,           -- the other cell: recipient (out) or sender (in)
  direction    TEXT NOT NULL CHECK (direction IN ('out', 'in')),
  text         TEXT NOT NULL,
  sent_at      INTEGER NOT NULL,        -- unix ms, the sender's clock
  at           INTEGER NOT NULL,        -- unix ms, this cell's clock: written (out) or received (in); the conversation's order
  received_at  INTEGER,                 -- in: when it arrived here
  delivered_at INTEGER,                 -- out: when the recipient confirmed it
  read_at      INTEGER,                 -- in: when it was first shown (dashboard, API, CLI)
  state        TEXT NOT NULL CHECK (state IN ('queued', 'delivered', 'failed')), -- 'in' rows are 'delivered'
  error        TEXT                     -- out: why it failed, or why the last try did not get through
) WITHOUT ROWID;

-- A conversation, in order (listing, last message, counts).
CREATE INDEX messages_by_peer ON messages(peer, at);
-- What is still to deliver (retried after each sync round) and what is unread: both small.
CREATE INDEX messages_queued ON messages(peer, at) WHERE state = 'queued';
CREATE INDEX messages_unread ON messages(peer) WHERE direction = 'in' AND read_at IS NULL;
