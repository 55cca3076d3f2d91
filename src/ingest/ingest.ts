/**
 * @module ingest/ingest — upload -> chunk -> seal -> store -> manifest (docs/design.md: Data).
 *
 * Pass 1 streams the body into a temp file beside its GROVE_HOME destination while hashing it
 * (file_hash = SHA-256 of the plaintext, needed before any chunk can be sealed). Pass 2 reads
 * that file in 4 MiB chunks, seals them on the crypto pool and stores them, a bounded number
 * in flight. Then the version is recorded in placement.db with the manifest's body (and the tree
 * event that describes it, one commit: `vault.describe`), the temp file renamed into place, my
 * other cells told, and the manifest's file written. The chunks are fsynced before the version; the manifest file and the
 * copy in GROVE_HOME are not: the version's transaction records them as pending, and they are
 * fsynced once the store is quiet, or mended after a crash (docs/design.md, "What is durable,
 * and when"). Memory stays bounded whatever the size; a crash at any point leaves the previous
 * state intact (at worst, unreferenced chunks).
 *
 * The temp file is written and read back with direct I/O (core/direct-io). A file stored where
 * it lives (`inPlace`: a watched folder) needs no temp file at all: pass 2 reads it again and
 * hashes it once more; if it no longer matches file_hash, it changed while being stored and
 * nothing is recorded. A local file (`reread`: `grove put` on this machine) that fits the page
 * cache is read through it, and pass 2 reads it again from there, checked the same way, instead
 * of reading the temp file back from the disk (one disk read of the file instead of two); if it
 * changed meanwhile, pass 2 reads the temp file after all.
 */
import { mkdir, rename, stat, unlink } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { randomBytes } from "node:crypto";
import { conflict, GroveError, tooLarge } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { fsyncDir } from "../core/atomic.ts";
import { manifestNameTaken, settlePending } from "../store/manifest-settle.ts";
import { fsyncFile } from "../core/group-sync.ts";
import { settleHomeCopies } from "./home-copies.ts";
import { confinedPath } from "../core/confine.ts";
import { FileWriter } from "../core/file-writer.ts";
import { DirectFile, fitsPageCache } from "../core/direct-io.ts";
import { CHUNK_SIZE, toHex, type ChunkHash, type FileHash, type ManifestHash } from "../core/types.ts";
import {
  encryptionInfo,
  manifestHash,
  manifestFileText,
  manifestRelPath,
  readManifest,
  type ChunkRef,
  type Manifest,
} from "../store/manifest.ts";
import { homeFile, UPLOAD_TEMP_MARK, type HomePath } from "./home-path.ts";
import type { Vault } from "./vault.ts";
import { releasePiece } from "../core/piece-release.ts";
import { paceCollection } from "../core/gc-pacer.ts";
import type { NewVersion } from "../store/placement-db.ts";
import type { StagedChunk } from "../store/chunk-store.ts";

export interface IngestResult {
  manifest: Manifest;
  manifest_hash: ManifestHash;
  version: number;
  /** False when the path already held exactly this content (nothing new recorded). */
  created: boolean;
  /** Chunks written to the store by this upload (0 when all were already there). */
  new_chunks: number;
}

export interface IngestOptions {
  maxBytes: number;
  /** Called as work progresses: "receive" (bytes read in so far; total -1 when unknown), then "seal". */
  onProgress?: (phase: "receive" | "seal", done: number, total: number) => void;
  /** Expected size, when known: for progress, and the spool's buffer size (a hint: more bytes only take more writes). */
  expectedSize?: number;
  /**
   * The absolute path of the file `body` reads, for a file stored where it lives (a watched
   * folder): no temp file is written and nothing is placed in GROVE_HOME; pass 2 reads this file
   * again and checks it is unchanged. Default: spool beside the GROVE_HOME destination and
   * rename into place.
   */
  inPlace?: string;
  /**
   * The absolute path of the local file `body` reads (through the page cache when
   * fitsPageCache), for pass 2 to read again instead of the temp file; see the module comment.
   */
  reread?: string;
  /**
   * `body` is a request body straight from the listener, whose pieces no one else holds: each is
   * freed once hashed and copied into the spool (core/piece-release), not at the next collection.
   */
  ownPieces?: boolean;
}

/** Pass 2 found the file it read again no longer the one pass 1 hashed. */
class SourceChangedError extends GroveError {
  constructor(path: string) {
    super(`${path} changed while it was being stored; nothing was recorded (try again)`, 409, "conflict");
  }
}

type Body = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/** Store the bytes of `body` as the new content of `path`. */
export async function ingest(vault: Vault, path: HomePath, body: Body, opts: IngestOptions): Promise<IngestResult> {
  const target = homeFile(vault.home, path);
  if (opts.inPlace) {
    const { size, fileHash } = await spool(vault, body, null, opts);
    const result = await vault.store.writing(() =>
      record(vault, path, { path: opts.inPlace!, verify: true, cached: fitsPageCache(size) }, size, fileHash, opts, false),
    );
    if (result.created) {
      vault.stored?.emit(path);
      await settleLater(vault);
      collectAfterLarge(size);
    }
    return result;
  }
  await prepareParent(vault.home, path);
  const temp = join(dirname(target), `${UPLOAD_TEMP_MARK}${randomBytes(6).toString("hex")}`);
  try {
    const { size, fileHash } = await spool(vault, body, temp, opts);
    const fromTemp: SealSource = { path: temp, verify: false, cached: false };
    // As a writer: a chunk found present is not collected before this version references it.
    const result = await vault.store.writing(async () => {
      if (!opts.reread || !fitsPageCache(size)) return record(vault, path, fromTemp, size, fileHash, opts, true);
      try {
        return await record(vault, path, { path: opts.reread, verify: true, cached: true }, size, fileHash, opts, true);
      } catch (e) {
        if (!(e instanceof SourceChangedError)) throw e;
        // The temp file holds exactly what was hashed; chunks sealed from the changed file are
        // referenced by nothing (the trash collector removes such leftovers).
        log("info", "the file changed while it was being stored: sealing the copy taken in pass 1", { path });
        return record(vault, path, fromTemp, size, fileHash, opts, true);
      }
    });
    if (!result.created) {
      // The same content again: no version records this copy as pending, so it is made durable
      // before it replaces the one in place (a torn copy must never look like an edit).
      await fsyncFile(temp);
      await rename(temp, target);
      fsyncDir(dirname(target));
      return result;
    }
    // Not fsynced: the version's transaction recorded this copy as pending (ingest/home-copies).
    await rename(temp, target);
    vault.stored?.emit(path);
    await settleLater(vault);
    collectAfterLarge(size);
    return result;
  } catch (e) {
    await unlink(temp).catch(() => {});
    throw e;
  }
}

/** Make the parent directories in GROVE_HOME; refuse (409) when the path or a parent is the wrong kind of entry. */
export async function prepareParent(home: string, path: HomePath): Promise<void> {
  const segs = path.split("/");
  let cur = home;
  for (let i = 0; i < segs.length - 1; i++) {
    cur = join(cur, segs[i]!);
    const s = await stat(cur).catch(() => null);
    if (s && !s.isDirectory()) throw conflict(`cannot store '${path}': '${segs.slice(0, i + 1).join("/")}' is a file`);
  }
  const t = await stat(join(home, ...segs)).catch(() => null);
  if (t?.isDirectory()) throw conflict(`cannot store '${path}': it is a folder`);
  await mkdir(dirname(join(home, ...segs)), { recursive: true });
}

/**
 * Pass 1: body -> temp file (when there is one), hashing as it goes. Not fsynced here: the
 * caller syncs it while pass 2 runs, before the rename.
 */
async function spool(vault: Vault, body: Body, temp: string | null, opts: IngestOptions): Promise<{ size: number; fileHash: FileHash }> {
  const maxBytes = opts.maxBytes;
  const hasher = vault.suite.sha256Stream();
  const out = temp ? await FileWriter.createDirect(temp, 0o644, spoolBuffer(opts.expectedSize)) : null;
  let size = 0;
  try {
    for await (const piece of body as AsyncIterable<Uint8Array>) {
      size += piece.byteLength;
      if (size > maxBytes) throw tooLarge(`upload is larger than max_upload_bytes (${maxBytes} bytes)`);
      hasher.update(piece);
      await out?.write(piece);
      if (opts.ownPieces) releasePiece(piece);
      opts.onProgress?.("receive", size, opts.expectedSize ?? -1);
    }
    await out?.close(false);
  } catch (e) {
    await out?.abort();
    throw e;
  }
  return { size, fileHash: toHex(hasher.digest()) as FileHash };
}

/**
 * A file of a chunk or more leaves the garbage of its whole store behind (request pieces, sealing
 * replies, rows): collected soon (core/gc-pacer), not left for the transfer that usually follows.
 * A 1 GiB put followed by a sync round (bench/replicate c): the cell's peak 159-160 MiB, against
 * 168-172 without.
 */
function collectAfterLarge(size: number): void {
  if (size >= CHUNK_SIZE) void paceCollection(size);
}

/**
 * What was written without an fsync (the manifest, the copy in GROVE_HOME) is made durable once
 * the store is quiet (ingest/settler); with no settler (one-shot uses), now.
 */
async function settleLater(vault: Vault): Promise<void> {
  if (vault.settler) return vault.settler.soon();
  await settlePending(vault.db, vault.manifestsDir);
  await settleHomeCopies(vault.db, vault.home);
}

/**
 * Pass 2 and bookkeeping: seal + store chunks, record the version with the manifest's text as
 * pending; its file is written later (store/manifest-settle: a reader meanwhile finds the text in
 * placement.db). `home`: the copy in GROVE_HOME is written after, without an fsync, recorded as
 * pending in that same transaction.
 */
async function record(
  vault: Vault,
  path: HomePath,
  from: SealSource,
  size: number,
  fileHash: FileHash,
  opts: IngestOptions,
  home: boolean,
): Promise<IngestResult> {
  const cur = vault.db.current(path);
  if (cur && cur.file_hash === fileHash) {
    const row = vault.db.manifest(cur.manifest_hash)!;
    return {
      manifest: readManifest(vault.manifestsDir, row.manifest_file),
      manifest_hash: cur.manifest_hash,
      version: cur.version,
      created: false,
      new_chunks: 0,
    };
  }
  const reused = reuseManifest(vault, path, fileHash);
  if (reused && reused.m.chunks.every((c) => vault.store.has(c.hash))) {
    const older = reused.m;
    const mHash = manifestHash(older, vault.suite.sha256);
    const version = addDescribed(vault, {
      path,
      manifestHash: mHash,
      manifestFile: manifestRelPath(path, fileHash),
      fileHash,
      totalSize: size,
      owner: vault.owner,
      chunks: older.chunks,
      createdAt: Date.parse(older.created_at),
      pendingBody: reused.pendingBody,
      homePending: home,
    });
    return { manifest: older, manifest_hash: mHash, version, created: true, new_chunks: 0 };
  }
  // Small chunks are rows of placement.db, committed with the version (store/chunk-store).
  const rows: StagedChunk[] = [];
  const committed = Promise.withResolvers<void>();
  committed.promise.catch(() => {});
  let sealed: Awaited<ReturnType<typeof sealFile>>;
  try {
    sealed = await sealFile(vault, from, size, fileHash, opts, rows, committed.promise);
  } catch (e) {
    committed.reject(e);
    throw e;
  }
  const { chunks, written } = sealed;
  const manifest = newManifest(vault, path, size, fileHash, chunks);
  const mHash = manifestHash(manifest, vault.suite.sha256);
  const file = uniqueManifestRel(vault, manifest);
  const body = manifestFileText(manifest);
  let version: number;
  try {
    version = addDescribed(
      vault,
      {
        path,
        manifestHash: mHash,
        manifestFile: file,
        fileHash,
        totalSize: size,
        owner: vault.owner,
        chunks,
        createdAt: Date.parse(manifest.created_at),
        pendingBody: body,
        homePending: home,
      },
      rows,
    );
  } catch (e) {
    committed.reject(e);
    throw e;
  }
  committed.resolve();
  return { manifest, manifest_hash: mHash, version, created: true, new_chunks: written };
}

/**
 * The spool's buffer size: the expected size rounded up to 64 KiB (a multiple of the direct-I/O
 * block), at most 4 MiB; 4 MiB when unknown. A 4 KiB upload zero-filled two 4 MiB buffers before
 * (about 1 ms of a small put's CPU); a body longer than announced only takes more writes.
 */
function spoolBuffer(expected: number | undefined): number {
  const most = 4 << 20;
  if (expected === undefined || !Number.isFinite(expected) || expected < 0) return most;
  return Math.min(most, Math.max(1, Math.ceil(expected / 65536)) * 65536);
}

/**
 * Record version `v`, and the tree event that describes it, in one commit (`vault.describe`,
 * mine/my-tree); with the rows of its small chunks (`rows`, store/chunk-store), when there are.
 */
function addDescribed(vault: Vault, v: NewVersion, rows: readonly StagedChunk[] = []): number {
  return vault.db.db.transaction(() => {
    vault.store.commitRows(rows);
    const version = vault.db.addVersion(v);
    vault.describe?.([v.path]);
    return version;
  })();
}

/** The manifest of a new version of `path`: `size` bytes hashing to `fileHash`, sealed as `chunks`. */
export function newManifest(
  vault: Vault,
  path: HomePath,
  size: number,
  fileHash: FileHash,
  chunks: ChunkRef[],
  /** The highest version number `path` used so far, when the caller has looked it up already. */
  last = vault.db.lastVersion(path),
): Manifest {
  return {
    format: 1,
    filename: posix.basename(path),
    source_path: path,
    total_size: size,
    file_hash: fileHash,
    chunks,
    encryption: encryptionInfo(vault.keys.sealing(fileHash).keyId),
    version: last + 1,
    created_at: new Date().toISOString(),
    synced_at: null,
    owner: vault.owner,
  };
}

/**
 * An older manifest of this same path and content (A -> B -> A): reused, not duplicated. When no
 * version records it (a store whose commit failed, then tried again: its file was written but
 * never fsynced), `pendingBody` is its text, for the version's transaction to keep until the file
 * is made durable (store/manifest-settle), as for a new manifest.
 */
export function reuseManifest(vault: Vault, path: string, fileHash: string): { m: Manifest; pendingBody?: string } | null {
  const rel = manifestRelPath(path, fileHash);
  const p = confinedPath(vault.manifestsDir, rel);
  try {
    // Its file, or its text while the file is not written yet (store/manifest-settle).
    const text = existsSync(p) ? readFileSync(p, "utf8") : vault.db.pendingManifestBody(rel);
    if (text === null) return null;
    const m = JSON.parse(text) as Manifest;
    if (m.file_hash !== fileHash || m.source_path !== path) return null;
    return vault.db.manifest(manifestHash(m, vault.suite.sha256) as ManifestHash) ? { m } : { m, pendingBody: text };
  } catch {
    return null;
  }
}

/** Where the manifest's file goes; on the (rare) clash of the 8-character prefix, the name takes the full hash. */
export function uniqueManifestRel(vault: Vault, m: Manifest): string {
  const rel = manifestRelPath(m.source_path, m.file_hash);
  if (!manifestNameTaken(vault.db, vault.manifestsDir, rel)) return rel;
  return manifestRelPath(m.source_path, m.file_hash, true);
}

/** Chunk files written but not yet fsynced+renamed, at most (no buffer is held for them). */
const MAX_SYNCING = 32;

/** What pass 2 reads: the spool (written by pass 1), or the local source file, checked again. */
interface SealSource {
  path: string;
  /** Hash what is read and refuse to record it unless it is still the file pass 1 hashed. */
  verify: boolean;
  /** Read through the page cache (pass 1 left it there), not with direct I/O. */
  cached: boolean;
}

/** Read `from` in CHUNK_SIZE pieces, seal on the pool, store; results in order. Buffers are recycled. */
async function sealFile(
  vault: Vault,
  from: SealSource,
  size: number,
  fileHash: string,
  opts: IngestOptions,
  rows: StagedChunk[],
  committed: Promise<void>,
): Promise<{ chunks: ChunkRef[]; written: number }> {
  const key = vault.keys.sealing(fileHash).key;
  const count = Math.ceil(size / CHUNK_SIZE);
  const changed = () => new SourceChangedError(from.path);
  const src = await DirectFile.openRead(from.path, { cached: from.cached });
  // The check hashes the plaintext in chunk order, before each chunk is sealed in place.
  const check = from.verify ? vault.suite.sha256Stream() : null;
  let hashTurn: Promise<void> = Promise.resolve();
  const chunks: ChunkRef[] = [];
  let written = 0;
  let done = 0;
  const window: Promise<ChunkRef & { wrote: boolean; plainSize: number }>[] = [];
  const settle = async () => {
    const r = await window.shift()!;
    chunks.push({ hash: r.hash, size: r.size, index: r.index });
    if (r.wrote) written++;
    done += r.plainSize;
    opts.onProgress?.("seal", done, size);
  };
  const one = async (i: number) => {
    const start = i * CHUNK_SIZE;
    const len = Math.min(size, start + CHUNK_SIZE) - start;
    const prevTurn = hashTurn;
    let endTurn!: () => void;
    hashTurn = new Promise((r) => (endTurn = r));
    const buf = vault.buffers.take();
    try {
      if ((await src.read(buf, len, start, { spareTail: true })) < len)
        throw from.verify ? changed() : new Error("upload spool file shrank while sealing");
      if (check) {
        await prevTurn;
        check.update(buf.subarray(0, len));
      }
    } catch (e) {
      vault.buffers.give(buf);
      throw e;
    } finally {
      endTurn();
    }
    // Sealed in place (the buffer has room for the tag): a chunk in flight holds one buffer.
    const { sealed, hash } = await vault.pool.seal(key, i, buf.subarray(0, len), buf);
    try {
      const before = rows.length;
      const { wrote, durable } = await vault.store.putStaged(hash as ChunkHash, sealed, { spareTail: true, rows });
      syncing.push(durable);
      // Pushed to peers while the rest is sealed (a row: once the version's commit holds it).
      if (wrote) vault.chunkStored?.(hash as ChunkHash, sealed, rows.length > before ? committed : durable);
      return { hash: hash as ChunkHash, size: sealed.byteLength, index: i, wrote, plainSize: len };
    } finally {
      vault.buffers.give(sealed);
    }
  };
  // Chunks being fsynced and renamed: many in flight, bounded, all done before the manifest.
  const syncing: Promise<void>[] = [];
  const drain = async (keep: number) => {
    while (syncing.length > keep) await syncing.shift();
  };
  // Each chunk in flight holds one 4 MiB buffer from its read until its write is on disk
  // (fsyncs overlap in `syncing`, holding no buffer); the window bounds the cell's RSS.
  const depth = Math.max(2, vault.pool.parallelism);
  try {
    for (let i = 0; i < count; i++) {
      const p = one(i);
      p.catch(() => {}); // observed by `settle` in order; a later chunk may fail first
      window.push(p);
      if (window.length >= depth) await settle();
      await drain(MAX_SYNCING);
    }
    while (window.length) await settle();
    await drain(0);
    if (check) {
      const probe = new Uint8Array(1);
      if (toHex(check.digest()) !== fileHash || (await src.read(probe, 1, size)) !== 0) throw changed();
    }
  } catch (e) {
    await Promise.allSettled(window);
    await Promise.allSettled(syncing);
    throw e;
  } finally {
    await src.release();
  }
  return { chunks, written };
}
