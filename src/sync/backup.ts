/**
 * @module sync/backup — fleet backup of this cell's own manifests (DESIGN: each cell backs up its
 * manifests to peers, sealed to itself). Two kinds of blob, both HPKE-sealed to our own X25519
 * key so the peer keeping them reads nothing:
 *  - manifest: one per manifest, named by its manifest hash (checked again on restore);
 *  - index: the file history (every version of every path) and the peer list, named by the
 *    digest of that content, so a peer keeps exactly one current index per owner.
 * Restoring reads the newest index, fetches the manifests it names, and records them.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { log } from "../core/log.ts";
import type { CellId, ChunkHash, FileHash, ManifestHash } from "../core/types.ts";
import type { CellKeys } from "../cell/state-dir.ts";
import type { PlacementDb } from "../store/placement-db.ts";
import type { PeerStore } from "../fleet/peer-store.ts";
import { canonicalJson } from "../store/canonical-json.ts";
import { ManifestSchema, manifestRelPath, writeManifest, type Manifest } from "../store/manifest.ts";
import { verifyCard } from "../protocol/card.ts";
import { BACKUP_INFO } from "../protocol/labels.ts";
import { openSealed, sealTo } from "../protocol/seal.ts";

const enc = new TextEncoder();
const sha256 = (d: Uint8Array | string) => createHash("sha256").update(d).digest("hex");

// Fields a newer build adds are ignored (docs/protocol.md, "Unknown fields"): an older build can still recover from its index.
const IndexSchema = z.object({
  v: z.literal(1),
  owner: z.string().regex(/^[0-9a-f]{64}$/),
  made_at: z.number().int().nonnegative(),
  versions: z.array(z.tuple([z.string().min(1).max(4096), z.number().int().min(1), z.string().regex(/^[0-9a-f]{64}$/).nullable(), z.number().int().nonnegative()])),
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

/**
 * The index as it stands now, and its name: the digest of the history and of who the peers are
 * (ids and flags). Peer cards ride along but do not name it: a card refreshed for its free space
 * must not send the whole index to every peer again.
 */
export function currentIndex(ctx: BackupContext): { name: string; index: BackupIndex } {
  const versions = ctx.db.allVersions().map((r) => [r.path, r.version, r.manifest_hash, r.at] as [string, number, string | null, number]);
  const rows = ctx.peers.list();
  const peers = rows.map((p) => ({ card: JSON.parse(p.card) as unknown, friend: p.friend, favorite: p.favorite }));
  const name = sha256(canonicalJson({ versions, peers: rows.map((p) => [p.id, p.friend, p.favorite]) }));
  return { name, index: { v: 1, owner: ctx.keys.id, made_at: Date.now(), versions, peers } };
}

function aad(ctx: BackupContext, kind: string): string {
  return `${ctx.keys.id}/${kind}`;
}

export function sealIndex(ctx: BackupContext, index: BackupIndex): Promise<Uint8Array> {
  return sealTo(ctx.keys.x25519Public, enc.encode(JSON.stringify(index)), BACKUP_INFO, aad(ctx, "index"));
}

/** Our manifest file as a sealed backup blob (the file's bytes, as written). */
export function sealManifest(ctx: BackupContext, hash: ManifestHash): Promise<Uint8Array> | null {
  const row = ctx.db.manifest(hash);
  if (!row) return null;
  const p = join(ctx.manifestsDir, row.manifest_file);
  if (!existsSync(p)) return null;
  return sealTo(ctx.keys.x25519Public, new Uint8Array(readFileSync(p)), BACKUP_INFO, aad(ctx, "manifest"));
}

export async function openIndex(ctx: BackupContext, blob: Uint8Array): Promise<BackupIndex> {
  const plain = await openSealed(ctx.keys.x25519Secret, ctx.keys.x25519Public, blob, BACKUP_INFO, aad(ctx, "index"));
  const index = IndexSchema.parse(JSON.parse(new TextDecoder().decode(plain)));
  if (index.owner !== ctx.keys.id) throw new Error("the index belongs to another cell");
  return index;
}

/** Open a manifest backup and check it is the manifest named `hash`, ours. */
export async function openManifest(ctx: BackupContext, hash: ManifestHash, blob: Uint8Array): Promise<Manifest> {
  const plain = await openSealed(ctx.keys.x25519Secret, ctx.keys.x25519Public, blob, BACKUP_INFO, aad(ctx, "manifest"));
  const m = ManifestSchema.parse(JSON.parse(new TextDecoder().decode(plain))) as Manifest;
  if (sha256(canonicalJson(m)) !== hash) throw new Error(`manifest backup ${hash.slice(0, 12)} does not hash to its name`);
  if (m.owner !== ctx.keys.id) throw new Error(`manifest backup ${hash.slice(0, 12)} belongs to another cell`);
  return m;
}

/** Record a restored manifest: its file in manifests/ and its rows. False when already known. */
export function importManifest(ctx: BackupContext, hash: ManifestHash, m: Manifest): boolean {
  if (ctx.db.manifest(hash)) return false;
  let rel = manifestRelPath(m.source_path, m.file_hash);
  if (existsSync(join(ctx.manifestsDir, rel))) rel = rel.replace(/\.[0-9a-f]{8}\.json$/, `.${hash}.json`);
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

/** Apply a restored index: history rows (for known manifests) and peers we did not know. */
export function applyIndex(ctx: BackupContext, index: BackupIndex): { versions: number; peers: number } {
  const versions = ctx.db.importVersions(index.versions.map(([path, version, manifest_hash, at]) => ({ path, version, manifest_hash: manifest_hash as ManifestHash | null, at })));
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
