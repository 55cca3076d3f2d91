/**
 * @module sync/round — one opp sync round (docs/design.md: Placement, sync, healing):
 *
 *   1. resolve peers, probe every route, benchmark routes when due   (fleet/prober)
 *   2. per reachable peer: compare inventories by digest, list only differing buckets
 *   3. recovering cell: restore manifests from the newest backup index
 *   4. audit a random sample of our chunks on each peer
 *   5. pull our chunks we lack from peers holding them
 *   6. plan (factor, favorites, score, strict cap, lost peers) -> push, release
 *   6b. deletions: a signed DeleteRequest for the chunks in our trash to each peer holding them (trash/outbox)
 *   7. back up our manifests (authenticated and sealed with our backup key) where a peer lacks them
 *   8. count the peers running another build (the update check itself runs after the round,
 *      on the main thread: update/updater's `afterRound`, called by runtime/runtime)
 *   9. bounty: accrue the ledger, exchange signed statements with each reached peer (bounty/exchange)
 *
 * Which peers are still in the round (a failed call, a re-check after a peer went silent, the
 * stall watch over chunk transfers) is sync/liveness. Runs in the sync Worker; everything it
 * learns goes to placement.db and the stats files.
 */
import { eachAtOnce } from "../core/each-at-once.ts";
import { existsSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { CHUNK_BUFFER_SIZE, fromHex, type CellId, type ChunkHash, type ManifestHash } from "../core/types.ts";
import { BufferPool } from "../ingest/buffer-pool.ts";
import type { CellKeys } from "../crypto/keys.ts";
import type { Config } from "../config/config.ts";
import type { Layout } from "../core/layout.ts";
import { buildHash } from "../core/build-info.ts";
import type { PlacementDb } from "../store/placement-db.ts";
import type { ChunkStore } from "../store/chunk-store.ts";
import type { Placements } from "../store/placements.ts";
import type { PeerStore } from "../fleet/peer-store.ts";
import { callPeer, PeerCallError, PeerUnreachableError, type PeerCaller } from "../net/peer-client.ts";
import type { Prober } from "../fleet/prober.ts";
import type { Card } from "../protocol/card.ts";
import { routeScore } from "../net/route-score.ts";
import { differingBuckets, digestSet, inBuckets } from "../store/set-digest.ts";
import { planPlacement, type PlanChunk, type PlanPeer, type PushTask } from "./placement-plan.ts";
import { PeerLink } from "./peer-link.ts";
import { PeerLiveness, type Clock } from "./liveness.ts";
import {
  applyIndex,
  currentIndex,
  expectedBackups,
  importManifest,
  manifestBackupName,
  openIndex,
  openManifest,
  sealIndex,
  sealManifest,
  type BackupContext,
  type BackupIndex,
} from "./backup.ts";
import type { BackupKind } from "../protocol/backup-blob.ts";
import { auditProof, BACKUP_BATCH_BYTES, BACKUP_FRAME_HEAD, type BackupFrame } from "./wire.ts";
import * as W from "./wire.ts";
import { batchesOf, bodyIfWhole, placeChunks, sendChunks, type PlaceItem } from "./chunk-push.ts";
import { BatchBody } from "./batch-body.ts";
import { BountyLedger } from "../bounty/ledger.ts";
import { exchangeStatement } from "../bounty/exchange.ts";
import { DeleteOutbox } from "../trash/outbox.ts";
import { MAX_DELETE, makeDeleteRequest } from "../protocol/delete-request.ts";
import { shortId } from "../core/format.ts";

export interface SyncContext {
  keys: CellKeys;
  /** How peers are called (keys and relay transport). */
  caller: PeerCaller;
  config: Config;
  layout: Layout;
  db: PlacementDb;
  store: ChunkStore;
  peers: PeerStore;
  placements: Placements;
  prober: Prober;
  /** Chunks being pushed on store (sync/eager-push): a round leaves those to it. */
  eager?: { pending(hash: ChunkHash): boolean };
}

export interface SyncReport {
  started_at: number;
  duration_ms: number;
  peers: number;
  reached: number;
  /** Peers that did not answer this round ("name (id8)"). */
  unreached: string[];
  routes_probed: number;
  benchmarks: number;
  chunks_pushed: number;
  bytes_pushed: number;
  chunks_pulled: number;
  bytes_pulled: number;
  /** Pushes that replaced a copy on a lost peer or one that failed its audit. */
  healed: number;
  released: number;
  audited: number;
  audit_failed: number;
  backups_pushed: number;
  /** Manifest backups not offered this round to peers that lately refused them for lack of room (507). */
  backups_deferred: number;
  /**
   * What a recovering cell restored this round (null: it found no backup, or is not recovering).
   * `refused`: backups ignored because they failed a check (not made with this cell's key, the
   * old unauthenticated format, altered, kept under another name, unreadable); each is also in
   * `errors`, with the peer that sent it. `missing`: manifests the newest index names that no
   * reachable peer gave back intact (the cell stays recovering and asks again next round).
   */
  restored: { manifests: number; versions: number; peers: number; refused: number; missing: number } | null;
  /**
   * Still recovering: no reachable peer holds a backup index of this cell that opens, or some
   * manifests it names are not back yet (nothing is backed up meanwhile).
   */
  recovering: boolean;
  /** This cell's own chunks (every version's) as the round placed them. */
  chunks: number;
  /** After the round: chunks below the replication factor, and chunks with no copy known. */
  under_replicated: number;
  missing: number;
  /** Peers whose card names another build than ours (self-update lands later). */
  other_builds: number;
  /** DeleteRequests peers acknowledged this round, and how many of our chunks went to their trash. */
  delete_requests: number;
  chunks_trashed_on_peers: number;
  /** Chunks a peer refused because this cell is over its bounty allowance there (402). */
  refused_over_allowance: number;
  /** Bounty statements exchanged this round, and how many of them disagree with ours. */
  bounty_statements: number;
  bounty_disagreements: number;
  /** Sync message bodies sent / received (chunks included). */
  bytes_sent: number;
  bytes_received: number;
  errors: string[];
}

/** The round that restored a recovered cell, kept by the main thread for as long as the cell runs (`grove status`, `grove sync`). */
export interface RecoveryRecord {
  /** When that round started, unix ms. */
  at: number;
  restored: NonNullable<SyncReport["restored"]>;
  /** That round's problems (the refused backups among them, each with the peer that sent it). */
  errors: string[];
}

/** How far a running round is: its phase, and in "pulling" / "pushing" the chunk copies moved. */
export interface SyncProgress {
  phase: "peers" | "inventories" | "audits" | "pulling" | "pushing" | "releasing" | "backups" | "bounty";
  /** Chunk copies moved in this phase, and planned (0 and 0 outside pulling and pushing). */
  done: number;
  total: number;
  bytes_done: number;
  /** Null when the sizes are not known in advance (pulls). */
  bytes_total: number | null;
}

/** Progress reports a round sends at most this often (phase changes go at once). */
const PROGRESS_EVERY_MS = 250;

/** Chunk transfers in flight at once (per round). */
const PUSH_PARALLEL = 3;

/**
 * Peers that refused our manifest backups for lack of room (507): not asked again until `until`;
 * the wait starts at BACKUP_FULL_FIRST_MS and doubles up to BACKUP_FULL_MAX_MS while they keep
 * refusing, and ends at their first acceptance. Kept across rounds (the sync Worker's life).
 */
const backupFull = new Map<CellId, { until: number; waitMs: number }>();
const BACKUP_FULL_FIRST_MS = 10 * 60_000;
const BACKUP_FULL_MAX_MS = 24 * 3_600_000;

/** Batches of small chunks pushed at once (each a request per peer). */
const BATCH_PARALLEL = 2;

export class SyncRound {
  private report!: SyncReport;
  private links = new Map<CellId, PeerLink>();
  /** Which reached peers are still in the round: failed calls, re-checks, the stall watch (sync/liveness). */
  private liveness: PeerLiveness;

  /** Buffers chunks are pushed and audited from: reused (read with direct I/O), so a round allocates a few, not one per chunk. */
  private pushBuffers = new BufferPool(CHUNK_BUFFER_SIZE, PUSH_PARALLEL);
  /** Peers that answered 404 to a chunk batch (an older build): small chunks go one by one to them. */
  private noBatch = new Set<CellId>();

  private current: SyncProgress = { phase: "peers", done: 0, total: 0, bytes_done: 0, bytes_total: 0 };
  private progressAt = 0;
  /** Sealed sizes of our chunks held here, pulled ones included (for the bytes a push phase plans). */
  private ownSizes = new Map<ChunkHash, number>();

  /** `onProgress` hears how far the round is (see SyncProgress), a few times a second; `clock` times the liveness watch. */
  constructor(
    private ctx: SyncContext,
    private onProgress?: (p: SyncProgress) => void,
    clock?: Clock,
  ) {
    this.liveness = new PeerLiveness({
      peers: this.links,
      ping: (peer, timeoutMs) => callPeer(ctx.caller, this.links.get(peer)!.url, peer, "POST", "/peer/ping", null, timeoutMs),
      onSilent: (peer, e) => this.report.errors.push(`${shortId(peer)}: went silent during the round: ${errorMessage(e)}`),
      clock,
    });
  }

  /** Enter `phase` (sent at once), with `total` copies and `bytesTotal` bytes planned. */
  private phase(phase: SyncProgress["phase"], total = 0, bytesTotal: number | null = 0): void {
    this.current = { phase, done: 0, total, bytes_done: 0, bytes_total: bytesTotal };
    this.progressAt = performance.now();
    this.onProgress?.({ ...this.current });
  }

  /** One chunk copy of `bytes` moved in the current phase (sent when due). */
  private moved(bytes: number): void {
    this.current.done++;
    this.current.bytes_done += bytes;
    const now = performance.now();
    if (now - this.progressAt < PROGRESS_EVERY_MS && this.current.done < this.current.total) return;
    this.progressAt = now;
    this.onProgress?.({ ...this.current });
  }

  private get backupCtx(): BackupContext {
    return { keys: this.ctx.keys, db: this.ctx.db, peers: this.ctx.peers, manifestsDir: this.ctx.layout.manifests };
  }

  private error(peer: CellId | null, what: string, e: unknown): void {
    const msg = `${peer ? shortId(peer) + ": " : ""}${what}: ${errorMessage(e)}`;
    this.report.errors.push(msg);
    log("warn", `sync: ${msg}`);
    if (peer && e instanceof PeerCallError && e.status !== 507 && e.status !== 404) this.liveness.fail(peer);
    if (peer && e instanceof PeerUnreachableError) void this.liveness.recheck();
  }

  /** Run chunk transfer `fn` with `peer`, watched for a peer gone silent (sync/liveness). */
  private transfer<T>(peer: CellId, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.liveness.transfer(peer, fn);
  }

  /** Still in the round (waits for a re-check in progress first). */
  private usable(peer: CellId): Promise<boolean> {
    return this.liveness.usable(peer);
  }

  async run(card: Card): Promise<SyncReport> {
    const t0 = Date.now();
    this.report = {
      started_at: t0,
      duration_ms: 0,
      peers: 0,
      reached: 0,
      unreached: [],
      routes_probed: 0,
      benchmarks: 0,
      chunks_pushed: 0,
      bytes_pushed: 0,
      chunks_pulled: 0,
      bytes_pulled: 0,
      healed: 0,
      released: 0,
      audited: 0,
      audit_failed: 0,
      backups_pushed: 0,
      backups_deferred: 0,
      restored: null,
      recovering: false,
      chunks: 0,
      under_replicated: 0,
      missing: 0,
      other_builds: 0,
      delete_requests: 0,
      chunks_trashed_on_peers: 0,
      refused_over_allowance: 0,
      bounty_statements: 0,
      bounty_disagreements: 0,
      bytes_sent: 0,
      bytes_received: 0,
      errors: [],
    };
    const { ctx, report } = this;

    // 1. Peers and routes.
    this.phase("peers");
    const probe = await ctx.prober.round();
    Object.assign(report, {
      peers: probe.peers,
      reached: probe.reachable,
      routes_probed: probe.routes_probed,
      benchmarks: probe.benchmarks,
    });
    for (const r of probe.reached) {
      const row = ctx.peers.get(r.id);
      if (row) this.links.set(r.id, new PeerLink(ctx.caller, r.id, r.url, (JSON.parse(row.card) as Card).x25519));
    }
    for (const p of ctx.peers.list()) if (!this.links.has(p.id)) report.unreached.push(`${p.name} (${shortId(p.id)})`);

    // 2. Inventories.
    this.phase("inventories");
    const recovering = existsSync(ctx.layout.recovering);
    let index = currentIndex(this.backupCtx);
    let expected = expectedBackups(this.backupCtx, index.name);
    const missingBackups = new Map<CellId, string[]>();
    for (const link of this.links.values()) {
      if (!(await this.usable(link.peer))) continue;
      try {
        missingBackups.set(link.peer, await this.reconcile(link, card, [...expected.keys()]));
      } catch (e) {
        this.error(link.peer, "inventory", e);
      }
    }

    // 3. A recovered cell gets its manifests back before it backs anything up.
    if (recovering) {
      const outcome = await this.restore();
      report.restored = outcome?.restored ?? null;
      // Done only once every manifest of the index is back: a peer that forges or withholds some
      // must not make the recovered cell drop their history for good.
      if (outcome?.complete) {
        rmSync(ctx.layout.recovering, { force: true });
        index = currentIndex(this.backupCtx);
        expected = expectedBackups(this.backupCtx, index.name);
        log("info", "recovery: manifests restored from the fleet", outcome.restored);
      } else if (outcome) log("warn", "recovery: not complete yet; asking again next round", outcome.restored);
    }

    // Our chunks (every version's) and where they are: read once, kept current below.
    const ownRows = ctx.placements.ownChunks(ctx.keys.id);
    for (const c of ownRows) if (c.local_size !== null) this.ownSizes.set(c.hash, c.local_size);
    const own = ownRows.map((c) => c.hash);
    report.chunks = own.length;
    const local = new Set(ownRows.filter((c) => c.local_size !== null).map((c) => c.hash));
    const holders = new Map<ChunkHash, CellId[]>();
    for (const r of ctx.placements.all()) {
      let list = holders.get(r.chunk_hash);
      if (!list) holders.set(r.chunk_hash, (list = []));
      list.push(r.cell_id);
    }

    // 4. Audits (only chunks we hold ourselves can be checked). A failed proof drops that holder.
    this.phase("audits");
    for (const link of this.live())
      if (await this.usable(link.peer)) await this.audit(link, local, holders).catch((e) => this.error(link.peer, "audit", e));

    // 5. Pull what we lack.
    await this.pull(own, local, holders);

    // 6. Place: push under-replicated chunks, release surplus copies.
    await this.place(own, local, holders);

    // 6b. Deletions on peers (not while a recovered cell still lacks its manifests).
    if (!existsSync(ctx.layout.recovering)) await this.deletions();

    // 7. Manifest backups.
    this.phase("backups");
    if (!existsSync(ctx.layout.recovering)) {
      for (const link of this.live()) {
        const missing = missingBackups.get(link.peer);
        if (missing?.length && (await this.usable(link.peer))) await this.backUp(link, missing, index, expected);
      }
    }

    report.recovering = existsSync(ctx.layout.recovering);

    // 8. Updates: note peers on another build.
    const ours = buildHash();
    for (const p of ctx.peers.list()) if ((JSON.parse(p.card) as Card).build !== ours) report.other_builds++;

    // 9. Bounty.
    this.phase("bounty");
    await this.bounty();

    for (const l of this.links.values()) {
      report.bytes_sent += l.traffic.sent;
      report.bytes_received += l.traffic.received;
    }
    report.duration_ms = Date.now() - t0;
    return report;
  }

  /** The round is over: its chunk buffers are freed now, not when this Worker's collector next runs. */
  release(): void {
    this.pushBuffers.clear();
  }

  private live(): PeerLink[] {
    return [...this.links.values()].filter((l) => this.liveness.inRound(l.peer));
  }

  /** Compare inventories with `link`'s peer; fix our placement records; return the names of `expected` backups it lacks. */
  private async reconcile(link: PeerLink, card: Card, expected: string[]): Promise<string[]> {
    const { placements } = this.ctx;
    const mine = digestSet(placements.on(link.peer));
    const exp = digestSet(expected);
    const ans = await link.inventory({ card, chunks: mine.root, backups: exp.root });
    const req = {
      chunks: ans.chunks ? differingBuckets(mine.buckets, ans.chunks) : [],
      backups: ans.backups ? differingBuckets(exp.buckets, ans.backups) : [],
    };
    if (!req.chunks.length && !req.backups.length) return [];
    const listed = await link.list(req);
    if (req.chunks.length) {
      const { added, removed } = placements.replaceBuckets(link.peer, req.chunks, listed.chunks as [ChunkHash, number][]);
      if (added || removed)
        log("info", "sync: placement records corrected from the peer's inventory", { peer: shortId(link.peer), added, removed });
    }
    const theirs = new Set(listed.backups.map((b) => b.name));
    return inBuckets(expected, req.backups).filter((n) => !theirs.has(n));
  }

  /**
   * Newest index among reachable peers, then every manifest it names. Only backups that open
   * under our backup key count (protocol/backup-blob): any other (forged by a peer, the old
   * format 1, altered, kept under another name) is ignored, counted in `refused` and reported
   * with the peer that sent it. Null when no backup came at all; `complete` when an index opened
   * and every manifest it names is now known.
   */
  private async restore(): Promise<{ restored: NonNullable<SyncReport["restored"]>; complete: boolean } | null> {
    let refused = 0;
    const refuse = (peer: CellId, what: string, e: unknown) => {
      refused++;
      this.error(peer, what, e);
    };
    let best: { index: BackupIndex; link: PeerLink } | null = null;
    for (const link of this.live()) {
      if (!(await this.usable(link.peer))) continue;
      let blob: Uint8Array | null;
      try {
        blob = await link.getBackup("index");
      } catch (e) {
        this.error(link.peer, "reading the backup index", e);
        continue;
      }
      if (!blob) continue;
      try {
        const index = openIndex(this.backupCtx, blob);
        if (!best || index.made_at > best.index.made_at) best = { index, link };
      } catch (e) {
        refuse(link.peer, "refused its backup index", e);
      }
    }
    if (!best) return refused ? { restored: { manifests: 0, versions: 0, peers: 0, refused, missing: 0 }, complete: false } : null;
    let manifests = 0;
    let missing = 0;
    const wanted = new Set(best.index.versions.map((v) => v[2]).filter((h): h is string => h !== null));
    for (const hash of wanted as Set<ManifestHash>) {
      if (this.ctx.db.manifest(hash)) continue;
      const name = manifestBackupName(this.backupCtx, hash);
      let got = false;
      for (const link of [best.link, ...this.live().filter((l) => l !== best!.link)]) {
        if (!(await this.usable(link.peer))) continue;
        let blob: Uint8Array | null;
        try {
          blob = await link.getBackup(name);
        } catch (e) {
          this.error(link.peer, `fetching the backup of manifest ${hash.slice(0, 12)}`, e);
          continue;
        }
        if (!blob) continue;
        try {
          if (importManifest(this.backupCtx, hash, openManifest(this.backupCtx, hash, blob))) manifests++;
          got = true;
          break;
        } catch (e) {
          refuse(link.peer, `refused its backup of manifest ${hash.slice(0, 12)}`, e);
        }
      }
      if (!got) missing++;
    }
    // What is back is usable at once (history of known manifests, peers); the rest comes later.
    const applied = applyIndex(this.backupCtx, best.index);
    if (missing)
      this.report.errors.push(
        `recovery: ${missing} manifest${missing === 1 ? "" : "s"} of the backup index could not be restored intact from any reachable peer; asking again next round`,
      );
    return { restored: { manifests, ...applied, refused, missing }, complete: missing === 0 };
  }

  /** Challenge a random sample of our chunks on the peer; a wrong or missing proof drops that copy. */
  private async audit(link: PeerLink, local: ReadonlySet<ChunkHash>, holders: Map<ChunkHash, CellId[]>): Promise<void> {
    const n = this.ctx.config.audit_sample;
    if (n === 0) return;
    const there = this.ctx.placements.on(link.peer).filter((h) => local.has(h));
    const picked = new Set<ChunkHash>();
    while (picked.size < Math.min(n, there.length)) picked.add(there[Math.floor(Math.random() * there.length)]!);
    const challenges: { hash: ChunkHash; nonce: string; expect: string }[] = [];
    const buf = this.pushBuffers.take();
    try {
      for (const hash of picked) {
        const bytes = await this.readLocal(hash, buf);
        if (!bytes) continue;
        const nonce = randomBytes(16).toString("hex");
        challenges.push({ hash, nonce, expect: auditProof(nonce, bytes) });
      }
    } finally {
      this.pushBuffers.give(buf);
    }
    if (!challenges.length) return;
    const ans = await link.audit({ challenges: challenges.map(({ hash, nonce }) => ({ hash, nonce })) });
    const proofs = new Map(ans.proofs.map((p) => [p.hash, p]));
    for (const c of challenges) {
      this.report.audited++;
      const p = proofs.get(c.hash);
      if (p?.proof === c.expect) continue;
      this.report.audit_failed++;
      this.ctx.placements.drop(link.peer, c.hash);
      holders.set(
        c.hash,
        (holders.get(c.hash) ?? []).filter((id) => id !== link.peer),
      );
      log("warn", "audit failed: that copy no longer counts", {
        peer: shortId(link.peer),
        chunk: c.hash.slice(0, 12),
        reason: p?.reason ?? (p ? "wrong proof" : "no proof"),
      });
    }
  }

  /**
   * Our chunk's bytes from chunks/, read into `buf`, or null (and the local record dropped) when
   * missing. `exact`: `buf` is the chunk's size (a frame in a batch body), read through the page cache.
   */
  private async readLocal(hash: ChunkHash, buf: Uint8Array, exact = false): Promise<Uint8Array | null> {
    try {
      return exact ? await this.ctx.store.readExactInto(hash, buf) : await this.ctx.store.readInto(hash, buf);
    } catch {
      this.ctx.placements.dropLocal(hash);
      log("warn", "a chunk of ours is missing from chunks/; it will be pulled back", { chunk: hash.slice(0, 12) });
      return null;
    }
  }

  /** Fetch back our chunks that this cell lacks, from reachable peers holding them. */
  private async pull(own: readonly ChunkHash[], local: Set<ChunkHash>, holders: Map<ChunkHash, CellId[]>): Promise<void> {
    const { placements, store } = this.ctx;
    const lacking = own.filter((h) => !local.has(h));
    if (!lacking.length) return;
    this.phase("pulling", lacking.length, null);
    await eachAtOnce(lacking, PUSH_PARALLEL, async (hash) => {
      for (const peer of holders.get(hash) ?? []) {
        if (!(await this.usable(peer))) continue;
        try {
          const link = this.links.get(peer)!;
          const bytes = await this.transfer(peer, (signal) => link.getChunk(hash, signal));
          const { durable } = await store.putStaged(hash, bytes);
          await durable;
          placements.addLocal(hash, bytes.byteLength);
          local.add(hash);
          this.ownSizes.set(hash, bytes.byteLength);
          this.report.chunks_pulled++;
          this.report.bytes_pulled += bytes.byteLength;
          this.moved(bytes.byteLength);
          return;
        } catch (e) {
          if (e instanceof PeerCallError && e.status === 404) {
            placements.drop(peer, hash);
            holders.set(
              hash,
              (holders.get(hash) ?? []).filter((id) => id !== peer),
            );
          }
          this.error(peer, `pulling chunk ${hash.slice(0, 12)}`, e);
        }
      }
    });
  }

  private async place(own: readonly ChunkHash[], local: ReadonlySet<ChunkHash>, holders: Map<ChunkHash, CellId[]>): Promise<void> {
    const { placements, peers, config } = this.ctx;
    const now = Date.now();
    const lostBefore = now - config.peer_lost_after_s * 1000;
    const planPeers: PlanPeer[] = peers.list().map((p) => {
      const best = this.ctx.prober.stats.speeds.best(p.id);
      return {
        id: p.id,
        counted: p.last_seen !== null && p.last_seen >= lostBefore,
        reachable: this.liveness.inRound(p.id),
        favorite: p.favorite,
        score: best ? routeScore(best) : null,
      };
    });
    const chunks: PlanChunk[] = own.map((h) => ({ hash: h, local: local.has(h), holders: holders.get(h) ?? [] }));
    const plan = planPlacement(chunks, planPeers, config.replication_factor);
    if (this.ctx.eager) plan.push = plan.push.filter((t) => !this.ctx.eager!.pending(t.hash));

    const sizes = this.ownSizes;
    this.phase(
      "pushing",
      plan.push.reduce((n, t) => n + t.need, 0),
      plan.push.reduce((n, t) => n + t.need * (sizes.get(t.hash) ?? 0), 0),
    );
    const full = new Set<CellId>();
    // Small chunks (small files) go several to a request: one signature, one group of fsyncs and
    // one transaction on the peer per batch, instead of one each per chunk.
    const small = plan.push.filter((t) => (sizes.get(t.hash) ?? Number.POSITIVE_INFINITY) <= W.BATCH_CHUNK_MAX);
    await eachAtOnce(
      batchesOf(small, (t) => sizes.get(t.hash) ?? W.BATCH_CHUNK_MAX),
      BATCH_PARALLEL,
      (tasks) => this.pushBatch(tasks, full, holders),
    );
    const large = small.length ? plan.push.filter((t) => !small.includes(t)) : plan.push;
    await eachAtOnce(large, PUSH_PARALLEL, async (task) => {
      const buf = this.pushBuffers.take();
      try {
        await this.pushOne(task, buf, full, holders);
      } finally {
        this.pushBuffers.give(buf);
      }
    });

    const byPeer = new Map<CellId, ChunkHash[]>();
    for (const r of plan.release) {
      let list = byPeer.get(r.peer);
      if (!list) byPeer.set(r.peer, (list = []));
      list.push(r.hash);
    }
    if (byPeer.size) this.phase("releasing");
    for (const [peer, hashes] of byPeer) {
      if (!(await this.usable(peer))) continue;
      try {
        await this.links.get(peer)!.release(hashes);
        for (const h of hashes) {
          placements.drop(peer, h);
          holders.set(
            h,
            (holders.get(h) ?? []).filter((id) => id !== peer),
          );
        }
        this.report.released += hashes.length;
        log("info", "surplus copies released (strict cap)", { peer: shortId(peer), chunks: hashes.length });
      } catch (e) {
        this.error(peer, "releasing surplus copies", e);
      }
    }

    // What is left under the factor after this round.
    const counted = new Set(planPeers.filter((p) => p.counted).map((p) => p.id));
    for (const h of own) {
      const copies = (local.has(h) ? 1 : 0) + (holders.get(h) ?? []).filter((id) => counted.has(id)).length;
      if (copies === 0) this.report.missing++;
      else if (copies < config.replication_factor) this.report.under_replicated++;
    }
  }

  /**
   * Push a batch of small chunks, each to as many of its candidates as it needs, the chunks bound
   * for the same peer in one request (sync/chunk-push). The batch's body is built in one pooled
   * buffer, each chunk read straight into its frame (sync/batch-body), and sent from there: no
   * buffer per chunk or per batch (a round of thousands of small chunks left the Worker's
   * collector tens of MiB behind).
   */
  private async pushBatch(tasks: readonly PushTask[], full: Set<CellId>, holders: Map<ChunkHash, CellId[]>): Promise<void> {
    const buf = this.pushBuffers.take();
    try {
      await this.placeBatch(tasks, buf, full, holders);
    } finally {
      this.pushBuffers.give(buf);
    }
  }

  private async placeBatch(
    tasks: readonly PushTask[],
    buf: Uint8Array,
    full: Set<CellId>,
    holders: Map<ChunkHash, CellId[]>,
  ): Promise<void> {
    const { placements } = this.ctx;
    const items: PlaceItem[] = [];
    const batch = new BatchBody(buf);
    for (const task of tasks) {
      const size = this.ownSizes.get(task.hash);
      const into = size === undefined ? null : batch.frame(task.hash, size);
      if (!into) continue; // cannot happen (batchesOf took small chunks of known size, sized to fit): the next round plans it again
      const bytes = await this.readLocal(task.hash, into, true);
      if (bytes) items.push({ task, bytes });
      else batch.undo();
    }
    await placeChunks(items, {
      full,
      usable: (peer) => this.usable(peer),
      send: (peer, chunks) =>
        sendChunks(this.links.get(peer)!, chunks, {
          body: bodyIfWhole(chunks, items, batch.body),
          noBatch: this.noBatch,
          transfer: (fn) => this.transfer(peer, fn),
          error: (what, e) => this.error(peer, what, e),
          olderBuild: () => log("info", "peer takes chunks one by one (an older build)", { peer: shortId(peer) }),
        }),
      placed: (peer, its) => {
        placements.confirmMany(
          peer,
          its.map((it) => ({ hash: it.task.hash, size: it.bytes.byteLength })),
        );
        for (const it of its) {
          holders.set(it.task.hash, [...(holders.get(it.task.hash) ?? []), peer]);
          this.report.chunks_pushed++;
          this.report.bytes_pushed += it.bytes.byteLength;
          this.moved(it.bytes.byteLength);
          if (it.task.wasPlaced) this.report.healed++;
        }
      },
      refused: (peer, why) => {
        if (!full.has(peer))
          log("info", `peer refused chunks (${why === "full" ? "full" : "bounty"}): placing on the next peer`, { peer: shortId(peer) });
        if (why === "over_allowance") this.report.refused_over_allowance++;
      },
    });
  }

  /** Push one chunk to as many of its candidates as it needs, read into `buf` (one read for all). */
  private async pushOne(task: PushTask, buf: Uint8Array, full: Set<CellId>, holders: Map<ChunkHash, CellId[]>): Promise<void> {
    const { placements } = this.ctx;
    const bytes = await this.readLocal(task.hash, buf);
    if (!bytes) return;
    let placed = 0;
    for (const peer of task.candidates) {
      if (placed >= task.need) break;
      if (full.has(peer) || !(await this.usable(peer))) continue;
      try {
        const link = this.links.get(peer)!;
        await this.transfer(peer, (signal) => link.putChunk(task.hash, bytes, signal));
        placements.confirm(peer, task.hash, bytes.byteLength);
        holders.set(task.hash, [...(holders.get(task.hash) ?? []), peer]);
        placed++;
        this.report.chunks_pushed++;
        this.report.bytes_pushed += bytes.byteLength;
        this.moved(bytes.byteLength);
        if (task.wasPlaced) this.report.healed++;
      } catch (e) {
        if (e instanceof PeerCallError && e.status === 507) {
          full.add(peer);
          log("info", "peer refused a chunk (full): placing on the next peer", { peer: shortId(peer) });
        } else if (e instanceof PeerCallError && e.status === 402) {
          // Over our bounty allowance there: like full, for the rest of the round.
          if (!full.has(peer))
            log("info", `peer refused a chunk (bounty): placing on the next peer: ${e.message}`, { peer: shortId(peer) });
          full.add(peer);
          this.report.refused_over_allowance++;
        } else this.error(peer, `pushing chunk ${task.hash.slice(0, 12)}`, e);
      }
    }
  }

  /**
   * Our trashed chunks that a reachable peer holds: a signed DeleteRequest per batch; once it is
   * acknowledged those copies are forgotten. Unacknowledged ones are sent again next round.
   */
  private async deletions(): Promise<void> {
    const { keys, db } = this.ctx;
    const outbox = new DeleteOutbox(db.db);
    for (const link of this.live()) {
      if (!(await this.usable(link.peer))) continue;
      const pending = outbox.pendingFor(link.peer);
      for (let i = 0; i < pending.length; i += MAX_DELETE) {
        const batch = pending.slice(i, i + MAX_DELETE);
        try {
          const ans = await link.delete(makeDeleteRequest(keys.ed25519Secret, keys.id, batch));
          outbox.acknowledged(link.peer, batch);
          this.report.delete_requests++;
          this.report.chunks_trashed_on_peers += ans.trashed;
          log("info", "delete request acknowledged", {
            peer: shortId(link.peer),
            chunks: batch.length,
            trashed: ans.trashed,
            not_held: ans.not_held,
          });
        } catch (e) {
          // A peer on a build without deletions answers 404: asked again next round.
          if (e instanceof PeerCallError && e.status === 404)
            log("info", "delete request: peer does not take them yet (older build)", { peer: shortId(link.peer) });
          else this.error(link.peer, `delete request for ${batch.length} chunks`, e);
          break;
        }
      }
    }
  }

  /** Accrue the bounty ledger, then exchange signed statements with every peer reached. */
  private async bounty(): Promise<void> {
    const { keys, peers, db } = this.ctx;
    const ledger = new BountyLedger(db.db);
    try {
      ledger.accrue();
    } catch (e) {
      this.error(null, "bounty ledger", e);
      return;
    }
    for (const link of this.live()) {
      const row = peers.get(link.peer);
      if (!row || !(await this.usable(link.peer))) continue;
      try {
        const c = await exchangeStatement(this.ctx.caller, ledger, {
          id: link.peer,
          url: link.url,
          x25519: fromHex((JSON.parse(row.card) as Card).x25519),
          label: `${row.name} (${shortId(link.peer)})`,
        });
        this.report.bounty_statements++;
        if (!c.agree) this.report.bounty_disagreements++;
      } catch (e) {
        // A peer on a build without bounty answers 404: nothing to compare with.
        if (e instanceof PeerCallError && e.status === 404)
          log("info", "bounty: peer does not exchange statements (older build)", { peer: shortId(link.peer) });
        else this.error(link.peer, "bounty statement", e);
      }
    }
  }

  /** Push the backups the peer lacks, batched (each batch is one request and one transaction there). */
  private async backUp(
    link: PeerLink,
    names: string[],
    index: { name: string; index: BackupIndex },
    expected: ReadonlyMap<string, { kind: BackupKind; hash: ManifestHash | null }>,
  ): Promise<void> {
    const full = backupFull.get(link.peer);
    if (full && Date.now() < full.until) {
      this.report.backups_deferred += names.length;
      return;
    }
    let batch: BackupFrame[] = [];
    let bytes = 0;
    let refused = false;
    const flush = async () => {
      if (!batch.length) return;
      const frames = batch;
      batch = [];
      bytes = 0;
      try {
        await link.putBackups(frames);
        this.report.backups_pushed += frames.length;
        backupFull.delete(link.peer);
      } catch (e) {
        this.error(link.peer, `backing up ${frames.length} manifests`, e);
        if (e instanceof PeerCallError && e.status === 507) {
          refused = true;
          const waitMs = Math.min(BACKUP_FULL_MAX_MS, full ? full.waitMs * 2 : BACKUP_FULL_FIRST_MS);
          backupFull.set(link.peer, { until: Date.now() + waitMs, waitMs });
          log(
            "info",
            `sync: ${shortId(link.peer)} has no room for our manifest backups; asking again in ${Math.round(waitMs / 60_000)} min`,
          );
        }
      }
    };
    // The index goes last: a peer on this build drops our format-1 blobs once a format-2 index
    // arrives, and by then the manifests it names are there.
    const ordered = [...names.filter((n) => n !== index.name), ...names.filter((n) => n === index.name)];
    for (const name of ordered) {
      if (!this.liveness.inRound(link.peer) || refused) return;
      const what = expected.get(name);
      if (!what) continue; // named before a restore changed what we expect
      const blob =
        what.kind === "index"
          ? name === index.name
            ? sealIndex(this.backupCtx, index.index)
            : null
          : sealManifest(this.backupCtx, what.hash!);
      if (!blob) continue;
      if (bytes + BACKUP_FRAME_HEAD + blob.byteLength > BACKUP_BATCH_BYTES) await flush();
      batch.push({ kind: what.kind, name, blob });
      bytes += BACKUP_FRAME_HEAD + blob.byteLength;
    }
    await flush();
  }
}
