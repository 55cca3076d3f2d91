-- 018: manifests found by their file (docs/design.md, "What is durable, and when").
-- Additive: an index only; an older build reads the database as before.
--
-- store/manifest-settle asks, for each pending manifest file, whether a manifest row still names
-- it, and trash collection asks it for every file under manifests/. Without an index each question
-- read the whole table: 3,000 pending manifests among 3,000 took 430-650 ms per settle.
CREATE INDEX manifests_by_file ON manifests(manifest_file);
