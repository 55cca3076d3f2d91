/**
 * @module sync/fsck — `grove fsck [--repair]`: checks everything a cell keeps, and with repair
 * fixes what can be fixed from its peers.
 *
 * Checks, in order:
 *   1. manifests: every version's manifest is known, its file is there, parses, and hashes to its
 *      name. Repair: the manifest backup a peer keeps for us (sealed with our backup key) is fetched,
 *      opened, checked against the name and written back.
 *   2. own chunks: every chunk of every manifest (history included) is present, hashes to its
 *      name and its Poly1305 tag verifies under the file's key. Repair: fetched from a peer that
 *      holds a copy (placements), checked the same way, then written atomically over the bad one.
 *   3. chunks kept for other cells: present and hashing to their name (their keys are not ours).
 *      Repair: the record and the file are dropped; the owner's next audit or round re-pushes.
 *   4. placements, when peers are asked: each reachable peer lists the chunks of ours it holds;
 *      records of copies it does not have are stale, copies it has but we did not record are
 *      missing records. Repair: the records are fixed (the next round re-replicates as needed).
 *   5. unreferenced chunk files (crash leftovers) are counted, not removed (garbage collection
 *      owns deletion).
 * The report lists every problem with what was done about it; `unrepaired` > 0 means the exit
 * code of `grove fsck` is 1.
 */
import { sha256Hex } from "../core/sha256.ts";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { type CellId, type ChunkHash, type ManifestHash } from "../core/types.ts";
import { openChunk } from "../ingest/chunk-crypto.ts";
import { verifyFile } from "../ingest/restore.ts";
import { manifestHash, readManifest, writeManifest, type Manifest } from "../store/manifest.ts";
import { manifestBackupName, openManifest, type BackupContext } from "./backup.ts";
import { PeerLink } from "./peer-link.ts";
import { callPeer, type PeerCaller } from "../net/peer-client.ts";
import { BUCKETS } from "../store/set-digest.ts";
import type { Card } from "../protocol/card.ts";
import type { Cell } from "../cell/cell.ts";
import type { PeerDirectory } from "../fleet/peer-directory.ts";
import { PeerStore } from "../fleet/peer-store.ts";
import { shortId } from "../core/format.ts";

export type ProblemKind =
  | "manifest_unknown"
  | "manifest_missing"
  | "manifest_corrupt"
  | "chunk_missing"
  | "chunk_corrupt"
  | "held_missing"
  | "held_corrupt"
  | "placement_stale"
  | "placement_unrecorded";

export interface FsckProblem {
  kind: ProblemKind;
  detail: string;
  path?: string;
  chunk?: string;
  manifest?: string;
  peer?: string;
  /** What repair did: "repaired" with how, or why it could not. */
  repair?: string;
  repaired: boolean;
}

export interface FsckReport {
  repair: boolean;
  manifests: number;
  chunks_checked: number;
  held_checked: number;
  peers_asked: number;
  peers_unreachable: string[];
  unreferenced_chunks: number;
  unreferenced_bytes: number;
  problems: FsckProblem[];
  repaired: number;
  unrepaired: number;
  ms: number;
}

export interface FsckOptions {
  repair: boolean;
  /** Ask reachable peers (placements check, and the source of repairs): their routes, and how to call them. Needs a running cell. */
  peers: PeerDirectory | null;
  caller?: PeerCaller;
}

/** How long a peer has to answer fsck's ping. */
const PING_TIMEOUT_MS = 5000;

/** Links to every peer with a route, for listing and fetching. */
function links(caller: PeerCaller, peers: PeerDirectory | null): PeerLink[] {
  if (!peers) return [];
  const out: PeerLink[] = [];
  for (const p of peers.list()) {
    const url = peers.routeOf(p.id);
    if (url) out.push(new PeerLink(caller, p.id, url, (JSON.parse(p.card) as Card).x25519));
  }
  return out;
}

/**
 * The links whose peer answers a ping now (all at once, PING_TIMEOUT_MS each); the others go to
 * `peers_unreachable` and are not asked anything: a peer that is down (or a partition) costs a
 * few seconds, not a full listing timeout per peer.
 */
async function answering(caller: PeerCaller, all: PeerLink[], report: FsckReport): Promise<PeerLink[]> {
  const ok = await Promise.all(
    all.map((link) =>
      callPeer(caller, link.url, link.peer, "POST", "/peer/ping", null, PING_TIMEOUT_MS).then(
        () => true,
        (e) => (report.peers_unreachable.push(`${shortId(link.peer)}: ${errorMessage(e)}`), false),
      ),
    ),
  );
  return all.filter((_, i) => ok[i]);
}

export async function fsck(cell: Cell, opts: FsckOptions): Promise<FsckReport> {
  const t0 = Date.now();
  const report: FsckReport = {
    repair: opts.repair,
    manifests: 0,
    chunks_checked: 0,
    held_checked: 0,
    peers_asked: 0,
    peers_unreachable: [],
    unreferenced_chunks: 0,
    unreferenced_bytes: 0,
    problems: [],
    repaired: 0,
    unrepaired: 0,
    ms: 0,
  };
  const add = (p: Omit<FsckProblem, "repaired"> & { repaired?: boolean }) => report.problems.push({ repaired: false, ...p });
  const caller = opts.caller ?? { keys: cell.keys, relay: null };
  const peers = await answering(caller, links(caller, opts.peers), report);
  const bctx: BackupContext = { keys: cell.keys, db: cell.db, peers: new PeerStore(cell.db.db), manifestsDir: cell.layout.manifests };

  // 1. Manifests of every version.
  const good = new Map<ManifestHash, Manifest>();
  const hashes = [
    ...new Set(
      cell.db
        .allVersions()
        .map((v) => v.manifest_hash)
        .filter((h): h is ManifestHash => h !== null),
    ),
  ];
  for (const h of hashes) {
    report.manifests++;
    const row = cell.db.manifest(h);
    if (!row) {
      add({
        kind: "manifest_unknown",
        manifest: h,
        detail: `a version refers to manifest ${h.slice(0, 12)}, which placement.db does not know`,
      });
      continue;
    }
    let m: Manifest | null = null;
    let kind: ProblemKind | null = null;
    let why = "";
    try {
      m = readManifest(cell.layout.manifests, row.manifest_file);
      if (manifestHash(m, cell.suite.sha256) !== h) (kind = "manifest_corrupt"), (why = "does not hash to its name"), (m = null);
    } catch (e) {
      kind = /missing/.test(errorMessage(e)) ? "manifest_missing" : "manifest_corrupt";
      why = errorMessage(e);
    }
    if (m) {
      good.set(h, m);
      continue;
    }
    const p: FsckProblem = {
      kind: kind!,
      manifest: h,
      path: row.source_path,
      detail: `manifest of '${row.source_path}' (${h.slice(0, 12)}): ${why}`,
      repaired: false,
    };
    if (opts.repair) {
      const fixed = await fetchManifest(bctx, peers, h);
      if (fixed) {
        writeManifest(cell.layout.manifests, fixed.manifest, row.manifest_file);
        good.set(h, fixed.manifest);
        p.repaired = true;
        p.repair = `restored from the backup kept by ${shortId(fixed.peer)}`;
      } else p.repair = "no reachable peer holds a backup of it";
    }
    report.problems.push(p);
  }

  // 2. Own chunks: name and tag, every version.
  const own = new Set<string>();
  const bad = new Map<string, { m: Manifest; index: number; reason: string }>();
  for (const m of good.values()) {
    for (const c of m.chunks) own.add(c.hash);
    report.chunks_checked += m.chunks.length;
    for (const pr of await verifyFile(cell.vault, m)) if (!bad.has(pr.chunk)) bad.set(pr.chunk, { m, index: pr.index, reason: pr.reason });
  }
  for (const [hash, b] of bad) {
    const missing = /missing/.test(b.reason);
    const p: FsckProblem = {
      kind: missing ? "chunk_missing" : "chunk_corrupt",
      chunk: hash,
      path: b.m.source_path,
      detail: b.reason,
      repaired: false,
    };
    if (opts.repair) {
      const from = await fetchChunk(cell, peers, b.m, b.index, hash as ChunkHash);
      if (from) (p.repaired = true), (p.repair = `fetched from ${shortId(from)} and verified`);
      else p.repair = "no reachable peer has a good copy";
    }
    report.problems.push(p);
  }

  // 3. Chunks kept for other cells.
  const held = cell.db.db.query("SELECT owner, chunk_hash FROM held").all() as { owner: string; chunk_hash: string }[];
  for (const h of held) {
    report.held_checked++;
    let bytes: Uint8Array | null = null;
    try {
      bytes = cell.store.readSync(h.chunk_hash as ChunkHash);
    } catch {}
    const ok = bytes !== null && sha256Hex(bytes) === h.chunk_hash;
    if (ok) continue;
    const p: FsckProblem = {
      kind: bytes ? "held_corrupt" : "held_missing",
      chunk: h.chunk_hash,
      peer: h.owner,
      detail: `chunk ${h.chunk_hash.slice(0, 12)} kept for ${shortId(h.owner)} is ${bytes ? "damaged" : "missing"}`,
      repaired: false,
    };
    if (opts.repair) {
      cell.held.dropCorrupt(h.chunk_hash as ChunkHash);
      p.repaired = true;
      p.repair = "record dropped: the owner re-pushes it";
    }
    report.problems.push(p);
  }

  // 4. Placements against what each reachable peer says it holds.
  for (const link of peers) {
    // What we recorded before asking: a copy confirmed meanwhile (a push on store, a round) was
    // acknowledged after the peer listed its holdings, and is not in that list yet.
    const recorded = new Set<string>(cell.placements.on(link.peer));
    let listed: Map<string, number>;
    try {
      const all = Array.from({ length: BUCKETS }, (_, i) => i);
      listed = new Map((await link.list({ chunks: all, backups: [] })).chunks);
      report.peers_asked++;
    } catch (e) {
      report.peers_unreachable.push(`${shortId(link.peer)}: ${errorMessage(e)}`);
      continue;
    }
    for (const h of recorded) {
      if (listed.has(h)) continue;
      const p: FsckProblem = {
        kind: "placement_stale",
        chunk: h,
        peer: link.peer,
        detail: `placement.db says ${shortId(link.peer)} holds chunk ${h.slice(0, 12)}; it does not`,
        repaired: false,
      };
      if (opts.repair)
        cell.placements.drop(link.peer, h as ChunkHash), (p.repaired = true), (p.repair = "record dropped; the next round re-replicates");
      report.problems.push(p);
    }
    // And what we record now: a copy the peer listed may have been confirmed since the first read.
    const recordedNow = new Set<string>(cell.placements.on(link.peer));
    for (const [h, size] of listed) {
      if (recordedNow.has(h) || !own.has(h)) continue;
      const p: FsckProblem = {
        kind: "placement_unrecorded",
        chunk: h,
        peer: link.peer,
        detail: `${shortId(link.peer)} holds chunk ${h.slice(0, 12)} without a record here`,
        repaired: false,
      };
      if (opts.repair) cell.placements.confirm(link.peer as CellId, h as ChunkHash, size), (p.repaired = true), (p.repair = "recorded");
      report.problems.push(p);
    }
  }

  // 5. Chunks (rows and files) nothing refers to.
  const heldSet = new Set(held.map((h) => h.chunk_hash));
  for (const f of cell.store.inlineNames(Number.MAX_SAFE_INTEGER)) {
    if (own.has(f) || heldSet.has(f) || cell.db.db.query("SELECT 1 FROM chunks WHERE hash = ?").get(f)) continue;
    report.unreferenced_chunks++;
    report.unreferenced_bytes += cell.store.size(f) ?? 0;
  }
  for (const dir of safeList(cell.layout.chunks)) {
    for (const f of safeList(join(cell.layout.chunks, dir))) {
      if (!/^[0-9a-f]{64}$/.test(f) || own.has(f) || heldSet.has(f)) continue;
      if (cell.db.db.query("SELECT 1 FROM chunks WHERE hash = ?").get(f)) continue;
      report.unreferenced_chunks++;
      try {
        report.unreferenced_bytes += Bun.file(join(cell.layout.chunks, dir, f)).size;
      } catch {}
    }
  }

  report.repaired = report.problems.filter((p) => p.repaired).length;
  report.unrepaired = report.problems.length - report.repaired;
  report.ms = Date.now() - t0;
  log(report.unrepaired ? "warn" : "info", "fsck", {
    problems: report.problems.length,
    repaired: report.repaired,
    unrepaired: report.unrepaired,
    ms: report.ms,
  });
  return report;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A manifest backup from the first peer that has a good one. */
async function fetchManifest(
  ctx: BackupContext,
  peers: PeerLink[],
  hash: ManifestHash,
): Promise<{ manifest: Manifest; peer: string } | null> {
  for (const link of peers) {
    try {
      const blob = await link.getBackup(manifestBackupName(ctx, hash));
      if (blob) return { manifest: openManifest(ctx, hash, blob), peer: link.peer };
    } catch (e) {
      log("warn", "fsck: a peer's manifest backup did not do", {
        peer: shortId(link.peer),
        manifest: hash.slice(0, 12),
        why: errorMessage(e),
      });
    }
  }
  return null;
}

/** Fetch chunk `hash` (index `index` of `m`) from a peer recorded as holding it; verified; written over the bad copy. */
async function fetchChunk(cell: Cell, peers: PeerLink[], m: Manifest, index: number, hash: ChunkHash): Promise<string | null> {
  const holders = new Set(
    (cell.db.db.query("SELECT cell_id FROM placements WHERE chunk_hash = ?").all(hash) as { cell_id: string }[]).map((r) => r.cell_id),
  );
  const key = cell.vault.keys.fileKeyOrThrow(m);
  for (const link of peers.filter((l) => holders.has(l.peer))) {
    try {
      const sealed = await link.getChunk(hash);
      const r = openChunk(cell.suite, key, index, sealed, hash);
      if (!r.ok) throw new Error(r.reason);
      cell.store.remove(hash);
      const { durable } = await cell.store.putStaged(hash, sealed);
      await durable;
      return link.peer;
    } catch (e) {
      log("warn", "fsck: could not repair a chunk from a peer", {
        peer: shortId(link.peer),
        chunk: hash.slice(0, 12),
        why: errorMessage(e),
      });
    }
  }
  return null;
}
