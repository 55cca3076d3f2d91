-- 015: folders and WebDAV properties (docs/design.md, "WebDAV"). Additive: older builds ignore
-- both tables (min_reader stays).

-- Folders kept on purpose: made empty (MKCOL over /dav/), or the folder a WebDAV client deleted or
-- moved the last file out of (a collection does not vanish with its members). A folder also
-- exists, without a row, while any current file or any row is under it, so a file stored by
-- `grove put` needs none. path: relative to GROVE_HOME, no trailing "/". Local to this cell: not
-- in the manifest backups (yet).
CREATE TABLE folders (
  path       TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL      -- unix ms
) WITHOUT ROWID;

-- Dead properties WebDAV clients set with PROPPATCH (RFC 4918 section 4): per path, by namespace
-- and name; value = the property element's content as XML. They move and copy with their path and
-- go when it is deleted (they are not versioned). Local to this cell.
CREATE TABLE dav_properties (
  path  TEXT NOT NULL,
  ns    TEXT NOT NULL,             -- "" for a property in no namespace
  name  TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (path, ns, name)
) WITHOUT ROWID;
