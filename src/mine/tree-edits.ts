/**
 * @module mine/tree-edits — copy and move files of the one tree, whether this cell keeps them or
 * not (docs/design.md, "WebDAV", "Moves in history"): what WebDAV calls through mine/tree-view
 * `TreeFiles`, and what the API and dashboard can call.
 *
 * - A file this cell keeps is copied or moved in its index (ingest/relocate); mine/my-tree then
 *   makes the events, as for any change here.
 * - A file only another of my cells keeps gets its event here at once, naming the same manifest
 *   (nothing is sealed again): a move event (from → to) for a move, a put at the new path for a
 *   copy. My cells follow it (mine/apply): the cell that holds a moved file moves it, so its
 *   history keeps the move.
 * - A destination is overwritten by the event itself: it names what the tree showed there in
 *   `replaces`, and a cell that holds that file keeps it in its history under the new version.
 *   A destination this cell keeps, overwritten by a file it does not keep, is deleted here first,
 *   to history.
 *
 * Both kinds, and the caller's own changes, are recorded in one transaction of placement.db.
 */
import { unlink } from "node:fs/promises";
import type { Cell } from "../cell/cell.ts";
import { GroveError, notFound } from "../core/errors.ts";
import { homeFile } from "../ingest/home-path.ts";
import { relocateFiles, type Relocation } from "../ingest/relocate.ts";
import type { LocalChange } from "../tree/event-log.ts";

export type EditCell = Pick<Cell, "db" | "tree" | "vault" | "config">;

/**
 * Copy (`mode` "copy") or move each `from` to its `to`, kept here or not; `also`: the caller's own
 * changes to placement.db, in the same transaction. 404 before anything changes when a `from` is
 * not in the tree. Then tells `vault.stored`, so my cells hear of the events at once.
 *
 * @example await relocateInTree(cell, [{ from: "a.txt" as HomePath, to: "b/a.txt" as HomePath }], "move")
 */
export async function relocateInTree(
  cell: EditCell,
  pairs: readonly Relocation[],
  mode: "copy" | "move",
  also?: () => void,
): Promise<void> {
  const kept = (p: string) => cell.db.current(p) !== null;
  const here = pairs.filter((p) => kept(p.from));
  const away = pairs.filter((p) => !kept(p.from));
  const tree = cell.tree.current();
  const changes: LocalChange[] = away.map((p) => {
    const e = tree.get(p.from);
    if (!e) throw notFound(`no file at '${p.from}'`);
    const body = cell.tree.manifestBody(e.manifest);
    if (!body) throw new GroveError(`the manifest of '${p.from}' is not on this cell`, 500, "internal");
    const manifest = { hash: e.manifest, body };
    return mode === "move" ? { kind: "move", path: p.to, from: p.from, manifest } : { kind: "put", path: p.to, manifest };
  });
  // This cell's own file at a destination that a file kept elsewhere overwrites.
  const overwritten = away.map((p) => p.to).filter(kept);
  await relocateFiles(cell.vault, here, mode, () => {
    for (const p of overwritten) cell.db.markDeleted(p);
    // The events describe no file of this cell's own there now (none is kept), so none is made for it.
    cell.tree.setLocal(away.map((p) => ({ path: p.to, manifest: null })));
    cell.tree.append(changes, cell.config.name);
    also?.();
  });
  for (const p of overwritten) await unlink(homeFile(cell.vault.home, p)).catch(() => {});
  for (const p of away) {
    cell.vault.stored?.emit(p.to);
    if (mode === "move") cell.vault.stored?.emit(p.from);
  }
}
