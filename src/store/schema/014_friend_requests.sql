-- 014: friendship is a request the other cell accepts (docs/protocol.md: Friendship). `friend`
-- keeps its meaning (this cell shares with that one, takes its grants and answers its AI
-- questions) and is set only once both sides agreed; these columns hold the way there.
-- friend_pending: while friend = 0, 'requested' (this cell asked that one) or 'asked' (that one
--   asked this cell, not yet accepted); NULL otherwise. Read only while friend = 0, so a build
--   without this column that sets or clears `friend` still leaves a meaningful state.
-- friend_notice: a change this cell has not yet told that one, 'request' (asking or accepting)
--   or 'end'; sent again after each sync round until it answers. NULL when nothing is owed.
-- friendship_at: unix ms of the last change of friend / friend_pending made through requests.
ALTER TABLE peers ADD COLUMN friend_pending TEXT;
ALTER TABLE peers ADD COLUMN friend_notice TEXT;
ALTER TABLE peers ADD COLUMN friendship_at INTEGER;
