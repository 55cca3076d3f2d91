/**
 * @module mine/carried-chunks — the sealed chunks of small files that ride on a poke to my other
 * cells (POST /peer/tree/poke, `chunks`: protocol 1.3 in docs/protocol.md), so a cell that writes
 * the file into its GROVE_HOME needs no round trip to ask for them.
 *
 * The poking cell adds the chunk of each one-chunk file its events put, while they fit (a few
 * small files: a folder of many goes by POST /peer/tree/chunks as before). The poked cell checks
 * each chunk against its name, keeps it a short while in a small bounded map, and mine/my-tree
 * takes it from there before asking any cell. A chunk is a chunk like any other: sealed, and
 * opened (name and tag checked again) only by the cell that writes it.
 */
import { z } from "zod";
import { shortId } from "../core/format.ts";
import { log } from "../core/log.ts";
import { sha256Hex } from "../core/sha256.ts";
import type { ChunkHash, CellId } from "../core/types.ts";

/** A poke carries the chunks of at most this many files, of at most this size each, this many bytes in all. */
export const CARRIED_FILES = 16;
export const CARRIED_CHUNK_MAX = 64 * 1024;
const CARRIED_BYTES = 256 * 1024;
/** What a poked cell keeps of carried chunks not yet taken, and for how long. */
const KEPT_BYTES = 1024 * 1024;
const KEPT_MS = 60_000;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
/** `chunks` of a poke: name → sealed bytes in base64. */
export const CarriedSchema = z
  .record(hex64, z.string().max(Math.ceil(CARRIED_CHUNK_MAX / 3) * 4 + 4))
  .refine((r) => Object.keys(r).length <= CARRIED_FILES, `at most ${CARRIED_FILES} chunks`);

/** What the poking cell reads of its own manifests: their chunks. */
const ChunksOf = z.object({ chunks: z.array(z.object({ hash: hex64, size: z.number().int().nonnegative() })) });

/** The store a poking cell reads its chunks from. */
export interface ChunkSource {
  has(hash: ChunkHash): boolean;
  readSync(hash: ChunkHash): Uint8Array;
}

/**
 * The chunks a poke carries for `events` (their manifests' bodies in `manifests`): the one chunk
 * of each small file put, read from `store` (in the page cache: it was just written),
 * while they fit. Undefined when there are none.
 */
export function chunksToCarry(
  store: ChunkSource,
  events: readonly unknown[],
  manifests: Readonly<Record<string, string>>,
  recent?: RecentChunks,
): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let files = 0;
  let bytes = 0;
  for (const e of events) {
    if (files >= CARRIED_FILES) break;
    const { kind, manifest: named } = e as { kind?: unknown; manifest?: unknown };
    // A put brings content; a move keeps what the other cell has already.
    const body = kind === "put" && typeof named === "string" ? manifests[named] : undefined;
    if (!body) continue;
    const m = ChunksOf.safeParse(JSON.parse(body));
    const c = m.success && m.data.chunks.length === 1 ? m.data.chunks[0]! : null;
    if (!c || c.size > CARRIED_CHUNK_MAX || out[c.hash]) continue;
    if (bytes + c.size > CARRIED_BYTES) break;
    let sealed = recent?.get(c.hash);
    if (!sealed && !store.has(c.hash as ChunkHash)) continue;
    try {
      // Small, and in the page cache unless written with direct I/O (a put's): no event-loop turn spent.
      sealed ??= store.readSync(c.hash as ChunkHash);
    } catch {
      continue; // gone meanwhile (collected): the cell asks for it as for any other
    }
    out[c.hash] = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength).toString("base64");
    files++;
    bytes += sealed.byteLength;
  }
  return files ? out : undefined;
}

/**
 * The small chunks this cell sealed last, copied into one ring of KEPT_BYTES (the oldest
 * overwritten first): a put writes its chunks with direct I/O, past the page cache, so reading one
 * back for a poke would wait on the disk. One buffer for all: a copy per chunk would be garbage
 * for every small file stored (10,000 of them in a folder dropped in), which the collector reaches
 * late (issue 21: a cell's peak memory).
 */
export class RecentChunks {
  private readonly ring = new Uint8Array(KEPT_BYTES);
  private next = 0;
  /** Where each kept chunk is in the ring, oldest first. */
  private readonly kept = new Map<string, { at: number; len: number }>();

  remember(hash: string, sealed: Uint8Array): void {
    const len = sealed.byteLength;
    if (len > CARRIED_CHUNK_MAX || this.kept.has(hash)) return;
    if (this.next + len > this.ring.byteLength) this.next = 0;
    const at = this.next;
    for (const [h, k] of this.kept) if (k.at < at + len && at < k.at + k.len) this.kept.delete(h); // overwritten now
    this.ring.set(sealed, at); // the caller's buffer is reused once the call returns
    this.kept.set(hash, { at, len });
    this.next = at + len;
  }

  /** The chunk's bytes: a view of the ring, valid until the next `remember`. */
  get(hash: string): Uint8Array | undefined {
    const k = this.kept.get(hash);
    return k ? this.ring.subarray(k.at, k.at + k.len) : undefined;
  }
}

/** Chunks carried by pokes, kept until taken, for KEPT_MS at most, KEPT_BYTES in all (oldest dropped first). */
export class CarriedChunks {
  private readonly kept = new Map<string, { bytes: Uint8Array; at: number }>();
  private size = 0;

  /** Keep the chunks of a poke from `from` (each checked against its name; one that is not is said and dropped). */
  take(from: CellId, raw: unknown, now = Date.now()): number {
    const r = CarriedSchema.safeParse(raw);
    if (!r.success) {
      log("warn", "tree: chunks carried by a poke refused", { from: shortId(from), error: r.error.issues[0]?.message ?? "malformed" });
      return 0;
    }
    this.expire(now);
    let n = 0;
    for (const [hash, b64] of Object.entries(r.data)) {
      const bytes = new Uint8Array(Buffer.from(b64, "base64"));
      if (sha256Hex(bytes) !== hash) {
        log("warn", "tree: a chunk carried by a poke does not match its name; dropped", { from: shortId(from), chunk: hash.slice(0, 12) });
        continue;
      }
      if (this.kept.has(hash)) continue;
      this.kept.set(hash, { bytes, at: now });
      this.size += bytes.byteLength;
      n++;
    }
    while (this.size > KEPT_BYTES) this.drop(this.kept.keys().next().value!);
    return n;
  }

  /** The chunk named `hash`, if a poke carried it: handed over once. */
  claim(hash: string): Uint8Array | undefined {
    const k = this.kept.get(hash);
    if (k) this.drop(hash);
    return k?.bytes;
  }

  private expire(now: number): void {
    for (const [hash, k] of this.kept) {
      if (now - k.at < KEPT_MS) break; // oldest first
      this.drop(hash);
    }
  }

  private drop(hash: string): void {
    const k = this.kept.get(hash);
    if (!k) return;
    this.size -= k.bytes.byteLength;
    this.kept.delete(hash);
  }
}
