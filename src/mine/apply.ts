/**
 * @module mine/apply — brings this cell's own files in line with the one tree after my other
 * cells' events arrive (docs/design.md, "One tree across my cells").
 *
 * - A file of this cell's own that the tree no longer has was deleted on another of my cells: it
 *   is deleted here too, to history (ingest/remove), as any deletion. One the tree moved is moved
 *   (ingest/relocate), so history keeps it as a move.
 * - A path where the tree has another version than this cell's (changed elsewhere), and in
 *   `home_mode` "mirror" every path of the tree, gets the tree's version: its sealed chunks are
 *   fetched from my cells, its plaintext written into GROVE_HOME and recorded as a version of
 *   this cell's index naming the same manifest (mine/write-versions: small files in batches, and
 *   what is durable when). The events describe it already, so it is never sent back as a new version.
 * In "on-demand", a path is written when pinned, or when its content was stored by this cell (a
 * copy another of my cells made of it), so that this cell's index keeps that content live.
 * A path changed here and not yet described (reconcile has not run) is left for the tree to decide.
 */
import { type ManifestHash } from "../core/types.ts";
import { type HomePath } from "../ingest/home-path.ts";
import { relocateFiles } from "../ingest/relocate.ts";
import { removeFiles } from "../ingest/remove.ts";
import { log } from "../core/log.ts";
import { eventId, type TreeEvent } from "../tree/events.ts";
import type { TreeEntry } from "../tree/materialize.ts";
import { ownAndDescribed } from "./tree-view.ts";
import { writeVersions, type WriteDeps } from "./write-versions.ts";

export type ApplyDeps = WriteDeps;

export interface Applied {
  written: number;
  deleted: number;
  moved: number;
  failed: number;
}

/**
 * The paths new events touch: each event's path (and a move's source), and every conflict copy
 * of those paths or made by those events (a copy's name is derived, not in the event). An entry
 * an event made is at that event's path or is a conflict copy, so only the copies (`copies`: the
 * tree's, a few) are looked through, not the whole tree: a cell with 100,000 files paid a pass
 * over all of them for every page of events it received.
 */
export function touchedBy(events: readonly TreeEvent[], copies: ReadonlyMap<string, TreeEntry>): Set<string> {
  const paths = new Set<string>();
  const ids = new Set(events.map(eventId));
  for (const e of events) {
    paths.add(e.path);
    if (e.from) paths.add(e.from);
  }
  for (const [p, e] of copies) if (ids.has(e.event) || (e.conflictOf && paths.has(e.conflictOf))) paths.add(p);
  return paths;
}

/**
 * Bring this cell's own files in line with the tree, at `scope` (the paths new events touched:
 * `touchedBy`) or everywhere; what it did. Runs one at a time (the caller queues).
 */
export async function applyTree(deps: ApplyDeps, scope?: ReadonlySet<string>): Promise<Applied> {
  const { cell } = deps;
  const { db, tree, vault } = cell;
  const done: Applied = { written: 0, deleted: 0, moved: 0, failed: 0 };
  const current = tree.current();
  if (current.size === 0) return done;
  const { own, described } = ownAndDescribed(cell, scope);
  // Where each move of the tree took its file from.
  const movedFrom = new Map<string, string>();
  for (const p of scope ?? current.keys()) {
    const e = current.get(p);
    const ev = e ? tree.event(e.event) : null;
    if (ev?.kind === "move" && ev.from && e!.manifest === ev.manifest) movedFrom.set(ev.from, p);
  }

  // Gone from the tree, and described by our events as it is here: deleted or moved elsewhere.
  const moves: { from: HomePath; to: HomePath }[] = [];
  const deletions: HomePath[] = [];
  for (const [path, h] of own) {
    if (current.has(path) || described.get(path) !== h) continue;
    const to = movedFrom.get(path);
    if (to !== undefined && current.get(to)?.manifest === h && !own.has(to) && !db.current(to))
      moves.push({ from: path as HomePath, to: to as HomePath });
    else deletions.push(path as HomePath);
  }
  if (moves.length) {
    await relocateFiles(vault, moves, "move", () =>
      tree.setLocal(
        moves.flatMap((m) => [
          { path: m.from, manifest: null },
          { path: m.to, manifest: own.get(m.from)! },
        ]),
      ),
    );
    for (const m of moves) own.set(m.to, own.get(m.from)!), own.delete(m.from);
    done.moved = moves.length;
  }
  if (deletions.length) {
    await removeFiles(vault, deletions, () => tree.setLocal(deletions.map((path) => ({ path, manifest: null }))));
    for (const p of deletions) own.delete(p);
    done.deleted = deletions.length;
  }

  // Versions to write here: changed elsewhere, or (mirror) not here at all.
  const mirror = cell.config.home_mode === "mirror";
  const pins = tree.pins();
  const toWrite: { path: HomePath; manifest: ManifestHash }[] = [];
  for (const path of scope ?? current.keys()) {
    const e = current.get(path);
    if (!e) continue;
    const here = own.get(path);
    if (here === e.manifest) continue;
    if (here !== undefined && described.get(path) !== here) continue; // changed here, not described yet
    // On demand, a path is written when pinned, or when its content is this cell's own (a copy
    // another of my cells made of a file stored here): this cell's files stay here either way,
    // and its index keeps the content live for as long as the tree names it at that path.
    const ownContent = () => cell.db.manifest(e.manifest)?.owner === cell.keys.id;
    if (here === undefined && !mirror && !tree.pinned(path, pins) && !ownContent()) continue;
    toWrite.push({ path: path as HomePath, manifest: e.manifest });
  }
  const w = await writeVersions(deps, toWrite);
  done.written = w.written;
  done.failed = w.failed;
  if (done.written || done.deleted || done.moved) log("info", "tree: this cell's files follow my other cells' changes", { ...done });
  return done;
}
