/**
 * @module tree/event-log — the tree events this cell holds, in placement.db (`tree_events`,
 * `tree_manifests`, `tree_local`), with the set and the tree they give kept in memory.
 *
 * It appends this cell's own events (numbered 1, 2, 3, … and stamped by its hybrid clock), keeps
 * the events my other cells send (each once), answers what a cell with a given version vector
 * lacks, and remembers which of this cell's own files its events last described. It does not
 * check what it is given: the caller (mine/my-tree) parses events and manifests first.
 *
 * Memory follows the database: an event is in the set, the tree and the vector (so counted for
 * the next seq) only while its row is. A transaction can be undone after an event was written:
 * this module's own (a full disk, a COMMIT refused), a savepoint of the caller's that rolls back
 * (mine/my-tree's reconcile inside `vault.describe`, which catches), or the caller's outer
 * transaction (ingest's versions, or anything that throws after `append`/`receive` returned
 * inside it). bun:sqlite tells nobody of a commit or a rollback, so the design is *written at
 * once, checked at the next use*: an event goes into memory when it is written (later changes in
 * the same transaction must see it: the next seq, what it replaces), and is noted as unsettled.
 * Every public method first settles: when the newest unsettled event's row is gone, something
 * rolled back, and memory is read again from the database (O(events), as when the cell opens;
 * only after a failure); when it is there and no transaction is open, every unsettled event was
 * committed and the note is cleared. The newest alone tells, because a rollback undoes
 * everything written after the savepoint it returns to (a suffix of what was written), and the
 * log settles before it writes anything, so nothing is written after an undone event before
 * memory has forgotten it. While unsettled events are noted, each public call costs one lookup
 * by primary key. The hybrid clock is not turned back: a stamp made for an undone event is only
 * skipped. Only this module writes `tree_events`.
 */
import type { Database } from "bun:sqlite";
import type { CellId, ManifestHash } from "../core/types.ts";
import { rowsForEach } from "../core/json-each.ts";
import { eventId, type EventId, type TreeEvent } from "./events.ts";
import { HybridClock } from "./hlc.ts";
import { LiveTree } from "./live-tree.ts";
import type { TreeEntry } from "./materialize.ts";
import { EventSet, type VersionVector } from "./version-vector.ts";

/** A change made on this cell, before it is numbered and stamped. */
export interface LocalChange {
  kind: TreeEvent["kind"];
  path: string;
  from?: string;
  manifest?: { hash: ManifestHash; body: string };
}

export class EventLog {
  private set = new EventSet();
  private live = new LiveTree();
  /** Events written to memory whose transaction may not have committed yet, oldest first (see the module's header). */
  private unsettled: TreeEvent[] = [];
  readonly clock: HybridClock;

  constructor(
    private readonly db: Database,
    private readonly self: CellId,
    now: () => number = Date.now,
  ) {
    this.load();
    this.clock = new HybridClock(now);
    for (const e of this.set.events()) this.clock.observe(e.at);
  }

  /** Memory from the database: every event its rows hold (as this connection sees them). */
  private load(): void {
    const rows = this.db.query("SELECT body FROM tree_events").all() as { body: string }[];
    this.set = new EventSet(rows.map((r) => JSON.parse(r.body) as TreeEvent));
    this.live = new LiveTree();
    for (const e of this.set.events()) this.live.add(e);
  }

  /** Bring memory in line with what the database holds after a commit or a rollback (see the module's header). */
  private settle(): void {
    const newest = this.unsettled.at(-1);
    if (!newest) return;
    if (!this.held(newest)) {
      // Rolled back: forget what is gone; what is still written may yet be undone with its transaction.
      this.unsettled = this.unsettled.filter((e) => this.held(e));
      this.load();
    }
    if (!this.db.inTransaction) this.unsettled = [];
  }

  private held(e: TreeEvent): boolean {
    return this.db.query("SELECT 1 FROM tree_events WHERE origin = ? AND seq = ?").get(e.origin, e.seq) !== null;
  }

  /**
   * The tree the events give (tree/materialize), kept up to date event by event (tree/live-tree):
   * not sorted, and the same map brought up to date at every call (do not keep it across an await).
   */
  current(): ReadonlyMap<string, TreeEntry> {
    this.settle();
    return this.live.view();
  }

  /** The conflict copies of the tree now, by name (see current()). */
  conflictCopies(): ReadonlyMap<string, TreeEntry> {
    this.settle();
    return this.live.conflictCopies();
  }

  event(id: EventId): TreeEvent | null {
    this.settle();
    return this.set.get(id) ?? null;
  }

  get size(): number {
    this.settle();
    return this.set.size;
  }

  vector(): VersionVector {
    this.settle();
    return this.set.vector();
  }

  /** What a cell whose vector is `theirs` lacks, oldest first, at most `limit`; `more` when there is more. */
  missingFrom(theirs: VersionVector, limit: number): { events: TreeEvent[]; more: boolean } {
    this.settle();
    const some = this.set.missingFrom(theirs, limit + 1);
    return { events: some.slice(0, limit), more: some.length > limit };
  }

  manifestBody(hash: string): string | null {
    const r = this.db.query("SELECT body FROM tree_manifests WHERE manifest_hash = ?").get(hash) as { body: string } | null;
    return r?.body ?? null;
  }

  /**
   * Make this cell's own events for `changes`, in order, in one transaction; `by` is this cell's
   * name now. Each replaces what the tree shows at the paths it touches (for a put, the path; for a
   * move, both). Returns the events made.
   */
  append(changes: readonly LocalChange[], by: string): TreeEvent[] {
    if (!changes.length) return [];
    this.settle();
    const made: TreeEvent[] = [];
    // The tree is materialized once per append, not once per change (that was quadratic for a
    // folder of files): `put` holds what this append's own events made current. A path this
    // append deleted or moved away may show another entry once materialized again (a conflict
    // copy's loser becomes current), so a change there materializes again first.
    let tree = this.live.view();
    const put = new Map<string, EventId>();
    const vacated = new Set<string>();
    this.db.transaction(() => {
      for (const c of changes) {
        const touches = [c.path, ...(c.from ? [c.from] : [])];
        if (touches.some((p) => vacated.has(p))) {
          tree = this.live.view();
          put.clear();
          vacated.clear();
        }
        const replaces = touches.flatMap((p) => {
          const at = put.get(p) ?? tree.get(p)?.event;
          return at ? [at] : [];
        });
        const e: TreeEvent = {
          origin: this.self,
          by: [...by].slice(0, 64).join("") || "cell",
          seq: this.set.nextSeq(this.self),
          at: this.clock.tick(),
          kind: c.kind,
          path: c.path,
          ...(c.from ? { from: c.from } : {}),
          ...(c.manifest ? { manifest: c.manifest.hash } : {}),
          replaces,
        };
        if (c.manifest) this.putManifest(c.manifest.hash, c.manifest.body);
        this.insert(e);
        made.push(e);
        if (c.kind === "delete") vacated.add(c.path);
        else put.set(c.path, eventId(e));
        if (c.from) vacated.add(c.from);
      }
    })();
    return made;
  }

  /**
   * Keep events another of my cells sent (checked by the caller) and the manifests they name.
   * Returns those that were new. Events of this cell's own origin are taken only with `ownToo`
   * (a cell recovered from its words, getting back the events it made before): else they come
   * only from us.
   */
  receive(events: readonly TreeEvent[], manifests: ReadonlyMap<string, string>, ownToo = false): TreeEvent[] {
    this.settle();
    const added: TreeEvent[] = [];
    const keep = this.db.transaction(() => {
      for (const [h, body] of manifests) this.putManifest(h, body);
      for (const e of events) {
        if (e.origin === this.self && !ownToo) continue;
        this.clock.observe(e.at);
        if (this.insert(e)) added.push(e);
      }
    });
    // Events of my other cells can be pulled again: their commit does not wait for the disk. In
    // WAL mode a commit at synchronous NORMAL is whole or absent after a power cut, never torn,
    // and the next commit at FULL (this cell's own changes, the versions it writes) makes it
    // durable with itself. One lost is pulled again: this cell's vector does not count it. Inside
    // a caller's transaction the setting cannot change (SQLite refuses): its commit decides.
    if (this.db.inTransaction) {
      keep();
      return added;
    }
    const was = (this.db.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous;
    this.db.exec("PRAGMA synchronous = NORMAL");
    try {
      keep();
    } finally {
      this.db.exec(`PRAGMA synchronous = ${was}`);
    }
    return added;
  }

  /** This cell's own files as its events last described them: path → manifest hash. */
  localView(): Map<string, ManifestHash> {
    const rows = this.db.query("SELECT path, manifest_hash FROM tree_local").all() as { path: string; manifest_hash: ManifestHash }[];
    return new Map(rows.map((r) => [r.path, r.manifest_hash]));
  }

  /** What this cell's events last said of its own file at `path`, or null. */
  localAt(path: string): ManifestHash | null {
    const r = this.db.query("SELECT manifest_hash FROM tree_local WHERE path = ?").get(path) as { manifest_hash: ManifestHash } | null;
    return r?.manifest_hash ?? null;
  }

  /** `localAt` of many paths in one query: path → what the events last said of it, for those they describe. */
  localAtMany(paths: readonly string[]): Map<string, ManifestHash> {
    const rows = rowsForEach<{ path: string; manifest_hash: ManifestHash }>(
      this.db,
      "SELECT l.path, l.manifest_hash FROM json_each(?) p JOIN tree_local l ON l.path = p.value",
      paths,
    );
    return new Map(rows.map((r) => [r.path, r.manifest_hash]));
  }

  /** Record that the events now describe these own files (inside the caller's transaction, or on its own). */
  setLocal(changes: readonly { path: string; manifest: ManifestHash | null }[]): void {
    const put = this.db.query("INSERT OR REPLACE INTO tree_local (path, manifest_hash) VALUES (?, ?)");
    const del = this.db.query("DELETE FROM tree_local WHERE path = ?");
    this.db.transaction(() => {
      for (const c of changes) {
        if (c.manifest) put.run(c.path, c.manifest);
        else del.run(c.path);
      }
    })();
  }

  /** The pinned paths (files or folders) of this cell. */
  pins(): string[] {
    return (this.db.query("SELECT path FROM tree_pins ORDER BY path").values() as [string][]).map((r) => r[0]);
  }

  /** True when `path` is pinned, itself or by a folder above it. */
  pinned(path: string, pins = this.pins()): boolean {
    return pins.some((p) => p === "" || p === path || path.startsWith(p + "/"));
  }

  pin(path: string, at = Date.now()): void {
    this.db.query("INSERT OR REPLACE INTO tree_pins (path, at) VALUES (?, ?)").run(path, at);
  }

  /** Unpin `path` and every pin under it; returns the pins removed. */
  unpin(path: string): string[] {
    const gone = this.pins().filter((p) => p === path || path === "" || p.startsWith(path + "/"));
    const del = this.db.query("DELETE FROM tree_pins WHERE path = ?");
    this.db.transaction(() => {
      for (const p of gone) del.run(p);
    })();
    return gone;
  }

  private putManifest(hash: string, body: string): void {
    this.db.query("INSERT OR IGNORE INTO tree_manifests (manifest_hash, body) VALUES (?, ?)").run(hash, body);
  }

  /** Write `e` (when not held), then take it into memory as unsettled: a later change in this transaction sees it. */
  private insert(e: TreeEvent): boolean {
    if (this.set.get(eventId(e))) return false;
    this.db.query("INSERT OR IGNORE INTO tree_events (origin, seq, body) VALUES (?, ?, ?)").run(e.origin, e.seq, JSON.stringify(e));
    this.set.add(e);
    this.live.add(e);
    this.unsettled.push(e);
    return true;
  }
}
