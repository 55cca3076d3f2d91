/**
 * @module store/held-store — what this cell keeps for other cells: their sealed chunks (bytes in
 * chunks/, one `held` row per owner) and their manifest backups (sealed to them, blobs in
 * placement.db). Enforces `max_peer_storage_bytes`; removes a chunk's file only when no
 * owner, and not this cell itself, still needs it. Records an owner asked to delete (its signed
 * DeleteRequest) stay in the trash (`trashed_at`) until trash/collector removes them: meanwhile
 * they are not kept for anyone (not listed, not counted, not served).
 */
import type { Database } from "bun:sqlite";
import { statfsSync } from "node:fs";
import { GroveError } from "../core/errors.ts";
import { isHex64, type CellId, type ChunkHash } from "../core/types.ts";
import type { ChunkStore, StagedChunk } from "./chunk-store.ts";
import { isFileNeeded } from "./references.ts";

export type BackupKind = "manifest" | "index";

export interface BackupItem {
  kind: BackupKind;
  name: string;
  blob: Uint8Array;
}

/** Room left on the disk below which nothing is accepted for others. */
export const MIN_FREE_BYTES = 1024 ** 3;

/** Refused for lack of room (the peer's cap or the disk): the owner places elsewhere. */
export class StorageFullError extends GroveError {
  constructor(message: string) {
    super(message, 507, "storage_full");
  }
}

export interface HeldTotals {
  owner: CellId;
  chunks: number;
  chunk_bytes: number;
  backups: number;
  backup_bytes: number;
}

export class HeldStore {
  constructor(
    private db: Database,
    private chunks: ChunkStore,
    /** The cap on what is kept for other cells, read at each check (config `max_peer_storage_bytes` is a live key). */
    private maxBytes: () => number,
  ) {}

  /** Bytes kept for all other cells together (chunks + backups). */
  totalBytes(): number {
    const c = this.db.query("SELECT COALESCE(SUM(size), 0) AS n FROM held WHERE trashed_at IS NULL").get() as { n: number };
    const b = this.db.query("SELECT COALESCE(SUM(size), 0) AS n FROM backups").get() as { n: number };
    return c.n + b.n;
  }

  /** totalBytes, summed once and then kept up to date by this store's own writes (the only writer). */
  private used: number | null = null;
  private usedBytes(): number {
    this.used ??= this.totalBytes();
    return this.used;
  }
  private changed(): void {
    this.used = null;
  }

  /** Throws StorageFullError when `bytes` more would pass the cap or leave the disk too full. */
  private checkRoom(bytes: number): void {
    const used = this.usedBytes();
    const max = this.maxBytes();
    if (used + bytes > max) {
      throw new StorageFullError(`storage for other cells is full (${used + bytes} > max_peer_storage_bytes ${max})`);
    }
    try {
      const s = statfsSync(this.chunks.root);
      if (s.bavail * s.bsize - bytes < MIN_FREE_BYTES) throw new StorageFullError("this cell's disk is nearly full");
    } catch (e) {
      if (e instanceof StorageFullError) throw e;
    }
  }

  has(owner: CellId, hash: ChunkHash): boolean {
    return this.db.query("SELECT 1 FROM held WHERE owner = ? AND chunk_hash = ? AND trashed_at IS NULL").get(owner, hash) !== null;
  }

  /**
   * Keep `sealed` (already checked to be named `hash`) for `owner`. Returns false when it was
   * already kept for that owner. The bytes are durable before the row is written; a record in
   * the trash is kept again (the owner wants it back).
   */
  async putChunk(owner: CellId, hash: ChunkHash, sealed: Uint8Array): Promise<boolean> {
    if (this.has(owner, hash) && this.chunks.has(hash)) return false;
    this.checkRoom(sealed.byteLength);
    return this.chunks.writing(async () => {
      const { durable } = await this.chunks.putStaged(hash, sealed);
      await durable;
      const had = this.db.query("SELECT 1 FROM held WHERE owner = ? AND chunk_hash = ?").get(owner, hash) !== null;
      this.db
        .query("INSERT OR REPLACE INTO held (owner, chunk_hash, size, stored_at) VALUES (?, ?, ?, ?)")
        .run(owner, hash, sealed.byteLength, Date.now());
      if (had) this.changed();
      else if (this.used !== null) this.used += sealed.byteLength;
      return true;
    });
  }

  /**
   * Keep a batch of chunks for `owner` (each already checked against its name): written one after
   * another, made durable as one group (ChunkStore.commit: one syncfs on Linux), then recorded in
   * one transaction, so a batch costs one group sync and one commit rather than one of each per chunk. `admit(bytes)` is asked for each new
   * chunk (the bounty allowance; null: refused). Returns per chunk "stored", "had" (kept already),
   * "full" (no room) or "over_allowance"; only durable chunks are recorded.
   */
  async putChunks(
    owner: CellId,
    items: readonly { hash: ChunkHash; sealed: Uint8Array }[],
    admit: (bytes: number) => boolean = () => true,
  ): Promise<("stored" | "had" | "full" | "over_allowance")[]> {
    return this.chunks.writing(async () => {
      const results: ("stored" | "had" | "full" | "over_allowance")[] = [];
      const group: StagedChunk[] = [];
      const writes: { hash: ChunkHash; sealed: Uint8Array }[] = [];
      const rows: { hash: ChunkHash; size: number }[] = [];
      let adding = 0;
      for (const it of items) {
        if (this.has(owner, it.hash) && this.chunks.has(it.hash)) {
          results.push("had");
          continue;
        }
        try {
          this.checkRoom(adding + it.sealed.byteLength);
        } catch (e) {
          if (!(e instanceof StorageFullError)) throw e;
          results.push("full");
          continue;
        }
        if (!admit(it.sealed.byteLength)) {
          results.push("over_allowance");
          continue;
        }
        adding += it.sealed.byteLength;
        writes.push(it);
        rows.push({ hash: it.hash, size: it.sealed.byteLength });
        results.push("stored");
      }
      // Every temp file written at once (one after another cost a round trip to the I/O pool each).
      const staged = await Promise.allSettled(writes.map((it) => this.chunks.stage(it.hash, it.sealed)));
      for (const s of staged) if (s.status === "fulfilled" && s.value) group.push(s.value);
      const failed = staged.find((s) => s.status === "rejected");
      if (failed) {
        await this.chunks.discard(group);
        throw (failed as PromiseRejectedResult).reason;
      }
      await this.chunks.commit(group, { rowsByCaller: true }); // small chunks' rows: with their held rows below
      const put = this.db.query("INSERT OR REPLACE INTO held (owner, chunk_hash, size, stored_at) VALUES (?, ?, ?, ?)");
      const now = Date.now();
      const existed = this.db.query("SELECT 1 FROM held WHERE owner = ? AND chunk_hash = ?");
      let replaced = false;
      this.db.transaction(() => {
        this.chunks.commitRows(group);
        for (const r of rows) {
          replaced ||= existed.get(owner, r.hash) !== null;
          put.run(owner, r.hash, r.size, now);
        }
      })();
      // Kept up to date, not summed again over every row held (that made a long drop-in quadratic).
      if (replaced) this.changed();
      else if (this.used !== null) this.used += adding;
      return results;
    });
  }

  /** Names (and sizes) of the chunks kept for `owner`, ascending. */
  chunksOf(owner: CellId): { hash: ChunkHash; size: number }[] {
    return this.db
      .query("SELECT chunk_hash AS hash, size FROM held WHERE owner = ? AND trashed_at IS NULL ORDER BY chunk_hash")
      .all(owner) as { hash: ChunkHash; size: number }[];
  }

  /**
   * The owner's (verified) DeleteRequest: its records of `hashes` go to the trash. Idempotent:
   * `trashed` counts those in the trash now, `not_held` those never kept for that owner.
   */
  trash(owner: CellId, hashes: readonly ChunkHash[], at = Date.now()): { trashed: number; not_held: number } {
    let fresh = 0;
    let already = 0;
    const put = this.db.query("UPDATE held SET trashed_at = ? WHERE owner = ? AND chunk_hash = ? AND trashed_at IS NULL");
    const kept = this.db.query("SELECT 1 FROM held WHERE owner = ? AND chunk_hash = ?");
    this.db.transaction(() => {
      for (const h of hashes) {
        if (put.run(at, owner, h).changes) fresh++;
        else if (kept.get(owner, h)) already++;
      }
    })();
    if (fresh) this.changed();
    return { trashed: fresh + already, not_held: hashes.length - fresh - already };
  }

  /** Stop keeping `hashes` for `owner`; files nobody needs any more are deleted. Returns how many rows went. */
  release(owner: CellId, hashes: readonly ChunkHash[]): number {
    let n = 0;
    const del = this.db.query("DELETE FROM held WHERE owner = ? AND chunk_hash = ?");
    this.db.transaction(() => {
      for (const h of hashes) n += del.run(owner, h).changes;
    })();
    for (const h of hashes) this.collect(h);
    if (n) this.changed();
    return n;
  }

  /** A copy that failed its own check: forget it for every owner and delete it. */
  dropCorrupt(hash: ChunkHash): void {
    this.db.query("DELETE FROM held WHERE chunk_hash = ?").run(hash);
    const own = this.db.query("SELECT 1 FROM chunks WHERE hash = ?").get(hash);
    if (own) this.db.query("DELETE FROM chunks WHERE hash = ?").run(hash);
    this.chunks.remove(hash);
    this.changed();
  }

  /** Delete chunk `hash` when no owner row, no local (own) row and no manifest refers to it. */
  private collect(hash: ChunkHash): void {
    if (!isFileNeeded(this.db, hash)) this.chunks.remove(hash);
  }

  // ---- manifest backups (blobs in placement.db: a batch is one transaction, one fsync) -------

  /**
   * Keep sealed backup blobs for `owner`, all or none. A new index replaces the previous one.
   * Names are 64 hex; the blobs are opaque (sealed by the owner to itself) but for their first
   * byte, the format: `dropFormat` removes the owner's other blobs whose first byte is that, in
   * the same transaction (an owner that moved to a newer format).
   */
  putBackups(owner: CellId, items: readonly BackupItem[], opts: { dropFormat?: number } = {}): void {
    if (!isHex64(owner)) throw new GroveError("owner must be a cell id", 400, "bad_request");
    for (const it of items) if (!isHex64(it.name)) throw new GroveError("backup names are 64 hex characters", 400, "bad_request");
    const indexes = items.filter((it) => it.kind === "index");
    if (indexes.length > 1) throw new GroveError("one index per batch", 400, "bad_request");
    const sizeOf = this.db.query("SELECT size FROM backups WHERE owner = ? AND name = ?");
    let delta = 0;
    for (const it of items) delta += it.blob.byteLength - ((sizeOf.get(owner, it.name) as { size: number } | null)?.size ?? 0);
    const oldIndex = indexes.length
      ? (this.db.query("SELECT name, size FROM backups WHERE owner = ? AND kind = 'index'").get(owner) as {
          name: string;
          size: number;
        } | null)
      : null;
    if (oldIndex && oldIndex.name !== indexes[0]!.name) delta -= oldIndex.size;
    const drop = opts.dropFormat === undefined ? null : new Uint8Array([opts.dropFormat]);
    // (The old index, already counted above, is not counted twice.)
    if (drop)
      delta -= (
        this.db
          .query("SELECT COALESCE(SUM(size), 0) AS n FROM backups WHERE owner = ? AND substr(data, 1, 1) = ? AND kind = 'manifest'")
          .get(owner, drop) as { n: number }
      ).n;
    this.checkRoom(delta);
    this.db.transaction(() => {
      if (oldIndex && oldIndex.name !== indexes[0]!.name)
        this.db.query("DELETE FROM backups WHERE owner = ? AND name = ?").run(owner, oldIndex.name);
      if (drop) this.db.query("DELETE FROM backups WHERE owner = ? AND substr(data, 1, 1) = ? AND kind = 'manifest'").run(owner, drop);
      const ins = this.db.query("INSERT OR REPLACE INTO backups (owner, name, kind, size, stored_at, data) VALUES (?, ?, ?, ?, ?, ?)");
      const now = Date.now();
      for (const it of items) ins.run(owner, it.name, it.kind, it.blob.byteLength, now, it.blob);
    })();
    this.changed();
  }

  /** Names of every backup kept for `owner`. */
  backupsOf(owner: CellId): { name: string; kind: BackupKind }[] {
    return this.db.query("SELECT name, kind FROM backups WHERE owner = ? ORDER BY name").all(owner) as { name: string; kind: BackupKind }[];
  }

  /** The blob, or null. `name` "index" means the owner's current index. */
  getBackup(owner: CellId, name: string): { name: string; blob: Uint8Array } | null {
    const row = (
      name === "index"
        ? this.db.query("SELECT name, data FROM backups WHERE owner = ? AND kind = 'index'").get(owner)
        : this.db.query("SELECT name, data FROM backups WHERE owner = ? AND name = ?").get(owner, name)
    ) as { name: string; data: Uint8Array | null } | null;
    if (!row?.data) return null;
    return { name: row.name, blob: new Uint8Array(row.data) };
  }

  /** Per owner: what we keep for it (the Storage tab). */
  totals(): HeldTotals[] {
    const rows = new Map<string, HeldTotals>();
    const get = (owner: string) => {
      let t = rows.get(owner);
      if (!t) rows.set(owner, (t = { owner: owner as CellId, chunks: 0, chunk_bytes: 0, backups: 0, backup_bytes: 0 }));
      return t;
    };
    for (const r of this.db
      .query("SELECT owner, COUNT(*) AS n, SUM(size) AS bytes FROM held WHERE trashed_at IS NULL GROUP BY owner")
      .all() as { owner: string; n: number; bytes: number }[]) {
      Object.assign(get(r.owner), { chunks: r.n, chunk_bytes: r.bytes });
    }
    for (const r of this.db.query("SELECT owner, COUNT(*) AS n, SUM(size) AS bytes FROM backups GROUP BY owner").all() as {
      owner: string;
      n: number;
      bytes: number;
    }[]) {
      Object.assign(get(r.owner), { backups: r.n, backup_bytes: r.bytes });
    }
    return [...rows.values()];
  }
}
