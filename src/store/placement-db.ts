/**
 * @module store/placement-db — placement.db (bun:sqlite, WAL): local chunks, manifests, file
 * versions, and later which cells hold which chunk. Every multi-row change is one transaction.
 */
import { Database } from "bun:sqlite";
import type { ChunkHash, FileHash, ManifestHash } from "../core/types.ts";
import { migrate } from "./migrations.ts";
import { rowsForEach } from "../core/json-each.ts";

/** The columns of a FileEntry, from file_versions `v` joined with manifests `m` (current, currentMany, list). */
const FILE_ENTRY = "v.path, v.version, v.manifest_hash, m.file_hash, m.total_size AS size, m.chunk_count AS chunks, v.at AS updated_at";

export interface FileEntry {
  path: string;
  version: number;
  manifest_hash: ManifestHash;
  file_hash: FileHash;
  size: number;
  chunks: number;
  updated_at: number;
}

export interface VersionEntry {
  version: number;
  manifest_hash: ManifestHash | null;
  file_hash: FileHash | null;
  size: number | null;
  at: number;
  deleted: boolean;
}

export interface ManifestRow {
  manifest_hash: ManifestHash;
  source_path: string;
  file_hash: FileHash;
  total_size: number;
  chunk_count: number;
  manifest_file: string;
  owner: string;
  created_at: number;
}

export interface NewVersion {
  path: string;
  manifestHash: ManifestHash;
  manifestFile: string;
  fileHash: FileHash;
  totalSize: number;
  owner: string;
  chunks: { hash: ChunkHash; size: number; index: number }[];
  createdAt: number;
  /** The manifest file's exact content, when that file is not fsynced yet (kept in manifest_pending until it is). */
  pendingBody?: string;
  /** The plaintext copy at `path` in GROVE_HOME is not fsynced yet (home_pending until it is). */
  homePending?: boolean;
}

/**
 * Every `db.transaction(fn)()` on placement.db begins IMMEDIATE: it takes the write lock first,
 * waiting its turn (busy_timeout) behind the other connections (the sync Worker's, a CLI's). A
 * DEFERRED one that reads before it writes (the next version number, then the row) holds a read
 * snapshot, and when another connection commits before its first write, SQLite refuses the write
 * at once with "database is locked", without waiting: a deletion the watcher saw, or a batch of
 * files stored, was lost that way while the sync Worker recorded placements
 * (test/store/placement-db-writers). Nested calls are savepoints, as before; `.deferred()` is
 * still there for a transaction that only reads.
 */
function immediateTransactions(db: Database): void {
  const make = db.transaction.bind(db);
  db.transaction = ((fn: (...args: never[]) => unknown) => {
    const t = make(fn);
    return Object.assign((...args: never[]) => t.immediate(...args), {
      deferred: t.deferred,
      immediate: t.immediate,
      exclusive: t.exclusive,
    });
  }) as Database["transaction"];
}

/** The WAL file's size kept after a checkpoint took all of it. */
const WAL_KEEP_BYTES = 64 * 1024 * 1024;

export class PlacementDb {
  readonly db: Database;

  constructor(path: string) {
    this.db = new Database(path, { create: true, strict: true });
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = FULL");
    this.db.exec("PRAGMA foreign_keys = ON");
    this.db.exec("PRAGMA busy_timeout = 5000");
    // Sorts and temporary b-trees in memory: as files (in /var/tmp) they wrote about 70 KB per
    // small file stored, more than the file itself (bench/replicate d, strace by path).
    this.db.exec("PRAGMA temp_store = MEMORY");
    // The WAL file is cut back to this once a checkpoint has taken all of it (else it keeps the
    // size of the largest burst, e.g. a folder of small files whose chunks are rows).
    this.db.exec(`PRAGMA journal_size_limit = ${WAL_KEEP_BYTES}`);
    immediateTransactions(this.db);
    migrate(this.db);
  }

  /**
   * Checkpoints of the WAL: on this connection's commits (SQLite's default, every 1,000 pages), or
   * elsewhere (`false`: another thread's connection calls `checkpoint` now and then). A checkpoint
   * copies the WAL into the database file and fsyncs it; run by the commit that crossed the mark, it
   * doubled the commit of a group of small files (about 8 MiB of rows: 14 ms alone, 30 ms with it,
   * on this disk), on the thread that answers the dashboard and my cells. The sync Worker takes
   * them instead (sync/sync-worker); the main thread takes them back when that Worker is gone.
   */
  checkpointOnCommit(on: boolean): void {
    this.db.exec(`PRAGMA wal_autocheckpoint = ${on ? 1000 : 0}`);
  }

  /** A checkpoint that waits for no reader or writer (PASSIVE): what it can copy now. */
  checkpoint(): void {
    this.db.exec("PRAGMA wal_checkpoint(PASSIVE)");
  }

  close(): void {
    this.db.close();
  }

  /** Current (not deleted) version of `path`, or null. */
  current(path: string): FileEntry | null {
    return (
      (this.db
        .query(
          `SELECT ${FILE_ENTRY}
           FROM file_versions v JOIN manifests m ON m.manifest_hash = v.manifest_hash
           WHERE v.path = ? AND v.version = (SELECT MAX(version) FROM file_versions WHERE path = v.path)`,
        )
        .get(path) as FileEntry | null) ?? null
    );
  }

  /**
   * `current` of many paths in one query: path → its current version, for those that have one.
   * Each query begins a read transaction of its own (locks on the WAL index): per file, in a
   * folder of thousands stored together, the lookups cost more than the rest of describing it.
   */
  currentMany(paths: readonly string[]): Map<string, FileEntry> {
    const rows = rowsForEach<FileEntry>(
      this.db,
      `SELECT ${FILE_ENTRY}
       FROM json_each(?) p
       JOIN file_versions v ON v.path = p.value AND v.version = (SELECT MAX(version) FROM file_versions WHERE path = p.value)
       JOIN manifests m ON m.manifest_hash = v.manifest_hash`,
      paths,
    );
    return new Map(rows.map((r) => [r.path, r]));
  }

  /** `lastVersion` of many paths in one query: path → the highest version number ever used (absent: 0). */
  lastVersions(paths: readonly string[]): Map<string, number> {
    const rows = rowsForEach<{ path: string; v: number }>(
      this.db,
      `SELECT p.value AS path, MAX(
         COALESCE((SELECT MAX(version) FROM file_versions WHERE path = p.value), 0),
         COALESCE((SELECT MAX(version) FROM purged_versions WHERE path = p.value), 0)) AS v
       FROM json_each(?) p`,
      paths,
    );
    return new Map(rows.filter((r) => r.v).map((r) => [r.path, r.v]));
  }

  /** True when `hash` is recorded as held here (`chunks`): missing from the store, it is lost, not elsewhere. */
  hasChunk(hash: string): boolean {
    return this.db.query("SELECT 1 FROM chunks WHERE hash = ?").get(hash) !== null;
  }

  /** Highest version number ever used for `path` (0 when none), versions waiting in the trash included. */
  lastVersion(path: string): number {
    const r = this.db
      .query(
        "SELECT MAX(v) AS v FROM (SELECT MAX(version) AS v FROM file_versions WHERE path = ?1 UNION ALL SELECT MAX(version) FROM purged_versions WHERE path = ?1)",
      )
      .get(path) as { v: number | null };
    return r.v ?? 0;
  }

  /**
   * Files whose newest version records a deletion and whose history still holds content (what
   * the Trash view lists and Undo brings back), newest deletion first: when deleted, and the last
   * content version's number and size.
   */
  deletedFiles(): { path: string; deleted_at: number; version: number; size: number }[] {
    return this.db
      .query(
        `SELECT d.path, d.at AS deleted_at, v.version, m.total_size AS size
         FROM file_versions d
         JOIN file_versions v ON v.path = d.path
           AND v.version = (SELECT MAX(version) FROM file_versions WHERE path = d.path AND manifest_hash IS NOT NULL)
         JOIN manifests m ON m.manifest_hash = v.manifest_hash
         WHERE d.manifest_hash IS NULL AND d.version = (SELECT MAX(version) FROM file_versions WHERE path = d.path)
         ORDER BY d.at DESC, d.path`,
      )
      .all() as { path: string; deleted_at: number; version: number; size: number }[];
  }

  /** Current files, optionally under a directory prefix ("a/b" lists a/b/…). */
  list(prefix = ""): FileEntry[] {
    const like = prefix ? prefix.replace(/[\\%_]/g, (c) => "\\" + c) + "/%" : "%";
    return this.db
      .query(
        `SELECT ${FILE_ENTRY}
         FROM file_versions v JOIN manifests m ON m.manifest_hash = v.manifest_hash
         WHERE v.path LIKE ? ESCAPE '\\'
           AND v.version = (SELECT MAX(version) FROM file_versions WHERE path = v.path)
         ORDER BY v.path`,
      )
      .all(like) as FileEntry[];
  }

  /** Every version of `path`, newest first. */
  versions(path: string): VersionEntry[] {
    const rows = this.db
      .query(
        `SELECT v.version, v.manifest_hash, m.file_hash, m.total_size AS size, v.at
         FROM file_versions v LEFT JOIN manifests m ON m.manifest_hash = v.manifest_hash
         WHERE v.path = ? ORDER BY v.version DESC`,
      )
      .all(path) as Omit<VersionEntry, "deleted">[];
    return rows.map((r) => ({ ...r, deleted: r.manifest_hash === null }));
  }

  manifest(hash: ManifestHash): ManifestRow | null {
    return (this.db.query("SELECT * FROM manifests WHERE manifest_hash = ?").get(hash) as ManifestRow | null) ?? null;
  }

  /** Record a manifest (if new), its chunks, and a new version of its path: one transaction. */
  addVersion(v: NewVersion): number {
    return this.db.transaction(() => this.insertVersion(v, this.lastVersion(v.path) + 1))();
  }

  /** Record `v` as version `version` of its path (inside the caller's transaction). */
  private insertVersion(v: NewVersion, version: number): number {
    const now = Date.now();
    const insChunk = this.db.query("INSERT OR IGNORE INTO chunks (hash, size, stored_at) VALUES (?, ?, ?)");
    for (const c of v.chunks) insChunk.run(c.hash, c.size, now);
    this.insertManifest(v);
    if (v.pendingBody !== undefined)
      this.db
        .query("INSERT OR REPLACE INTO manifest_pending (manifest_file, body, at) VALUES (?, ?, ?)")
        .run(v.manifestFile, v.pendingBody, now);
    if (v.homePending)
      this.db.query("INSERT OR REPLACE INTO home_pending (path, file_hash, at) VALUES (?, ?, ?)").run(v.path, v.fileHash, now);
    this.db
      .query("INSERT INTO file_versions (path, version, manifest_hash, at) VALUES (?, ?, ?, ?)")
      .run(v.path, version, v.manifestHash, now);
    return version;
  }

  /**
   * Several new versions in one transaction (one commit, one fsync); returns their numbers in
   * order. The paths' version numbers so far are read in one query, not one per version.
   */
  addVersions(vs: readonly NewVersion[]): number[] {
    return this.db.transaction(() => {
      const last = this.lastVersions(vs.map((v) => v.path));
      return vs.map((v) => {
        const version = (last.get(v.path) ?? 0) + 1;
        last.set(v.path, version);
        return this.insertVersion(v, version);
      });
    })();
  }

  /** Manifest files not fsynced yet (store/manifest-settle), oldest first, at most `limit`; `recorded`: a manifest row still names the file (else trash collection forgot it). */
  pendingManifests(limit: number): { manifest_file: string; body: string; recorded: boolean }[] {
    return (
      this.db
        .query(
          `SELECT p.manifest_file, p.body, EXISTS (SELECT 1 FROM manifests m WHERE m.manifest_file = p.manifest_file) AS recorded
           FROM manifest_pending p ORDER BY p.at LIMIT ?`,
        )
        .all(limit) as { manifest_file: string; body: string; recorded: number }[]
    ).map((r) => ({ ...r, recorded: r.recorded === 1 }));
  }

  /** Plaintext copies in GROVE_HOME not fsynced yet (ingest/home-copies), recorded at `since` or later, oldest first, at most `limit`. */
  pendingHomeCopies(limit: number, since = 0): { path: string; file_hash: FileHash; at: number }[] {
    return this.db.query("SELECT path, file_hash, at FROM home_pending WHERE at >= ? ORDER BY at LIMIT ?").all(since, limit) as {
      path: string;
      file_hash: FileHash;
      at: number;
    }[];
  }

  /** The plaintext copy at `path` in GROVE_HOME, of content `fileHash`, is not fsynced yet (see NewVersion.homePending). */
  pendHomeCopy(path: string, fileHash: FileHash): void {
    this.db.query("INSERT OR REPLACE INTO home_pending (path, file_hash, at) VALUES (?, ?, ?)").run(path, fileHash, Date.now());
  }

  /** These home copies are durable now (or no longer this cell's to keep). */
  settledHomeCopies(rows: readonly { path: string; at: number }[]): void {
    const del = this.db.query("DELETE FROM home_pending WHERE path = ? AND at = ?");
    this.db.transaction(() => {
      for (const r of rows) del.run(r.path, r.at);
    })();
  }

  /** The body of manifest file `rel` while it is pending (store/manifest's readers, before the file is written), or null. */
  pendingManifestBody(rel: string): string | null {
    return (this.db.query("SELECT body FROM manifest_pending WHERE manifest_file = ?").get(rel) as { body: string } | null)?.body ?? null;
  }

  /** These manifest files are durable now. */
  settledManifests(files: readonly string[]): void {
    const del = this.db.query("DELETE FROM manifest_pending WHERE manifest_file = ?");
    this.db.transaction(() => {
      for (const f of files) del.run(f);
    })();
  }

  /** A new version of `path` with a manifest already known here (restoring an older version). Returns its number. */
  reinstate(path: string, manifestHash: ManifestHash): number {
    return this.db.transaction(() => {
      if (!this.db.query("SELECT 1 FROM manifests WHERE manifest_hash = ?").get(manifestHash))
        throw new Error(`unknown manifest ${manifestHash}`);
      const version = this.lastVersion(path) + 1;
      this.db
        .query("INSERT INTO file_versions (path, version, manifest_hash, at) VALUES (?, ?, ?, ?)")
        .run(path, version, manifestHash, Date.now());
      return version;
    })();
  }

  /**
   * Copy or move files within the tree, in one transaction: each `to` gets a new version naming
   * the manifest that is current at `from` (nothing is sealed again), and a move also records a
   * deletion at `from`, so history shows where the content went. A `to` that already has that
   * manifest gets no new version. Throws when a `from` has no current file.
   */
  relocate(pairs: readonly { from: string; to: string }[], move: boolean): void {
    this.db.transaction(() => {
      for (const { from, to } of pairs) {
        const cur = this.current(from);
        if (!cur) throw new Error(`no current file at '${from}'`);
        if (this.current(to)?.manifest_hash !== cur.manifest_hash) this.reinstate(to, cur.manifest_hash);
        if (move) this.markDeleted(from);
      }
    })();
  }

  /** Record a deletion of `path` (its history stays). Returns the tombstone's version. */
  markDeleted(path: string): number {
    return this.db.transaction(() => {
      const version = this.lastVersion(path) + 1;
      this.db.query("INSERT INTO file_versions (path, version, manifest_hash, at) VALUES (?, ?, NULL, ?)").run(path, version, Date.now());
      return version;
    })();
  }

  /** The manifest's row and chunk references, unless known; true when inserted. Call inside a transaction. */
  private insertManifest(v: NewVersion): boolean {
    if (this.db.query("SELECT 1 FROM manifests WHERE manifest_hash = ?").get(v.manifestHash)) return false;
    this.db
      .query(
        `INSERT INTO manifests (manifest_hash, source_path, file_hash, total_size, chunk_count, manifest_file, owner, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(v.manifestHash, v.path, v.fileHash, v.totalSize, v.chunks.length, v.manifestFile, v.owner, v.createdAt);
    const insRef = this.db.query("INSERT INTO manifest_chunks (manifest_hash, idx, chunk_hash) VALUES (?, ?, ?)");
    for (const c of v.chunks) insRef.run(v.manifestHash, c.index, c.hash);
    return true;
  }

  /** A manifest restored from a backup (its chunks are not here yet, no version row). False when already known. */
  importManifest(v: NewVersion): boolean {
    return this.db.transaction(() => this.insertManifest(v))();
  }

  /** Every history row (the manifest backup's index). */
  allVersions(): { path: string; version: number; manifest_hash: ManifestHash | null; at: number }[] {
    return this.db.query("SELECT path, version, manifest_hash, at FROM file_versions ORDER BY path, version").all() as {
      path: string;
      version: number;
      manifest_hash: ManifestHash | null;
      at: number;
    }[];
  }

  /** Restore history rows not yet here whose manifest is known (or that record a deletion). Returns how many. */
  importVersions(rows: readonly { path: string; version: number; manifest_hash: ManifestHash | null; at: number }[]): number {
    let n = 0;
    this.db.transaction(() => {
      const has = this.db.query("SELECT 1 FROM file_versions WHERE path = ? AND version = ?");
      const known = this.db.query("SELECT 1 FROM manifests WHERE manifest_hash = ?");
      const ins = this.db.query("INSERT INTO file_versions (path, version, manifest_hash, at) VALUES (?, ?, ?, ?)");
      for (const r of rows) {
        if (has.get(r.path, r.version)) continue;
        if (r.manifest_hash !== null && !known.get(r.manifest_hash)) continue;
        ins.run(r.path, r.version, r.manifest_hash, r.at);
        n++;
      }
    })();
    return n;
  }

  /** Hashes of every manifest this cell owns. */
  ownManifests(owner: string): ManifestHash[] {
    return (this.db.query("SELECT manifest_hash FROM manifests WHERE owner = ?").values(owner) as [ManifestHash][]).map((r) => r[0]);
  }

  /** Totals for the status page. */
  stats(): { files: number; chunks: number; stored_bytes: number } {
    const c = this.db.query("SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM chunks").get() as { n: number; bytes: number };
    const f = this.db
      .query(
        `SELECT COUNT(*) AS n FROM file_versions v
         WHERE v.manifest_hash IS NOT NULL AND v.version = (SELECT MAX(version) FROM file_versions WHERE path = v.path)`,
      )
      .get() as { n: number };
    return { files: f.n, chunks: c.n, stored_bytes: c.bytes };
  }
}
