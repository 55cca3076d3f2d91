/**
 * @module tree/live-tree — the tree of tree/materialize kept up to date event by event, so a
 * change costs in proportion to what it touches, not to the size of the tree (a cell with 100,000
 * files pays no full materialize per file stored or received).
 *
 * It holds, per path, the live events there (put or move events no other event replaces), the
 * winner of each path, and the conflict copies of the paths where more than one event is live.
 * `view()` is the same map `materialize` gives for the same events (tests/tree check it on random
 * histories), except that it is not sorted by path: a caller that shows it in order sorts it.
 * Conflict copies are rare; their names depend on the whole tree (a copy never takes a current
 * path), so they are named again, all of them, when anything changed while there are some.
 */
import { eventId, type EventId, type TreeEvent } from "./events.ts";
import { conflictName, newestFirst, numbered, type TreeEntry } from "./materialize.ts";

export class LiveTree {
  /** Every event id some event replaces (an event may arrive after the one that replaces it). */
  private readonly replaced = new Set<EventId>();
  /** The live events, by id. */
  private readonly liveById = new Map<EventId, TreeEvent>();
  /** Per path, its live events. */
  private readonly live = new Map<string, TreeEvent[]>();
  /** Paths with more than one live event: their losers become conflict copies. */
  private readonly contested = new Set<string>();
  /** Paths whose winner may have changed since the view was last brought up to date. */
  private readonly dirty = new Set<string>();
  /** The conflict copies in the view now, by name. */
  private copies = new Map<string, TreeEntry>();
  private readonly tree = new Map<string, TreeEntry>();

  /** Take `e` (the caller keeps each event once). */
  add(e: TreeEvent): void {
    for (const r of e.replaces) {
      if (this.replaced.has(r)) continue;
      this.replaced.add(r);
      const old = this.liveById.get(r);
      if (old) this.drop(old);
    }
    const id = eventId(e);
    if (this.replaced.has(id) || e.kind === "delete") return;
    this.liveById.set(id, e);
    const at = this.live.get(e.path);
    if (at) at.push(e);
    else this.live.set(e.path, [e]);
    this.touched(e.path);
  }

  /**
   * The tree now: path → entry (winners and conflict copies), not sorted. The same map, brought up
   * to date, at every call: read it, do not change it or keep it across an await.
   */
  view(): ReadonlyMap<string, TreeEntry> {
    if (!this.dirty.size) return this.tree;
    // Copies out first: a path that became current may take a name a copy had.
    for (const [name, entry] of this.copies) if (this.tree.get(name) === entry) this.tree.delete(name);
    for (const path of this.dirty) {
      const entries = this.live.get(path);
      if (!entries) {
        this.tree.delete(path);
        continue;
      }
      entries.sort(newestFirst);
      const w = entries[0]!;
      this.tree.set(path, { manifest: w.manifest!, event: eventId(w) });
    }
    this.dirty.clear();
    this.copies = this.nameCopies();
    for (const [name, entry] of this.copies) this.tree.set(name, entry);
    return this.tree;
  }

  /** The conflict copies in the view now, by name (a few at most: read it, do not keep it). */
  conflictCopies(): ReadonlyMap<string, TreeEntry> {
    this.view();
    return this.copies;
  }

  private drop(e: TreeEvent): void {
    this.liveById.delete(eventId(e));
    const at = this.live.get(e.path)!;
    const rest = at.filter((x) => x !== e);
    if (rest.length) this.live.set(e.path, rest);
    else this.live.delete(e.path);
    this.touched(e.path);
  }

  private touched(path: string): void {
    this.dirty.add(path);
    if ((this.live.get(path)?.length ?? 0) > 1) this.contested.add(path);
    else this.contested.delete(path);
  }

  /** Every loser of a contested path, named as tree/materialize names it, after every current path. */
  private nameCopies(): Map<string, TreeEntry> {
    const copies = new Map<string, TreeEntry>();
    if (!this.contested.size) return copies;
    const losers: { path: string; e: TreeEvent }[] = [];
    for (const path of this.contested) for (const e of this.live.get(path)!.slice(1)) losers.push({ path, e });
    losers.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : newestFirst(a.e, b.e)));
    const taken = (name: string) => copies.has(name) || this.tree.has(name); // the tree holds only winners here
    for (const { path, e } of losers) {
      const base = conflictName(path, e.by, e.at.wall);
      let name = base;
      for (let i = 2; taken(name); i++) name = numbered(base, i);
      copies.set(name, { manifest: e.manifest!, event: eventId(e), conflictOf: path });
    }
    return copies;
  }
}
