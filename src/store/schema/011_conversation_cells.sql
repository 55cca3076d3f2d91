-- 011: which cell answered (the assistant may ask a friend's cell: issue 7 routing).
-- turns.cell: the id of the cell whose model made an assistant turn (this cell's own id for a
-- local model or its Ollama); NULL for questions and for turns stored before this migration
-- (all answered here). conversations.cell: the cell of the latest answer, so continuing a
-- conversation asks the same cell by default.
ALTER TABLE turns ADD COLUMN cell TEXT;
ALTER TABLE conversations ADD COLUMN cell TEXT;
