-- 009: conversations with a model (the assistant: local inference, later a friend's model).
-- One row per conversation; its turns in order. A turn is written once the answer is complete
-- (the question and its answer in one transaction), so a conversation never ends on a question
-- without an answer; an answer cut short by the client is not kept.
CREATE TABLE conversations (
  id         TEXT PRIMARY KEY,          -- 16 hex characters, random
  title      TEXT NOT NULL,             -- the first question, shortened
  model      TEXT NOT NULL,             -- the model of the latest answer (continuing uses it by default)
  created_at INTEGER NOT NULL,          -- unix ms
  updated_at INTEGER NOT NULL           -- unix ms of the latest turn; listings sort by it
) WITHOUT ROWID;

CREATE TABLE turns (
  conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq          INTEGER NOT NULL,        -- 1, 2, 3… within the conversation
  role         TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
  text         TEXT NOT NULL,
  model        TEXT,                    -- assistant: the model that answered
  tokens       INTEGER,                 -- assistant: tokens generated
  ms           INTEGER,                 -- assistant: time to the full answer
  at           INTEGER NOT NULL,        -- unix ms
  PRIMARY KEY (conversation, seq)
) WITHOUT ROWID;

CREATE INDEX conversations_recent ON conversations(updated_at);
