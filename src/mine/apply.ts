/**
 * @module mine/apply — brings this cell's own files in line with the one tree after my other
 * cells' events arrive (docs/design.md, "One tree across my cells").
 *
 * - A file of this cell's own that the tree no longer has was deleted on another of my cells: it
 *   is deleted here too, to history (ingest/remove), as any deletion. One the tree moved is moved
 *   (ingest/relocate), so history keeps it as a move.
 * - A path where the tree has another version than this cell's (changed elsewhere), and in
 *   `home_mode` "mirror" every path of the tree, gets the tree's version: its sealed chunks are
 *   fetched from my cells into the store (each checked against its name), its plaintext written
 *   into GROVE_HOME (temp file, renamed when complete and verified), then recorded as a version
 *   of this cell's index naming the same manifest. The file is on disk before the version that
 *   describes it, so the watcher takes it as stored, and the events describe it already, so it is
 *   never sent back as a new version.
 * In "on-demand", a path is written when pinned, or when its content was stored by this cell (a
 * copy another of my cells made of it), so that this cell's index keeps that content live.
 * A path changed here and not yet described (reconcile has not run) is left for the tree to decide.
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { Cell } from "../cell/cell.ts";
import { errorMessage, GroveError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { toHex, type ChunkHash, type ManifestHash } from "../core/types.ts";
import { homeFile, type HomePath } from "../ingest/home-path.ts";
import { exportFile } from "../ingest/local-files.ts";
import { relocateFiles } from "../ingest/relocate.ts";
import { removeFiles } from "../ingest/remove.ts";
import { ManifestSchema, manifestRelPath, writeManifest, type Manifest } from "../store/manifest.ts";
import type { ChunkFetch } from "../ingest/vault.ts";
import { eventId, type TreeEvent } from "../tree/events.ts";
import type { TreeEntry } from "../tree/materialize.ts";
import { ownAndDescribed } from "./tree-view.ts";

/** Chunks of one file fetched at once while it is written here. */
const FETCH_AHEAD = 4;
/** Files written here at once. */
const FILES_AT_ONCE = 4;

export interface ApplyDeps {
  cell: Pick<Cell, "db" | "tree" | "layout" | "keys" | "suite" | "store" | "vault" | "config">;
  fetch: ChunkFetch;
}

export interface Applied {
  written: number;
  deleted: number;
  moved: number;
  failed: number;
}

/**
 * The paths new events touch: each event's path (and a move's source), and every conflict copy
 * of those paths or made by those events (a copy's name is derived, not in the event).
 */
export function touchedBy(events: readonly TreeEvent[], current: ReadonlyMap<string, TreeEntry>): Set<string> {
  const paths = new Set<string>();
  const ids = new Set(events.map(eventId));
  for (const e of events) {
    paths.add(e.path);
    if (e.from) paths.add(e.from);
  }
  for (const [p, e] of current) if (ids.has(e.event) || (e.conflictOf && paths.has(e.conflictOf))) paths.add(p);
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
  // A few files at once: small files are mostly round trips and fsyncs, which overlap.
  let next = 0;
  const worker = async () => {
    while (next < toWrite.length) {
      const w = toWrite[next++]!;
      try {
        await writeVersion(deps, w.path, w.manifest);
        done.written++;
      } catch (err) {
        done.failed++;
        log("warn", `tree: '${w.path}' not written into GROVE_HOME: ${errorMessage(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FILES_AT_ONCE, toWrite.length) }, worker));
  if (done.written || done.deleted || done.moved) log("info", "tree: this cell's files follow my other cells' changes", { ...done });
  return done;
}

/** Fetch the chunks of manifest `hash`, write its plaintext at `path` in GROVE_HOME, record the version. */
async function writeVersion(deps: ApplyDeps, path: HomePath, hash: ManifestHash): Promise<void> {
  const { cell } = deps;
  const body = cell.tree.manifestBody(hash);
  if (!body) throw new GroveError(`manifest ${hash.slice(0, 12)} is not here`, 500, "internal");
  const m = ManifestSchema.parse(JSON.parse(body)) as Manifest;
  cell.vault.keys.fileKeyOrThrow(m); // a key this cell holds, before anything is fetched
  // A few chunks in flight at once (from my cells, spread over them), each stored durably.
  const missing = m.chunks.filter((c) => !cell.store.has(c.hash as ChunkHash));
  let next = 0;
  const worker = async () => {
    while (next < missing.length) {
      const c = missing[next++]!;
      const sealed = await deps.fetch(m, c.hash);
      if (toHex(cell.suite.sha256(sealed)) !== c.hash) throw new GroveError(`chunk ${c.index} came back damaged`, 502, "peer");
      const { durable } = await cell.store.putStaged(c.hash as ChunkHash, sealed);
      await durable;
    }
  };
  await Promise.all(Array.from({ length: Math.min(FETCH_AHEAD, missing.length) }, worker));
  const dest = homeFile(cell.layout.home, path);
  await mkdir(dirname(dest), { recursive: true });
  await exportFile(cell.vault, m, dest);
  const known = cell.db.manifest(hash);
  cell.db.db.transaction(() => {
    if (known) cell.db.reinstate(path, hash);
    else {
      // Named by the manifest's own hash: never the name of another manifest of this path and content.
      const rel = manifestRelPath(m.source_path, hash, true);
      writeManifest(cell.layout.manifests, m, rel);
      cell.db.addVersion({
        path,
        manifestHash: hash,
        manifestFile: rel,
        fileHash: m.file_hash,
        totalSize: m.total_size,
        owner: m.owner,
        chunks: m.chunks,
        createdAt: Date.parse(m.created_at),
      });
    }
    cell.tree.setLocal([{ path, manifest: hash }]);
  })();
}
