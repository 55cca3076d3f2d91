-- 014: which builds may use this database. An update that is rolled back after the newer build
-- migrated placement.db leaves a database with migrations the older build does not know. It may
-- still open it when those migrations were additive (new tables, new columns with defaults, new
-- indexes): `min_reader` is the lowest schema version a build must know to read and write this
-- database. An additive migration leaves it as it is; any other migration raises it to its own
-- number (UPDATE schema_meta SET value = N WHERE key = 'min_reader'). See store/migrations.
CREATE TABLE schema_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO schema_meta (key, value) VALUES ('min_reader', 14);
