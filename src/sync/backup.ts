/**
 * @module sync/backup — fleet backup of this cell's own manifests (docs/design.md:
 * Manifest backups). Two kinds of blob, both in protocol/backup-blob's format 2 (XChaCha20-
 * Poly1305 under a key derived from our master key, bound to our id, the kind and the manifest),
 * so the peer keeping them reads nothing and nobody but us can make one that opens:
 *  - manifest: one per manifest, named by a keyed hash of its manifest hash (checked again on restore);
 *  - index: the file history (every version of every path) and the peer list, named by a keyed
 *    hash of that content's digest, so a peer keeps exactly one current index per owner.
 * Restoring reads the newest index that opens, fetches the manifests it names, and records them;
 * a blob that does not open (forged, format 1, altered, misnamed) is refused and reported.
 */
import { manifestNameTaken } from "../store/manifest-settle.ts";
import { sha256Hex } from "../core/sha256.ts";
import { z } from "zod";
import { GroveError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { CellId, ChunkHash, FileHash, ManifestHash } from "../core/types.ts";
import type { CellKeys } from "../crypto/keys.ts";
import type { PlacementDb } from "../store/placement-db.ts";
import type { PeerStore } from "../fleet/peer-store.ts";
import { canonicalJson } from "../core/canonical-json.ts";
import { ManifestSchema, manifestRelPath, manifestText, RelativePathSchema, writeManifest, type Manifest } from "../store/manifest.ts";
import { verifyCard } from "../protocol/card.ts";
import {
  backupKeys,
  backupName,
  BackupRefusedError,
  openBackup,
  sealBackup,
  type BackupKeys,
  type BackupKind,
} from "../protocol/backup-blob.ts";

const enc = new TextEncoder();

// Fields a newer build adds are ignored (docs/protocol.md, "Unknown fields"): an older build can still recover from its index.
const IndexSchema = z.object({
  v: z.literal(1),
  owner: z.string().regex(/^[0-9a-f]{64}$/),
  made_at: z.number().int().nonnegative(),
  versions: z.array(
    z.tuple([
      RelativePathSchema,
      z.number().int().min(1),
      z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .nullable(),
      z.number().int().nonnegative(),
    ]),
  ),
  peers: z.array(z.object({ card: z.unknown(), friend: z.boolean(), favorite: z.boolean() })),
});
export type BackupIndex = z.infer<typeof IndexSchema>;

/** What backing up and restoring need of the cell. */
export interface BackupContext {
  keys: CellKeys;
  db: PlacementDb;
  peers: PeerStore;
  manifestsDir: string;
}

const derived = new WeakMap<CellKeys, BackupKeys>();

/** Our backup keys (derived from the master key once per key set). */
function keysOf(ctx: BackupContext): BackupKeys {
  let k = derived.get(ctx.keys);
  if (!k) derived.set(ctx.keys, (k = backupKeys(ctx.keys.id, ctx.keys.masterKey)));
  return k;
}

/** The name the backup of manifest `hash` is kept under on peers. */
export function manifestBackupName(ctx: BackupContext, hash: ManifestHash): string {
  return backupName(keysOf(ctx), "manifest", hash);
}

/**
 * The index as it stands now, and its name: a keyed hash of the digest of the history and of who
 * the peers are (ids and flags). Peer cards ride along but do not name it: a card refreshed for
 * its free space must not send the whole index to every peer again.
 */
export function currentIndex(ctx: BackupContext): { name: string; index: BackupIndex } {
  const versions = ctx.db.allVersions().map((r) => [r.path, r.version, r.manifest_hash, r.at] as [string, number, string | null, number]);
  const rows = ctx.peers.list();
  const peers = rows.map((p) => ({ card: JSON.parse(p.card) as unknown, friend: p.friend, favorite: p.favorite }));
  const digest = sha256Hex(canonicalJson({ versions, peers: rows.map((p) => [p.id, p.friend, p.favorite]) }));
  return { name: backupName(keysOf(ctx), "index", digest), index: { v: 1, owner: ctx.keys.id, made_at: Date.now(), versions, peers } };
}

/** Every backup a peer should keep for us, by name: each own manifest's, then the current index's. */
export function expectedBackups(ctx: BackupContext, indexName: string): Map<string, { kind: BackupKind; hash: ManifestHash | null }> {
  const out = new Map<string, { kind: BackupKind; hash: ManifestHash | null }>();
  for (const h of ctx.db.ownManifests(ctx.keys.id))
    out.set(manifestBackupName(ctx, h as ManifestHash), { kind: "manifest", hash: h as ManifestHash });
  out.set(indexName, { kind: "index", hash: null });
  return out;
}

export function sealIndex(ctx: BackupContext, index: BackupIndex): Uint8Array {
  return sealBackup(keysOf(ctx), "index", "", enc.encode(JSON.stringify(index)));
}

/** Our manifest file as a backup blob (the file's bytes, as written), or null when it is gone. */
export function sealManifest(ctx: BackupContext, hash: ManifestHash): Uint8Array | null {
  const row = ctx.db.manifest(hash);
  if (!row) return null;
  let text: string;
  try {
    text = manifestText(ctx.manifestsDir, row.manifest_file);
  } catch {
    return null; // gone
  }
  return sealBackup(keysOf(ctx), "manifest", hash, enc.encode(text));
}

/** Parse what opened: our own bytes, so a failure means a build that wrote another format. */
function parsed<T>(what: string, schema: z.ZodType<T>, plain: Uint8Array): T {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(plain));
  } catch {
    throw new GroveError(`${what} is not JSON`, 400, "backup_refused");
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new GroveError(`${what} is not readable: ${i.path.join(".") || "(root)"}: ${i.message}`, 400, "backup_refused");
  }
  return r.data;
}

/** Open an index backup: ours (it opens under our key, for our id) and well-formed. */
export function openIndex(ctx: BackupContext, blob: Uint8Array): BackupIndex {
  const index = parsed("the backup index", IndexSchema, openBackup(keysOf(ctx), "index", "", blob));
  if (index.owner !== ctx.keys.id) throw new BackupRefusedError("the index belongs to another cell");
  return index;
}

/** Open a manifest backup and check it is the manifest named `hash`, ours. */
export function openManifest(ctx: BackupContext, hash: ManifestHash, blob: Uint8Array): Manifest {
  const m = parsed(`manifest backup ${hash.slice(0, 12)}`, ManifestSchema, openBackup(keysOf(ctx), "manifest", hash, blob)) as Manifest;
  if (sha256Hex(canonicalJson(m)) !== hash) throw new BackupRefusedError(`manifest backup ${hash.slice(0, 12)} does not hash to its name`);
  if (m.owner !== ctx.keys.id) throw new BackupRefusedError(`manifest backup ${hash.slice(0, 12)} belongs to another cell`);
  return m;
}

/** Record a restored manifest: its file in manifests/ and its rows. False when already known. */
export function importManifest(ctx: BackupContext, hash: ManifestHash, m: Manifest): boolean {
  if (ctx.db.manifest(hash)) return false;
  // writeManifest confines the file to manifests/ (source_path was checked by ManifestSchema too).
  let rel = manifestRelPath(m.source_path, m.file_hash);
  if (manifestNameTaken(ctx.db, ctx.manifestsDir, rel)) rel = manifestRelPath(m.source_path, hash, true);
  writeManifest(ctx.manifestsDir, m, rel);
  return ctx.db.importManifest({
    path: m.source_path,
    manifestHash: hash,
    manifestFile: rel,
    fileHash: m.file_hash as FileHash,
    totalSize: m.total_size,
    owner: m.owner as CellId,
    chunks: m.chunks.map((c) => ({ hash: c.hash as ChunkHash, size: c.size, index: c.index })),
    createdAt: Date.parse(m.created_at) || Date.now(),
  });
}

/**
 * Apply a restored index (one that opened under our key): history rows (for known manifests) and
 * peers we did not know. Never overwrites a peer we know, never adds our own id.
 */
export function applyIndex(ctx: BackupContext, index: BackupIndex): { versions: number; peers: number } {
  const versions = ctx.db.importVersions(
    index.versions.map(([path, version, manifest_hash, at]) => ({
      path,
      version,
      manifest_hash: manifest_hash as ManifestHash | null,
      at,
    })),
  );
  let peers = 0;
  for (const p of index.peers) {
    try {
      const card = verifyCard(p.card);
      if (card.id === ctx.keys.id || ctx.peers.get(card.id)) continue;
      ctx.peers.upsert(card.id, card.name, JSON.stringify(card), Date.now());
      ctx.peers.setFlag(card.id, "friend", p.friend);
      ctx.peers.setFlag(card.id, "favorite", p.favorite);
      peers++;
    } catch (e) {
      log("warn", "a peer in the restored index has an invalid card; skipped", { why: (e as Error).message });
    }
  }
  return { versions, peers };
}
