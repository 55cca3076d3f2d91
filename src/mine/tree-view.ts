/**
 * @module mine/tree-view — what the one tree shows on this cell: the listing of `grove ls`, GET
 * /api/files, the Files tab and WebDAV, and which manifest a read of a path opens.
 *
 * The tree (tree/event-log, from the events of all my cells) decides which file is current at a
 * path. A file of this cell's own that no event describes yet (stored a moment ago, before
 * mine/my-tree made its event) is shown as it is; one that the events described and the tree no
 * longer has was deleted or moved on another of my cells, and is not shown. A copy or move this
 * cell made of a file it does not keep (mine/tree-edits) is listed as a file of the cell that
 * stored it. A cell whose tree is empty lists its own files exactly as before.
 */
import type { Cell } from "../cell/cell.ts";
import type { CellId, ManifestHash } from "../core/types.ts";
import type { FileEntry } from "../store/placement-db.ts";
import { ManifestSchema, readManifest, type Manifest } from "../store/manifest.ts";
import type { TreeEntry } from "../tree/materialize.ts";
import type { Relocation } from "../ingest/relocate.ts";
import { relocateInTree, type EditCell } from "./tree-edits.ts";

/** A file as listed: a current version, where it is, and whether its plaintext is here. */
export interface ListedFile extends FileEntry {
  /** Its plaintext is on this cell (a version of this cell's own, in GROVE_HOME). */
  local: boolean;
  /** Which of my cells hold it: the cell that stored it, and this one when it is local. */
  cells: CellId[];
  /** A conflict copy: the path where another version won (docs/design.md, "One tree across my cells"). */
  conflict_of?: string;
}

/** The current manifest at a path, with its version number as this cell shows it. */
export interface CurrentFile {
  manifest: Manifest;
  manifest_hash: ManifestHash;
  version: number;
}

type TreeCell = Pick<Cell, "db" | "tree" | "layout" | "keys" | "config">;

/** The manifest a tree entry names: from the events' store, else this cell's own manifests. */
function manifestOf(cell: TreeCell, hash: ManifestHash): Manifest | null {
  const body = cell.tree.manifestBody(hash);
  if (body) return ManifestSchema.parse(JSON.parse(body)) as Manifest;
  const row = cell.db.manifest(hash);
  return row ? readManifest(cell.layout.manifests, row.manifest_file) : null;
}

/**
 * True when `e`, at `path`, is an event of this cell's describing a file of its own: the index is
 * then as new or newer (a change here not described yet). Not so for a copy or move this cell made
 * of a file it does not keep (mine/tree-edits): no file of its own is there, and its events never
 * described one there.
 */
function describesOwn(cell: TreeCell, path: string, e: TreeEntry, own: FileEntry | undefined): boolean {
  if (e.conflictOf || cell.tree.event(e.event)?.origin !== cell.keys.id) return false;
  return own !== undefined || cell.tree.localAt(path) !== null;
}

function entryOf(cell: TreeCell, path: string, e: TreeEntry, own: FileEntry | undefined): ListedFile | null {
  const ev = cell.tree.event(e.event);
  if (!ev) return null;
  if (describesOwn(cell, path, e, own)) return own ? { ...own, local: true, cells: [cell.keys.id] } : null;
  const local = own?.manifest_hash === e.manifest;
  const conflict = e.conflictOf ? { conflict_of: e.conflictOf } : {};
  if (local) return { ...own!, local, cells: [...new Set([ev.origin, cell.keys.id])], ...conflict };
  const m = manifestOf(cell, e.manifest);
  if (!m) return null;
  return {
    path,
    version: m.version,
    manifest_hash: e.manifest,
    file_hash: m.file_hash,
    size: m.total_size,
    chunks: m.chunks.length,
    updated_at: ev.at.wall,
    local: false,
    // The cell that stored it: the event's origin may have moved or copied a file it does not keep.
    cells: [m.owner],
    ...conflict,
  };
}

/** Under `prefix` ("a/b" lists a/b/…), as `PlacementDb.list` does. */
const under = (prefix: string) => (p: string) => !prefix || p.startsWith(prefix + "/");

/** The current files of the tree (all, or under `prefix`), sorted by path. */
export function listTree(cell: TreeCell, prefix = ""): ListedFile[] {
  const own = cell.db.list(prefix);
  const tree = cell.tree.current();
  if (tree.size === 0) return own.map((f) => ({ ...f, local: true, cells: [cell.keys.id] }));
  const ownAt = new Map(own.map((f) => [f.path, f]));
  const described = cell.tree.localView();
  const inPrefix = under(prefix);
  const out: ListedFile[] = [];
  for (const [path, e] of tree) {
    if (!inPrefix(path)) continue;
    const f = entryOf(cell, path, e, ownAt.get(path));
    if (f) out.push(f);
  }
  // Stored here since the last event was made: shown until the event is (a moment later).
  for (const f of own)
    if (!tree.has(f.path) && described.get(f.path) !== f.manifest_hash) out.push({ ...f, local: true, cells: [cell.keys.id] });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The file at `path` as listed, or null when the tree has none there. */
export function fileAt(cell: TreeCell, path: string): ListedFile | null {
  const e = cell.tree.current().get(path);
  const cur = cell.db.current(path);
  if (e) return entryOf(cell, path, e, cur ?? undefined);
  if (!cur) return null;
  if (cell.tree.current().size > 0 && cell.tree.localView().get(path) === cur.manifest_hash) return null;
  return { ...cur, local: true, cells: [cell.keys.id] };
}

/** The files of the tree as WebDAV, the API and the pages read them. */
export interface TreeFiles {
  list(prefix?: string): ListedFile[];
  current(path: string): ListedFile | null;
  open(path: string): CurrentFile | null;
  /** Delete files of the tree this cell keeps no version of (inside the caller's transaction, or on its own). */
  forget(paths: readonly string[]): void;
  /**
   * Copy or move files of the tree, kept here or not (mine/tree-edits); `also`: the caller's own
   * changes to placement.db, in the same transaction. 404 before anything changes when a `from`
   * has no file.
   */
  relocate(pairs: readonly Relocation[], mode: "copy" | "move", also?: () => void): Promise<void>;
}

export function treeFiles(cell: TreeCell & EditCell): TreeFiles {
  return {
    list: (prefix = "") => listTree(cell, prefix),
    current: (path) => fileAt(cell, path),
    open: (path) => currentAt(cell, path),
    relocate: (pairs, mode, also) => relocateInTree(cell, pairs, mode, also),
    forget: (paths) => {
      const here = cell.tree.current();
      cell.tree.append(
        paths.filter((p) => here.has(p)).map((path) => ({ kind: "delete" as const, path })),
        cell.config.name,
      );
    },
  };
}

/** The file a read of `path` opens, or null when the tree has none there. */
export function currentAt(cell: TreeCell, path: string): CurrentFile | null {
  const tree = cell.tree.current();
  const cur = cell.db.current(path);
  const e = tree.get(path);
  const ours = e && describesOwn(cell, path, e, cur ?? undefined);
  if (e && !ours) {
    if (cur?.manifest_hash === e.manifest) {
      const row = cell.db.manifest(cur.manifest_hash)!;
      return { manifest: readManifest(cell.layout.manifests, row.manifest_file), manifest_hash: cur.manifest_hash, version: cur.version };
    }
    const m = manifestOf(cell, e.manifest);
    return m ? { manifest: m, manifest_hash: e.manifest, version: m.version } : null;
  }
  if (!cur) return null;
  // Deleted or moved on another of my cells (the events described it, the tree no longer has it).
  if (!ours && tree.size > 0 && cell.tree.localView().get(path) === cur.manifest_hash) return null;
  const row = cell.db.manifest(cur.manifest_hash)!;
  return { manifest: readManifest(cell.layout.manifests, row.manifest_file), manifest_hash: cur.manifest_hash, version: cur.version };
}

/**
 * Delete `path` from the tree where this cell holds no version of it (a file of another of my
 * cells, listed here): a delete event, which my cells follow (its versions stay in their
 * history). False when the tree has no file there.
 */
export function deleteFromTree(cell: TreeCell, path: string, by: string): boolean {
  if (!cell.tree.current().has(path)) return false;
  cell.tree.append([{ kind: "delete", path }], by);
  return true;
}

/**
 * This cell's own current files (`own`) and what its events last said of them (`described`), at
 * `paths` or everywhere: what mine/my-tree compares to make events, and mine/apply to follow them.
 */
export function ownAndDescribed(
  cell: Pick<Cell, "db" | "tree">,
  paths?: Iterable<string>,
): { own: Map<string, ManifestHash>; described: Map<string, ManifestHash> } {
  if (!paths) return { own: new Map(cell.db.list().map((f) => [f.path, f.manifest_hash])), described: cell.tree.localView() };
  // One query each for all the paths (not two per path), in the order of `paths`.
  const list = [...new Set(paths)];
  const current = cell.db.currentMany(list);
  const local = cell.tree.localAtMany(list);
  const own = new Map<string, ManifestHash>();
  const described = new Map<string, ManifestHash>();
  for (const p of list) {
    const cur = current.get(p);
    if (cur) own.set(p, cur.manifest_hash);
    const d = local.get(p);
    if (d) described.set(p, d);
  }
  return { own, described };
}
