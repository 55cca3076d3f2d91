-- 005: manifest backups kept for other cells live in the database (a batch of them is one
-- transaction: one fsync instead of one per blob).
ALTER TABLE backups ADD COLUMN data BLOB;
