/**
 * @module mine/write-versions — writes into GROVE_HOME the versions my other cells made, and
 * records them as versions of this cell's index (mine/apply decides which paths).
 *
 * For each file: its sealed chunks are fetched from my cells (each checked against its name) and
 * made durable in this cell's store; its plaintext is written to a temp file beside its place,
 * without an fsync; then one placement.db transaction records every version, with the copy as
 * pending (`home_pending`) and a new manifest's file as pending (`manifest_pending`, its text in
 * the row); only then are the temp files renamed into place. ingest/settler fsyncs the copies, and
 * writes and fsyncs the manifests' files, once the store is quiet (store/manifest-settle; a reader
 * meanwhile finds the text in the row). So a crash at any point leaves either no version and no file (a temp file at
 * most), or a recorded version whose copy ingest/home-copies checks at the next start and writes
 * again from the chunks when it is missing or torn: a torn copy is never taken by the watcher
 * as a new version, and the watcher, finding the copy described already, never sends it back.
 *
 * Small files (one chunk of at most 512 KiB) go in batches: their chunks asked of my cells in a
 * few requests (POST /peer/tree/chunks), made durable as one group (one fsync group, as
 * ingest/ingest-batch), and recorded in one transaction. A larger file is written on its own, a
 * few chunks in flight.
 */
import { mkdir, rename, unlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Cell } from "../cell/cell.ts";
import { tempPathFor } from "../core/atomic.ts";
import { eachAtOnce } from "../core/each-at-once.ts";
import { errorMessage, GroveError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { toHex, type ChunkHash, type ManifestHash } from "../core/types.ts";
import { homeFile, type HomePath } from "../ingest/home-path.ts";
import { settleHomeCopies } from "../ingest/home-copies.ts";
import { exportFile } from "../ingest/local-files.ts";
import type { ChunkFetch } from "../ingest/vault.ts";
import { settlePending } from "../store/manifest-settle.ts";
import { ManifestSchema, manifestFileText, manifestRelPath, type Manifest } from "../store/manifest.ts";
import type { StagedChunk } from "../store/chunk-store.ts";
import { openChunk } from "../ingest/chunk-crypto.ts";
import { BATCH_CHUNK_MAX } from "../protocol/chunk-frames.ts";
import type { ChunkOf } from "./my-tree.ts";

/** Chunks of one large file fetched at once. */
const FETCH_AHEAD = 4;
/** Large files written at once. */
const FILES_AT_ONCE = 4;
/** Small files in one batch at most, and bytes of their chunks. */
const BATCH_FILES = 512;
const BATCH_BYTES = 8 * 1024 * 1024;
/** Small files opened and written at once within a batch. */
const WRITE_AHEAD = 8;

/** Many small chunks at once, best effort (mine/my-tree fetchChunks): what is not in the map is asked for alone. */
export type ChunksFetch = (want: readonly { m: ChunkOf; hash: string; size: number }[]) => Promise<Map<string, Uint8Array>>;

export interface WriteDeps {
  cell: Pick<Cell, "db" | "tree" | "layout" | "keys" | "suite" | "store" | "vault" | "config">;
  fetch: ChunkFetch;
  fetchMany?: ChunksFetch;
}

/** A version to write at `path`. */
export interface ToWrite {
  path: HomePath;
  manifest: ManifestHash;
}

/** A file whose plaintext waits, complete, in `temp` for its version to be recorded. */
interface Prepared {
  path: HomePath;
  hash: ManifestHash;
  m: Manifest;
  temp: string;
  dest: string;
}

/** Fetch, write and record `items`; how many were written and how many failed (each logged). */
export async function writeVersions(deps: WriteDeps, items: readonly ToWrite[]): Promise<{ written: number; failed: number }> {
  const done = { written: 0, failed: 0 };
  const fail = (path: string, e: unknown) => {
    done.failed++;
    log("warn", `tree: '${path}' not written into GROVE_HOME: ${errorMessage(e)}`);
  };
  const small: { item: ToWrite; m: Manifest }[] = [];
  const large: { item: ToWrite; m: Manifest }[] = [];
  for (const item of items) {
    try {
      const m = treeManifest(deps.cell, item.manifest);
      deps.cell.vault.keys.fileKeyOrThrow(m); // a key this cell holds, before anything is fetched
      (m.chunks.length <= 1 && (m.chunks[0]?.size ?? 0) <= BATCH_CHUNK_MAX ? small : large).push({ item, m });
    } catch (e) {
      fail(item.path, e);
    }
  }
  const smallFiles = async () => {
    done.written += await writeSmall(deps, small, fail);
  };
  const largeFiles = eachAtOnce(large, FILES_AT_ONCE, async ({ item, m }) => {
    try {
      const p = await prepareLarge(deps, item, m);
      done.written += await record(deps, [p], fail);
    } catch (e) {
      fail(item.path, e);
    }
  });
  await Promise.all([smallFiles(), largeFiles]);
  return done;
}

/** The manifest `hash` as the tree holds it. */
function treeManifest(cell: WriteDeps["cell"], hash: ManifestHash): Manifest {
  const body = cell.tree.manifestBody(hash);
  if (!body) throw new GroveError(`manifest ${hash.slice(0, 12)} is not here`, 500, "internal");
  return ManifestSchema.parse(JSON.parse(body)) as Manifest;
}

function* batches<T extends { m: Manifest }>(all: readonly T[]): Generator<T[]> {
  let cur: T[] = [];
  let bytes = 0;
  for (const f of all) {
    const n = f.m.chunks[0]?.size ?? 0;
    if (cur.length && (cur.length >= BATCH_FILES || bytes + n > BATCH_BYTES)) {
      yield cur;
      cur = [];
      bytes = 0;
    }
    cur.push(f);
    bytes += n;
  }
  if (cur.length) yield cur;
}

/** The chunks one batch of small files needed, fetched: by name, and why each missing one is. */
interface Fetched {
  sealed: Map<string, Uint8Array>;
  missing: Map<string, string>;
}

/**
 * Small files, batch after batch: the chunks of the next batch are fetched while this one is
 * written (fetching waits on my cells, writing on the disk). Returns how many were written.
 */
async function writeSmall(
  deps: WriteDeps,
  small: readonly { item: ToWrite; m: Manifest }[],
  fail: (path: string, e: unknown) => void,
): Promise<number> {
  // A writer throughout: a chunk found here already is not collected before its version is recorded.
  return deps.cell.store.writing(async () => {
    let written = 0;
    const all = [...batches(small)];
    let fetching = all.length ? fetchBatch(deps, all[0]!) : null;
    for (let i = 0; i < all.length; i++) {
      const fetched = await fetching!;
      fetching = i + 1 < all.length ? fetchBatch(deps, all[i + 1]!) : null;
      written += await writeBatch(deps, all[i]!, fetched, fail);
    }
    return written;
  });
}

/** The chunks `files` lack here: in batches from my cells, then what those left out one at a time. */
async function fetchBatch(deps: WriteDeps, files: readonly { item: ToWrite; m: Manifest }[]): Promise<Fetched> {
  const { cell } = deps;
  // Each once (two files may share one).
  const need = new Map<string, { m: Manifest; size: number }>();
  for (const { m } of files)
    for (const c of m.chunks) if (!need.has(c.hash) && !cell.store.has(c.hash as ChunkHash)) need.set(c.hash, { m, size: c.size });
  const sealed = new Map<string, Uint8Array>();
  const missing = new Map<string, string>();
  if (!need.size) return { sealed, missing };
  if (deps.fetchMany)
    try {
      for (const [h, b] of await deps.fetchMany([...need].map(([hash, w]) => ({ m: w.m, hash, size: w.size })))) sealed.set(h, b);
    } catch (e) {
      log("warn", `tree: a batch of chunks did not come; asking for them one by one: ${errorMessage(e)}`);
    }
  const rest = [...need.keys()].filter((h) => !sealed.has(h));
  await eachAtOnce(rest, FETCH_AHEAD, async (h) => {
    try {
      const b = await deps.fetch(need.get(h)!.m, h);
      if (toHex(cell.suite.sha256(b)) !== h) throw new GroveError(`a chunk came back damaged`, 502, "peer");
      sealed.set(h, b);
    } catch (e) {
      missing.set(h, errorMessage(e));
    }
  });
  return { sealed, missing };
}

/**
 * One batch of small files, its chunks fetched: the chunks made durable as one group while the
 * plaintexts are written (neither waits for the other), then every version recorded in one transaction.
 */
async function writeBatch(
  deps: WriteDeps,
  files: readonly { item: ToWrite; m: Manifest }[],
  { sealed, missing }: Fetched,
  fail: (path: string, e: unknown) => void,
): Promise<number> {
  const { cell } = deps;
  // Every fetched chunk durable, as one group.
  const group: StagedChunk[] = [];
  const durable = (async () => {
    await eachAtOnce([...sealed], WRITE_AHEAD, async ([h, b]) => {
      const s = await cell.store.stage(h as ChunkHash, b);
      if (s) group.push(s);
    });
    await cell.store.commit(group, { rowsByCaller: true }); // small chunks' rows: in record's transaction
  })();
  durable.catch(() => {}); // awaited below, after the copies: not an unhandled rejection meanwhile
  // Meanwhile each file's plaintext into its temp file, a few at once.
  const prepared: Prepared[] = [];
  await eachAtOnce(files, WRITE_AHEAD, async ({ item, m }) => {
    try {
      const c = m.chunks[0];
      if (c && missing.has(c.hash)) throw new GroveError(missing.get(c.hash)!, 503, "unavailable");
      const plain = c ? await openSmall(deps, m, c, sealed.get(c.hash)) : new Uint8Array(0);
      const dest = homeFile(cell.layout.home, item.path);
      const temp = tempPathFor(dest);
      try {
        await writeFile(temp, plain, { mode: 0o644, flag: "wx" });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        await mkdir(dirname(dest), { recursive: true });
        await writeFile(temp, plain, { mode: 0o644, flag: "wx" });
      }
      prepared.push({ path: item.path, hash: item.manifest, m, temp, dest });
    } catch (e) {
      fail(item.path, e);
    }
  });
  try {
    await durable; // a version is recorded only once the chunks it names are durable here
  } catch (e) {
    await Promise.all([cell.store.discard(group), ...prepared.map((p) => unlink(p.temp).catch(() => {}))]);
    for (const p of prepared) fail(p.path, new GroveError(`its chunk could not be stored: ${errorMessage(e)}`, 500, "internal"));
    return 0;
  }
  return record(deps, prepared, fail, group);
}

/**
 * The plaintext of one-chunk file `m`, from `sealed` (fetched now) or from the store; verified.
 * Opened on this thread: for a chunk this small, a crypto Worker's message costs more than the
 * cipher (docs/design.md, "Small files, stored together").
 */
async function openSmall(deps: WriteDeps, m: Manifest, c: Manifest["chunks"][number], sealed?: Uint8Array): Promise<Uint8Array> {
  const { vault, store, suite } = deps.cell;
  const bytes = sealed ?? (await store.read(c.hash as ChunkHash));
  const r = openChunk(suite, vault.keys.fileKeyOrThrow(m), c.index, bytes, c.hash);
  if (!r.ok) throw new GroveError(`its chunk failed verification: ${r.reason}`, 502, "peer");
  if (r.plain.byteLength !== m.total_size)
    throw new GroveError(`its chunk opened to ${r.plain.byteLength} bytes, not ${m.total_size}`, 502, "peer");
  return r.plain;
}

/** A large file: its chunks fetched a few at a time, each made durable, its plaintext written to a temp file. */
async function prepareLarge(deps: WriteDeps, item: ToWrite, m: Manifest): Promise<Prepared> {
  const { cell } = deps;
  const missing = m.chunks.filter((c) => !cell.store.has(c.hash as ChunkHash));
  await eachAtOnce(missing, FETCH_AHEAD, async (c) => {
    const sealed = await deps.fetch(m, c.hash);
    if (toHex(cell.suite.sha256(sealed)) !== c.hash) throw new GroveError(`chunk ${c.index} came back damaged`, 502, "peer");
    const { durable } = await cell.store.putStaged(c.hash as ChunkHash, sealed);
    await durable;
  });
  const dest = homeFile(cell.layout.home, item.path);
  const temp = tempPathFor(dest);
  await mkdir(dirname(dest), { recursive: true });
  await exportFile(cell.vault, m, temp);
  return { path: item.path, hash: item.manifest, m, temp, dest };
}

/**
 * Record `prepared` in one transaction (new manifests' texts in the rows, their files written
 * later by the settler; with `rows`, the small chunks they name), then rename each copy into
 * place; how many are in place.
 */
async function record(
  deps: WriteDeps,
  prepared: readonly Prepared[],
  fail: (path: string, e: unknown) => void,
  rows: readonly StagedChunk[] = [],
): Promise<number> {
  if (!prepared.length) return 0;
  const { cell } = deps;
  const { db } = cell;
  const bodies = new Map<ManifestHash, { rel: string; body: string }>();
  try {
    for (const p of prepared) {
      if (db.manifest(p.hash) || bodies.has(p.hash)) continue;
      // Named by the manifest's own hash: never the name of another manifest of this path and content.
      bodies.set(p.hash, { rel: manifestRelPath(p.m.source_path, p.hash, true), body: manifestFileText(p.m) });
    }
    // The manifests' files are written once the store is quiet (store/manifest-settle).
    db.db.transaction(() => {
      cell.store.commitRows(rows);
      for (const p of prepared) {
        const fresh = bodies.get(p.hash);
        if (!fresh) {
          db.reinstate(p.path, p.hash);
          db.pendHomeCopy(p.path, p.m.file_hash);
        } else
          db.addVersion({
            path: p.path,
            manifestHash: p.hash,
            manifestFile: fresh.rel,
            fileHash: p.m.file_hash,
            totalSize: p.m.total_size,
            owner: p.m.owner,
            chunks: p.m.chunks,
            createdAt: Date.parse(p.m.created_at),
            pendingBody: fresh.body,
            homePending: true,
          });
      }
      cell.tree.setLocal(prepared.map((p) => ({ path: p.path, manifest: p.hash })));
    })();
  } catch (e) {
    await Promise.all(prepared.map((p) => unlink(p.temp).catch(() => {})));
    for (const p of prepared) fail(p.path, e);
    return 0;
  }
  let placed = 0;
  await Promise.all(
    prepared.map((p) =>
      rename(p.temp, p.dest).then(
        () => placed++,
        // Recorded but not in place (its folder changed meanwhile): said, and its temp file removed.
        (e) => {
          fail(p.path, e);
          void unlink(p.temp).catch(() => {});
        },
      ),
    ),
  );
  const { settler } = cell.vault; // it writes the manifests' files too (store/manifest-settle)
  if (settler) settler.soon();
  else {
    await settlePending(db, cell.layout.manifests);
    await settleHomeCopies(db, cell.layout.home);
  }
  return placed;
}
