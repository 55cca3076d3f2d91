/**
 * @module ingest/ingest-batch — many small files stored together, as one group commit
 * (docs/design.md: "Small files, stored together").
 *
 * A folder of small files dropped into GROVE_HOME would otherwise cost each file its own fsync
 * of a chunk, an fsync and a folder fsync of its manifest, and one placement.db commit, one after
 * the other. Here each file of at most one chunk is read once (the bytes hashed are the bytes
 * sealed: nothing to read again) into a reused buffer and sealed there in place (on this thread
 * up to 64 KiB, where a Worker's message would cost more than the cipher; on the crypto pool
 * above); its chunk is staged (a row of placement.db when small, store/chunk-store; else a temp
 * file); then every chunk file of the batch is made durable as one group (core/group-sync: one
 * syncfs on Linux) and renamed into place, and every version recorded in one placement.db
 * transaction, with the chunk rows and the tree events that describe them (`vault.describe`,
 * mine/my-tree): one commit for all. A manifest's exact content is committed in that same
 * transaction (`manifest_pending`); its file is written and made durable once the store is quiet
 * (store/manifest-settle: a reader meanwhile finds the text in placement.db), or written from
 * there when the cell opens after a crash. So a small file costs one commit on the path of the
 * drop-in, and no file of Grove's own created. Chunks are durable before the version that names
 * them; a crash before the transaction leaves at most unreferenced chunks, which trash collection and the
 * next store take care of; the user's files themselves are never touched.
 */
import { eachAtOnce } from "../core/each-at-once.ts";
import { closeSync, lstatSync, openSync, readSync, type Stats } from "node:fs";
import { lstat, open } from "node:fs/promises";
import { settlePending } from "../store/manifest-settle.ts";
import { errorMessage } from "../core/errors.ts";
import { CHUNK_SIZE, toHex, type ChunkHash, type FileHash, type ManifestHash } from "../core/types.ts";
import type { FileEntry, NewVersion } from "../store/placement-db.ts";
import type { StagedChunk } from "../store/chunk-store.ts";
import { manifestFileText, manifestHash, manifestRelPath, type ChunkRef, type Manifest } from "../store/manifest.ts";
import { newManifest, reuseManifest, uniqueManifestRel } from "./ingest.ts";
import { sealChunk } from "./chunk-crypto.ts";
import type { HomePath } from "./home-path.ts";
import type { Vault } from "./vault.ts";
import { BufferPool } from "./buffer-pool.ts";

/** A file the batch path takes: at most this many bytes (one chunk). */
export const SMALL_FILE_MAX = CHUNK_SIZE;
/** At most this many files, or bytes, in one group commit. */
export const BATCH_FILES = 512;
export const BATCH_BYTES = 8 * 1024 * 1024;
/** Files read and sealed at once within a batch. */
const READ_AHEAD = 16;
/** Files at most this large are sealed on this thread, not on the crypto pool. */
const SEAL_HERE_MAX = 64 * 1024;
/** Sealing adds the AEAD tag (docs/design.md: Data). */
const TAG_BYTES = 16;
/**
 * Buffers a small file is read into and sealed in (in place), reused by size class: a fresh
 * buffer for the bytes read and another for the sealed ones, per file, were garbage the collector
 * reached late (tens of MiB of a cell's peak while a folder of small files is stored, issue 21).
 * Files larger than the largest class get a buffer of their own.
 */
const POOLS = [new BufferPool(64 * 1024, READ_AHEAD), new BufferPool(512 * 1024, 4)];

function takeBuffer(n: number): Uint8Array {
  const pool = POOLS.find((p) => p.size >= n);
  return pool ? pool.take() : new Uint8Array(n);
}

function giveBuffer(b: Uint8Array): void {
  POOLS.find((p) => p.size === b.buffer.byteLength)?.give(b);
}

/**
 * Files at most this large are read, and looked at again, on this thread: four awaited calls per
 * file (open, read, read, close) and the look after, each a trip to Bun's I/O threads, held up a
 * group of small files more than reading them did (a scan of 1,000 files of 4-64 KiB: 460-670 ms
 * this way, 560-720 ms awaited). A read of this much from a local disk takes microseconds from
 * the page cache, well under a millisecond from the disk.
 */
const READ_HERE_MAX = 256 * 1024;

/**
 * `f`'s bytes read into `buf` (room for f.size + 1): the view holding them, null when the file is
 * gone. One byte more than expected is asked for, so a file that grew is seen as changed.
 */
async function readInto(f: SmallFile, buf: Uint8Array): Promise<Uint8Array | null> {
  if (f.size <= READ_HERE_MAX) return readIntoHere(f, buf);
  const fh = await open(f.abs, "r").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return null;
    throw e;
  });
  if (!fh) return null;
  try {
    const want = f.size + 1;
    let n = 0;
    while (n < want) {
      const { bytesRead } = await fh.read(buf, n, want - n, n);
      if (!bytesRead) break;
      n += bytesRead;
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** readInto, synchronously. */
function readIntoHere(f: SmallFile, buf: Uint8Array): Uint8Array | null {
  let fd: number;
  try {
    fd = openSync(f.abs, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  try {
    const want = f.size + 1;
    let n = 0;
    while (n < want) {
      const got = readSync(fd, buf, n, want - n, n);
      if (!got) break;
      n += got;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** `abs`'s lstat now, or null when it is not there (synchronous for files read here: READ_HERE_MAX). */
async function lstatAfter(abs: string, size: number): Promise<Stats | null> {
  if (size > READ_HERE_MAX) return lstat(abs).catch(() => null);
  try {
    return lstatSync(abs);
  } catch {
    return null;
  }
}

export interface SmallFile {
  path: HomePath;
  /** Where the file lives (GROVE_HOME or a watched folder); read, never written. */
  abs: string;
  /** What the caller saw when it decided the file had settled. */
  size: number;
  mtimeMs: number;
}

export type BatchOutcome =
  | { path: HomePath; stored: true; version: number; new_chunks: number }
  | { path: HomePath; stored: false; why: "unchanged" | "changed" | "gone" | "error"; error?: string };

/** What one file of the batch needs once its bytes are sealed and its chunk staged. */
interface Staged {
  file: SmallFile;
  version: NewVersion;
  newChunks: number;
}

/**
 * Store `files` (each at most SMALL_FILE_MAX bytes, distinct paths) as one group commit.
 * Returns an outcome per file, in order; a file that fails is reported and the others are stored.
 */
export async function ingestBatch(vault: Vault, files: readonly SmallFile[]): Promise<BatchOutcome[]> {
  return vault.store.writing(async () => {
    const outcomes: BatchOutcome[] = new Array(files.length);
    const staged: (Staged | null)[] = new Array(files.length).fill(null);
    const group: StagedChunk[] = [];
    // Told to push on store with each chunk: settles once the group is durable.
    const committed = Promise.withResolvers<void>();
    committed.promise.catch(() => {});
    const chunksHere = new Set<string>(); // chunks this batch writes (two equal files: one chunk)
    // What the index holds of every path, in two queries for the batch (a query per file cost
    // more than sealing it). A version another writer records meanwhile (a put of the same path)
    // is not seen: at worst this batch records the same content again as a version of its own,
    // as a put racing the watcher always could.
    const paths = files.map((f) => f.path);
    const heads: Heads = { current: vault.db.currentMany(paths), last: vault.db.lastVersions(paths) };
    await eachAtOnce(files, READ_AHEAD, async (f, i) => {
      // Left unread when its current version has this size and was recorded after its last
      // change (the cell's own writes into GROVE_HOME among them).
      if (upToDate(heads.current.get(f.path) ?? null, f.size, f.mtimeMs)) {
        outcomes[i] = { path: f.path, stored: false, why: "unchanged" };
        return;
      }
      try {
        const r = await stage(vault, f, heads, chunksHere, group, committed.promise);
        if ("why" in r) outcomes[i] = { path: f.path, stored: false, why: r.why };
        else staged[i] = r;
      } catch (e) {
        outcomes[i] = { path: f.path, stored: false, why: "error", error: errorMessage(e) };
      }
    });
    if (!group.length && !staged.some(Boolean)) return outcomes; // nothing new: no commit
    // The group: every chunk of the batch made durable at once.
    // Small chunks are rows (store/chunk-store): committed below with the versions that name them.
    try {
      await vault.store.commit(group, { rowsByCaller: true });
    } catch (e) {
      committed.reject(e);
      for (let i = 0; i < files.length; i++)
        if (staged[i])
          outcomes[i] = { path: files[i]!.path, stored: false, why: "error", error: `could not write it durably: ${errorMessage(e)}` };
      return outcomes;
    }
    const todo = staged.flatMap((s, i) => (s ? [{ s, i }] : []));
    // The versions and the tree events that describe them: one commit.
    let versions: number[];
    try {
      versions = vault.db.db.transaction(() => {
        vault.store.commitRows(group);
        const v = vault.db.addVersions(todo.map(({ s }) => s.version));
        vault.describe?.(todo.map(({ s }) => s.file.path));
        return v;
      })();
    } catch (e) {
      committed.reject(e);
      // Nothing recorded; the chunk files stay, unreferenced until a version names them or trash collection.
      for (const { s, i } of todo)
        outcomes[i] = { path: s.file.path, stored: false, why: "error", error: `not recorded: ${errorMessage(e)}` };
      return outcomes;
    }
    committed.resolve();
    todo.forEach(({ s, i }, k) => {
      outcomes[i] = { path: s.file.path, stored: true, version: versions[k]!, new_chunks: s.newChunks };
    });
    for (const { s } of todo) vault.stored?.emit(s.file.path);
    // The manifests' files are written once the store is quiet (store/manifest-settle).
    if (vault.settler) vault.settler.soon();
    else await settlePending(vault.db, vault.manifestsDir);
    return outcomes;
  });
}

/** True when `cur` (a path's current version) has this size and was recorded after the file's last change. */
export function upToDate(cur: FileEntry | null, size: number, mtimeMs: number): boolean {
  return cur !== null && cur.size === size && cur.updated_at >= Math.floor(mtimeMs);
}

/** The index's current version and highest version number of each path of a batch. */
interface Heads {
  current: Map<string, FileEntry>;
  last: Map<string, number>;
}

/** Read, hash and seal one file, and stage its chunk (into `group`) and manifest. */
async function stage(
  vault: Vault,
  f: SmallFile,
  heads: Heads,
  chunksHere: Set<string>,
  group: StagedChunk[],
  committed: Promise<void>,
): Promise<Staged | { why: "unchanged" | "changed" | "gone" }> {
  const held = { buf: takeBuffer(f.size + TAG_BYTES) };
  try {
    return await stageIn(vault, f, heads, held, chunksHere, group, committed);
  } finally {
    giveBuffer(held.buf);
  }
}

/** stage's work in `held.buf`: the file read into it and sealed in place (`held.buf` is then the buffer the crypto pool gave back). */
async function stageIn(
  vault: Vault,
  f: SmallFile,
  heads: Heads,
  held: { buf: Uint8Array },
  chunksHere: Set<string>,
  group: StagedChunk[],
  committed: Promise<void>,
): Promise<Staged | { why: "unchanged" | "changed" | "gone" }> {
  const plain = await readInto(f, held.buf);
  if (!plain) return { why: "gone" };
  // The bytes read are the bytes hashed and sealed; they must also be the file as it settled.
  const after = await lstatAfter(f.abs, f.size);
  if (!after || plain.byteLength !== f.size || after.size !== f.size || after.mtimeMs !== f.mtimeMs) return { why: "changed" };
  const size = plain.byteLength; // the crypto pool takes `plain` over (a Worker's transfer empties it)
  const fileHash = toHex(vault.suite.sha256(plain)) as FileHash;
  const cur = heads.current.get(f.path);
  if (cur && cur.file_hash === fileHash) return { why: "unchanged" };

  const reused = reuseManifest(vault, f.path, fileHash);
  if (reused && reused.m.chunks.every((c) => vault.store.has(c.hash) || chunksHere.has(c.hash))) {
    const version = versionOf(vault, f, reused.m, manifestRelPath(f.path, fileHash), fileHash);
    return { file: f, version: { ...version, pendingBody: reused.pendingBody }, newChunks: 0 };
  }

  const chunks: ChunkRef[] = [];
  let newChunks = 0;
  if (size > 0) {
    const key = vault.keys.sealing(fileHash).key;
    let sealed: Uint8Array;
    let hash: string;
    // A small chunk is sealed here: a crypto Worker's message costs more than the cipher.
    if (size <= SEAL_HERE_MAX) ({ sealed, hash } = sealChunk(vault.suite, key, 0, plain, held.buf));
    else {
      ({ sealed, hash } = await vault.pool.seal(key, 0, plain, held.buf));
      held.buf = new Uint8Array(sealed.buffer); // the buffer the crypto pool gave back
    }
    chunks.push({ hash: hash as ChunkHash, size: sealed.byteLength, index: 0 });
    if (!chunksHere.has(hash) && !vault.store.has(hash as ChunkHash)) {
      chunksHere.add(hash);
      const staged = await vault.store.stage(hash as ChunkHash, sealed, { reused: true }); // held.buf goes back to its pool
      if (staged) {
        group.push(staged);
        newChunks++;
        vault.chunkStored?.(hash as ChunkHash, sealed, committed); // pushed to peers while the batch is staged
      }
    }
  }
  const m = newManifest(vault, f.path, size, fileHash, chunks, heads.last.get(f.path) ?? 0);
  const rel = uniqueManifestRel(vault, m);
  // No file written here: its text goes into the version's transaction (manifest_pending), and the
  // file is written and fsynced once the store is quiet (store/manifest-settle), or after a crash.
  const body = manifestFileText(m);
  return { file: f, version: { ...versionOf(vault, f, m, rel, fileHash), pendingBody: body }, newChunks };
}

function versionOf(vault: Vault, f: SmallFile, m: Manifest, rel: string, fileHash: FileHash): NewVersion {
  return {
    path: f.path,
    manifestHash: manifestHash(m, vault.suite.sha256) as ManifestHash,
    manifestFile: rel,
    fileHash,
    totalSize: m.total_size,
    owner: vault.owner,
    chunks: m.chunks,
    createdAt: Date.parse(m.created_at),
  };
}
