/**
 * @module mine/my-tree — keeps this cell's part of the one tree and exchanges it with my other
 * cells (docs/design.md, "One tree across my cells").
 *
 * - **Events of this cell.** After each change to this cell's own files (put, dashboard, API,
 *   watcher, WebDAV: all tell `vault.stored`), `reconcile` compares the current files with what
 *   this cell's events last described and makes the events for the difference: a put, a delete, or
 *   a move (a path gone and another come with the same manifest, as a rename keeps it).
 * - **Push on change.** Then it pokes each of my cells, which pulls at once; a cell that was away
 *   pulls when it starts and every `PULL_EVERY_MS`. A pull sends our version vector and receives
 *   what we lack, with the manifests the events name, each checked against its hash.
 * - **On demand.** A chunk this cell does not hold is fetched from my cells (the cell that stored
 *   the file first), each chunk's name and tag checked by the reader (ingest/restore).
 */
import { eachAtOnce } from "../core/each-at-once.ts";
import { z } from "zod";
import type { Cell } from "../cell/cell.ts";
import { GroveError, errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { shortId } from "../core/format.ts";
import { fromHex, type CellId, type ManifestHash } from "../core/types.ts";
import { canonicalJson } from "../core/canonical-json.ts";
import { callPeer, callPeerRaw, refusalText, type PeerCaller } from "../net/peer-client.ts";
import type { PeerDirectory } from "../fleet/peer-directory.ts";
import type { PeerRow } from "../fleet/peer-store.ts";
import { ManifestSchema, manifestHash, readManifest, type Manifest } from "../store/manifest.ts";
import { TreeEventSchema, type TreeEvent } from "../tree/events.ts";
import type { LocalChange } from "../tree/event-log.ts";
import type { VersionVector } from "../tree/version-vector.ts";
import { applyTree, touchedBy, type Applied, type ApplyDeps } from "./apply.ts";
import { askChunkBatch, chunkBatches } from "./chunk-batch.ts";
import { CarriedChunks, chunksToCarry, RecentChunks } from "./carried-chunks.ts";
import { fileAt, listTree, ownAndDescribed, type ListedFile } from "./tree-view.ts";
import { homeFile, type HomePath } from "../ingest/home-path.ts";
import { unlink } from "node:fs/promises";
import { openSealed, sealTo } from "../protocol/seal.ts";
import { TREE_KEYS_INFO } from "../protocol/labels.ts";
import { MAX_PEER_BODY } from "../protocol/limits.ts";
import { verifyCard, type Card } from "../protocol/card.ts";

/** Events per pull answer, and the bytes of manifests after which an answer stops early. */
export const PULL_PAGE = 500;
const PULL_PAGE_BYTES = 4 * 1024 * 1024;
/** How often my cells are asked for what they have, besides the pokes (a cell back online catches up). */
export const PULL_EVERY_MS = 30_000;
const CHUNK_TIMEOUT_MS = 30_000;
/** Chunk batches asked of my cells at once. */
const BATCHES_AT_ONCE = 2;
/** How fast a cell of mine's record of lacking chunks fades. */
const MISS_HALF_LIFE_MS = 10 * 60_000;
/** How much faster (in route score, about milliseconds) another cell must be to be asked before the one that stored the file. */
const OWNER_EDGE = 20;
/** A cell whose miss rate is past this is not among the two a file's chunks are spread over. */
const SPREAD_MISS_RATE = 0.05;
/** A poke's body at most, with room for its envelope: the peer API takes MAX_PEER_BODY. */
const POKE_MAX = MAX_PEER_BODY - 16 * 1024;
/** Cells asked in turn for the chunks of a batch the previous ones did not have. */
const BATCH_ROUNDS = 3;

/** What names a file for a chunk fetch: its path and owner (for messages), its hash (who lacks it). */
export type ChunkOf = { source_path: string; owner: string; file_hash: string };

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const PullRequestSchema = z.object({ vector: z.record(hex64, z.number().int().nonnegative()) });
const PullAnswerSchema = z.object({
  events: z.array(z.unknown()).max(PULL_PAGE * 2),
  manifests: z.record(hex64, z.string().max(8 * 1024 * 1024)),
  more: z.boolean(),
});
export type PullAnswer = z.infer<typeof PullAnswerSchema>;
/** A poke: new events pushed (a pull page, with the chunks of a few small files: mine/carried-chunks), or keys changed. */
export type Poke = (PullAnswer & { chunks?: Record<string, string> }) | { keys: true };
type KeysPoke = Extract<Poke, { keys: true }>;

export interface MyTreeDeps {
  cell: Pick<Cell, "db" | "tree" | "layout" | "keys" | "suite" | "store" | "vault" | "config">;
  peers: PeerDirectory;
  caller: PeerCaller;
  /** This cell's name now (conflict copies are named after it). */
  name: () => string;
  /**
   * The file keys (the ring is `cell.vault.keys`) and who my cells are: keep the ring, drop a cell
   * another of mine removed, pair with one another of mine introduces (its card, checked first).
   */
  keys: { save(): void; forget(id: CellId): void; introduce(card: Card): void; selfCard(): Card };
  /**
   * True while the cell is recovered from its words and lacks its manifests (`grove recover`): its
   * own events are then held until a pull from one of my cells gave back the ones it made before,
   * so that its next event takes the next number, never one my cells hold already.
   */
  recovering?: () => boolean;
}

export class MyTree {
  /**
   * The reconcile to come. Changes told together (a batch of files stored, a move's two paths: each
   * told in one turn of the event loop) make one reconcile and one poke, right after that turn.
   */
  private settleTimer: ReturnType<typeof setImmediate> | null = null;
  private pullTimer: ReturnType<typeof setInterval> | null = null;
  /** Pulls running, and peers poked again while theirs ran. */
  private readonly pulling = new Map<CellId, Promise<number>>();
  private readonly again = new Set<CellId>();
  private stopped = false;
  /** Paths describeNow described in this turn of the event loop, until `vault.stored` names them. */
  private justDescribed = new Set<string>();
  private forgetDescribed: ReturnType<typeof setImmediate> | null = null;
  /** Paths changed since the last reconcile ("all": look at every file). */
  private dirty: Set<string> | "all" = new Set();
  /** Per cell of mine, the last of our own events it was poked for. */
  private readonly told = new Map<CellId, number>();
  /**
   * Per cell of mine, the poke on its way, and whether new events came meanwhile: one poke at a
   * time per cell, and what comes while it travels rides on the next (a stream of puts makes a
   * few pokes carrying several events each, not one poke per file).
   */
  private readonly poking = new Map<CellId, { again: boolean }>();
  private applying: Promise<void> = Promise.resolve();
  private applyQueued = false;
  /** What the queued apply looks at: the new events' paths, or everything. */
  private applyScope: TreeEvent[] | "all" = [];
  /** Per file (its hash), my cells that said they hold no chunk of it: a few hundred files remembered. */
  private readonly lacks = new Map<string, Set<CellId>>();
  /** My cells of an older build, without POST /peer/tree/chunks: asked one chunk at a time. */
  private readonly noBatch = new Set<CellId>();
  /** Chunks my cells' pokes carried, taken before any cell is asked. */
  private readonly carried = new CarriedChunks();
  /** The small chunks this cell sealed last, for its own pokes to carry. */
  private readonly recent = new RecentChunks();

  /** A chunk this cell just sealed (`vault.chunkStored`): a small one is kept a moment for the pokes. */
  justSealed(hash: string, sealed: Uint8Array): void {
    this.recent.remember(hash, sealed);
  }

  /**
   * Per cell of mine, how often it lacked a chunk it was asked for lately (0 to 1, each answer
   * weighing a tenth): an on-demand cell holds little, so it is asked after the cells that hold.
   */
  private readonly misses = new Map<CellId, { rate: number; at: number }>();

  /** `cell`'s miss rate now: it halves every MISS_HALF_LIFE_MS without an answer (a cell that pins more is tried again). */
  private missRate(cell: CellId): number {
    const m = this.misses.get(cell);
    return m ? m.rate * 0.5 ** ((Date.now() - m.at) / MISS_HALF_LIFE_MS) : 0;
  }

  private answered(cell: CellId, held: boolean): void {
    this.misses.set(cell, { rate: this.missRate(cell) * 0.9 + (held ? 0 : 0.1), at: Date.now() });
  }

  private lacking(fileHash: string, cell: CellId): void {
    this.answered(cell, false);
    const set = this.lacks.get(fileHash) ?? new Set<CellId>();
    set.add(cell);
    this.lacks.delete(fileHash);
    this.lacks.set(fileHash, set);
    if (this.lacks.size > 256) this.lacks.delete(this.lacks.keys().next().value!);
  }

  /** My cells whose keys the next pull from them also takes. */
  private readonly keysWanted = new Set<CellId>();
  /** My cells the last pull did not reach. */
  private readonly away = new Set<CellId>();
  /** A pull from one of my cells succeeded since start: this cell knows the events it made before. */
  private caughtUp = false;

  constructor(private readonly deps: MyTreeDeps) {}

  private get cell() {
    return this.deps.cell;
  }

  /** My other cells, as this cell knows them now. */
  mine(): PeerRow[] {
    return this.deps.peers.list().filter((p) => p.mine);
  }

  /** Start: catch up with my cells, describe our own files, follow the tree, and keep pulling now and then. */
  start(): void {
    this.stopped = false;
    void this.pullAll().finally(() => {
      this.changed();
      this.applySoon();
    });
    // Now and then: what my cells have, and every own file looked at again (a change that told no one).
    this.pullTimer = setInterval(() => {
      void this.pullAll();
      this.changed();
    }, PULL_EVERY_MS);
    this.deps.cell.vault.remote!.source = (m, hash) => this.fetchChunk(m, hash);
  }

  stop(): void {
    this.stopped = true;
    if (this.settleTimer) clearImmediate(this.settleTimer);
    if (this.pullTimer) clearInterval(this.pullTimer);
    if (this.forgetDescribed) clearImmediate(this.forgetDescribed);
    this.settleTimer = null;
    this.pullTimer = null;
    this.forgetDescribed = null;
    this.deps.cell.vault.remote!.source = null;
  }

  /** This cell's file at `path` changed (every file, when absent): describe the change soon, and tell my cells. */
  changed(path?: string): void {
    if (this.stopped) return;
    if (path === undefined) this.dirty = "all";
    else if (this.justDescribed.delete(path)) {
      // Described with its own commit (describeNow): only my cells are still to be told.
    } else if (this.dirty !== "all") this.dirty.add(path);
    if (this.settleTimer) return;
    this.settleTimer = setImmediate(() => {
      this.settleTimer = null;
      if (this.holdingOwn()) {
        this.dirty = "all"; // described once a pull from my cells gave back this cell's earlier events
        return;
      }
      const dirty = this.dirty;
      this.dirty = new Set();
      try {
        this.reconcile(dirty === "all" ? undefined : dirty);
        // Our own events past what each cell of mine was last told of (a reconcile, or a deletion of a file kept elsewhere).
        for (const p of this.mine()) this.push(p.id);
      } catch (e) {
        log("error", `tree: could not describe this cell's changes: ${errorMessage(e)}`);
      }
    });
  }

  /** Recovered from its words and not yet given back its earlier events by my cells: its own changes wait. */
  private holdingOwn(): boolean {
    return !this.caughtUp && this.deps.recovering?.() === true && this.mine().length > 0;
  }

  /**
   * Describe new versions at `paths` now, inside the caller's transaction (ingest/ingest-batch:
   * one commit for the versions and their events). Never throws: a failure is said, and the paths
   * are described when `vault.stored` names them, as any change.
   */
  describeNow(paths: readonly string[]): void {
    if (this.stopped || this.holdingOwn()) return;
    try {
      this.reconcile(new Set(paths));
      // The caller tells `vault.stored` of these paths right after its commit: no need to look at
      // them again then (two lookups a file). Forgotten after this turn of the event loop, should
      // the commit fail and nothing be told.
      for (const p of paths) this.justDescribed.add(p);
      this.forgetDescribed ??= setImmediate(() => {
        this.forgetDescribed = null;
        this.justDescribed.clear();
      });
    } catch (e) {
      log("warn", `tree: new versions not described with their commit; described next: ${errorMessage(e)}`);
    }
  }

  /**
   * Make the events for what changed in this cell's own files since its events last described
   * them: at `paths` (what `vault.stored` named since the last time), or everywhere.
   */
  reconcile(paths?: ReadonlySet<string>): TreeEvent[] {
    if (paths?.size === 0) return [];
    const { db, tree } = this.cell;
    const { own, described } = ownAndDescribed(this.cell, paths);
    const added = [...own].filter(([p, h]) => described.get(p) !== h);
    const gone = [...described].filter(([p]) => !own.has(p));
    if (!added.length && !gone.length) return [];
    const current = tree.current();

    const changes: LocalChange[] = [];
    const body = (h: ManifestHash) => ({ hash: h, body: this.manifestBody(h) });
    // A path gone and another come with the same manifest: a move (a rename keeps its manifest).
    const arrived = new Map<ManifestHash, string[]>();
    for (const [p, h] of added) arrived.set(h, [...(arrived.get(h) ?? []), p]);
    const movedTo = new Set<string>();
    for (const [from, h] of gone) {
      const to = arrived.get(h)?.find((p) => !movedTo.has(p));
      if (to && current.get(from)?.manifest === h) {
        movedTo.add(to);
        changes.push({ kind: "move", path: to, from, manifest: body(h) });
      } else if (current.has(from)) changes.push({ kind: "delete", path: from });
    }
    for (const [p, h] of added) {
      if (movedTo.has(p) || current.get(p)?.manifest === h) continue; // the tree has it already
      changes.push({ kind: "put", path: p, manifest: body(h) });
    }
    let made: TreeEvent[] = [];
    db.db.transaction(() => {
      made = tree.append(changes, this.deps.name());
      tree.setLocal([...added.map(([path, manifest]) => ({ path, manifest })), ...gone.map(([path]) => ({ path, manifest: null }))]);
    })();
    if (made.length)
      log("info", "tree: changes described", { events: made.length, kinds: [...new Set(made.map((e) => e.kind))].join(",") });
    return made;
  }

  private manifestBody(h: ManifestHash): string {
    const row = this.cell.db.manifest(h);
    if (!row) throw new Error(`manifest ${h.slice(0, 12)} is not in this cell's index`);
    return canonicalJson(readManifest(this.cell.layout.manifests, row.manifest_file));
  }

  /** What a cell of mine whose vector is `vector` lacks (one page), with the manifests those events name. */
  answerPull(vector: VersionVector): PullAnswer {
    const { events, more } = this.cell.tree.missingFrom(vector, PULL_PAGE);
    const manifests: Record<string, string> = {};
    let bytes = 0;
    const sent: TreeEvent[] = [];
    for (const e of events) {
      if (e.manifest && !manifests[e.manifest]) {
        const b = this.cell.tree.manifestBody(e.manifest);
        if (!b) break; // cannot happen: every event's manifest is kept with it; stop rather than send a gap
        manifests[e.manifest] = b;
        bytes += b.length;
      }
      sent.push(e);
      if (bytes > PULL_PAGE_BYTES) break;
    }
    return { events: sent, manifests, more: more || sent.length < events.length };
  }

  /** Take a page of events from a cell of mine: every event and manifest is checked before any is kept. */
  receive(from: CellId, raw: unknown): { added: TreeEvent[]; more: boolean } {
    const page = PullAnswerSchema.parse(raw);
    const manifests = new Map<string, string>();
    for (const [h, b] of Object.entries(page.manifests)) {
      const m = ManifestSchema.parse(JSON.parse(b)) as Manifest;
      if (manifestHash(m, this.cell.suite.sha256) !== h)
        throw new GroveError(`cell ${shortId(from)} sent a manifest that does not match its hash`, 502, "peer");
      manifests.set(h, canonicalJson(m));
    }
    const events = page.events.map((e) => TreeEventSchema.parse(e));
    for (const e of events)
      if (e.manifest && !manifests.has(e.manifest) && !this.cell.tree.manifestBody(e.manifest))
        throw new GroveError(`cell ${shortId(from)} sent an event without its manifest`, 502, "peer");
    // Recovered from its words: this cell takes back the events it made before, from my cells.
    const ownToo = !this.caughtUp && this.deps.recovering?.() === true;
    const added = this.cell.tree.receive(events, manifests, ownToo);
    return { added, more: page.more };
  }

  /**
   * A cell of mine poked us (POST /peer/tree/poke): keep the events it pushed, if any; pull when
   * they leave a gap, when it pushed none, or when it asks us to take its keys (after a removal).
   */
  poked(peer: CellId, raw: unknown): void {
    const body = (raw ?? {}) as { events?: unknown; keys?: unknown; chunks?: unknown };
    if (body.keys === true) this.keysWanted.add(peer);
    if (body.chunks !== undefined) this.carried.take(peer, body.chunks);
    if (Array.isArray(body.events) && body.keys !== true) {
      try {
        const r = this.receive(peer, raw);
        if (r.added.length) void this.applySoon(r.added);
        const top = Math.max(0, ...r.added.filter((e) => e.origin === peer).map((e) => e.seq));
        if (!r.more && (this.cell.tree.vector()[peer] ?? 0) >= top) return;
      } catch (e) {
        log("warn", `tree: events pushed by ${shortId(peer)} refused: ${errorMessage(e)}`);
      }
    }
    void this.pullFrom(peer).catch(() => {});
  }

  /**
   * Push our own new events to `cell` on a poke, so it has them without asking (with the chunks of
   * a few small files: mine/carried-chunks); if a poke to it is on its way, once that one is back.
   * A poke that fails leaves a gap the cell fills by pulling, when the next one comes or at its
   * next pull.
   */
  private push(cell: CellId): void {
    const running = this.poking.get(cell);
    if (running) {
      running.again = true;
      return;
    }
    const self = this.cell.keys.id;
    const since = this.told.get(cell) ?? 0;
    const mineNow = this.cell.tree.vector()[self] ?? 0;
    if (mineNow <= since || this.stopped) return;
    const page = this.answerPull({ ...this.cell.tree.vector(), [self]: since });
    this.told.set(cell, mineNow);
    const state = { again: false };
    this.poking.set(cell, state);
    // Within the peer API's body limit: the chunks are left out when they would pass it, and a
    // page too large for it (large files' manifests) is not pushed: the cell pulls it.
    const size = (p: object) => Buffer.byteLength(JSON.stringify(p));
    const pageBytes = size(page);
    const chunks = pageBytes > POKE_MAX ? undefined : chunksToCarry(this.cell.store, page.events, page.manifests, this.recent);
    const poke: Poke =
      pageBytes > POKE_MAX
        ? { events: [], manifests: {}, more: true }
        : chunks && pageBytes + size(chunks) <= POKE_MAX
          ? { ...page, chunks }
          : page;
    void this.call(cell, "/peer/tree/poke", poke)
      .catch(() => {})
      .finally(() => {
        this.poking.delete(cell);
        if (state.again) this.push(cell);
      });
  }

  /** Pull from one cell of mine until it has nothing more for us, and its keys when `keys`; resolves to how many events were new. */
  pullFrom(peer: CellId, keys = false): Promise<number> {
    if (keys) this.keysWanted.add(peer);
    const running = this.pulling.get(peer);
    if (running) {
      this.again.add(peer); // poked while pulling: once more afterwards
      return running;
    }
    const p = this.pullPages(peer).finally(() => {
      this.pulling.delete(peer);
      if (this.again.delete(peer) && !this.stopped) void this.pullFrom(peer);
    });
    this.pulling.set(peer, p);
    return p;
  }

  private async pullPages(peer: CellId): Promise<number> {
    const added: TreeEvent[] = [];
    for (let page = 0; page < 10_000; page++) {
      const ans = await this.call<unknown>(peer, "/peer/tree/pull", { vector: this.cell.tree.vector() });
      const r = this.receive(peer, ans);
      added.push(...r.added);
      if (!r.more) break;
    }
    if (added.length) {
      log("info", "tree: events received", { from: shortId(peer), events: added.length });
      void this.applySoon(added);
    }
    if (!this.caughtUp) {
      this.caughtUp = true;
      if (this.deps.recovering?.()) this.changed(); // the changes held until now
    }
    if (this.keysWanted.delete(peer)) await this.takeKeys(peer);
    return added.length;
  }

  /** The file keys of a cell of mine, sealed to us: a new key after a removal, and which cells were removed. */
  private async takeKeys(peer: CellId): Promise<void> {
    const url = this.deps.peers.routeOf(peer);
    if (!url) return;
    const ans = await callPeerRaw(this.deps.caller, url, peer, "POST", "/peer/tree/keys", {});
    if (ans.status !== 200) throw new GroveError(`cell ${shortId(peer)} refused its keys: ${refusalText(ans.body)}`, 502, "peer");
    const { keys } = this.deps.caller;
    const plain = await openSealed(keys.x25519Secret, keys.x25519Public, ans.body, TREE_KEYS_INFO, peer);
    const ring = this.cell.vault.keys;
    const got = JSON.parse(new TextDecoder().decode(plain)) as { ring?: unknown; cells?: unknown };
    if (ring.merge(got.ring)) {
      this.deps.keys.save();
      log("info", "tree: file keys updated from another of my cells", { from: shortId(peer), current: ring.current });
    }
    for (const id of ring.removed) this.deps.keys.forget(id as CellId);
    // My cells it knows that this one does not yet: each card checked, a removed cell never taken.
    for (const raw of Array.isArray(got.cells) ? got.cells.slice(0, 256) : []) {
      let card: Card;
      try {
        card = verifyCard(raw);
      } catch (e) {
        log("warn", "tree: another of my cells sent a card that does not verify", { from: shortId(peer), error: errorMessage(e) });
        continue;
      }
      if (card.id === this.cell.keys.id || ring.removed.includes(card.id) || this.deps.peers.get(card.id)?.mine) continue;
      this.deps.keys.introduce(card);
      log("info", "tree: paired with another of my cells, introduced by one of them", {
        cell: shortId(card.id),
        name: card.name,
        by: shortId(peer),
      });
    }
  }

  /** The file keys, sealed to the cell of mine that asks (POST /peer/tree/keys). */
  async sealedKeys(peer: CellId): Promise<Uint8Array> {
    const card = this.deps.peers.card(peer);
    if (!card) throw new GroveError("unknown cell", 403, "forbidden");
    const cells = [this.deps.keys.selfCard(), ...this.mine().flatMap((p) => (p.id === peer ? [] : [this.deps.peers.card(p.id)!]))];
    const body = new TextEncoder().encode(JSON.stringify({ ring: this.cell.vault.keys.toJSON(), cells }));
    return sealTo(fromHex(card.x25519), body, TREE_KEYS_INFO, this.cell.keys.id);
  }

  /** Apply the tree at `paths` now, after what runs (one apply at a time). */
  private applyAt(paths: ReadonlySet<string>): Promise<Applied> {
    const run = this.applying.then(() => applyTree(this.applyDeps(), paths));
    this.applying = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /**
   * Pin `path` (a file, a folder, or "" for everything): its files are written into GROVE_HOME
   * now and kept there as they change, in home_mode "on-demand" too. Resolves when written.
   */
  async pin(path: string): Promise<{ path: string; files: number; written: number; failed: number }> {
    const files = this.filesAt(path);
    if (!files.length) throw new GroveError(`nothing at '${path}' in your cells' tree`, 404, "not_found");
    this.cell.tree.pin(path);
    const r = await this.applyAt(new Set(files.map((f) => f.path)));
    log("info", "pinned", { path: path || "(everything)", files: files.length, written: r.written });
    return { path, files: files.length, written: r.written, failed: r.failed };
  }

  /**
   * Unpin `path` and the pins under it. In home_mode "on-demand", the plaintext of the files there
   * that another of my cells stored (and still holds) leaves GROVE_HOME; they stay listed and open
   * on demand. This cell's own files stay: unpinning never drops a copy no other cell has.
   */
  unpin(path: string): { path: string; unpinned: string[]; dropped: number; kept: number } {
    const { cell } = this;
    if (cell.config.home_mode === "mirror")
      throw new GroveError(
        'this cell mirrors every file of your cells (home_mode "mirror"), so unpinning frees nothing: set "home_mode": "on-demand" in config.json to keep only pinned files here',
        409,
        "conflict",
      );
    const unpinned = cell.tree.unpin(path);
    const pins = cell.tree.pins();
    const mine = new Set(this.mine().map((p) => p.id as string));
    let dropped = 0;
    let kept = 0;
    for (const f of this.filesAt(path)) {
      if (!f.local || cell.tree.pinned(f.path, pins)) continue;
      const storedBy = f.cells.filter((id) => id !== cell.keys.id);
      // Stored here (its manifest's owner), though another cell of mine may have moved it since.
      const ownContent = cell.db.manifest(f.manifest_hash)?.owner === cell.keys.id;
      if (ownContent || !storedBy.some((id) => mine.has(id))) {
        kept++; // stored here, or by a cell that is no longer one of mine: this may be the only copy
        continue;
      }
      cell.db.db.transaction(() => {
        cell.db.markDeleted(f.path);
        cell.tree.setLocal([{ path: f.path, manifest: null }]);
      })();
      void unlink(homeFile(cell.layout.home, f.path as HomePath)).catch(() => {});
      dropped++;
    }
    log("info", "unpinned", { path: path || "(everything)", dropped, kept });
    return { path, unpinned, dropped, kept };
  }

  /** The tree's files at `path`: the file there, or those under the folder ("" = all). */
  private filesAt(path: string): ListedFile[] {
    const exact = path ? fileAt(this.cell, path) : null;
    return exact ? [exact] : listTree(this.cell, path);
  }

  /**
   * Bring this cell's own files in line with the tree (mine/apply), after what runs now: where
   * `events` (new ones) touch it, or everywhere. Resolves when done.
   */
  applySoon(events?: readonly TreeEvent[]): Promise<void> {
    if (events === undefined) this.applyScope = "all";
    else if (this.applyScope !== "all") this.applyScope.push(...events);
    if (this.applyQueued) return this.applying;
    this.applyQueued = true;
    this.applying = this.applying
      .then(async () => {
        this.applyQueued = false;
        const scope = this.applyScope;
        this.applyScope = [];
        if (this.stopped) return;
        const paths = scope === "all" ? undefined : touchedBy(scope, this.cell.tree.conflictCopies());
        await applyTree(this.applyDeps(), paths);
      })
      .catch((e) => log("error", `tree: could not follow my other cells' changes: ${errorMessage(e)}`));
    return this.applying;
  }

  /** Pull from every cell of mine (a cell away is tried again at the next pull). */
  async pullAll(): Promise<void> {
    await Promise.all(
      this.mine().map((p) =>
        this.pullFrom(p.id, true).then(
          () => this.away.delete(p.id),
          (e) => {
            // Said once while it stays away, not every PULL_EVERY_MS.
            if (!this.away.has(p.id))
              log("info", `tree: ${p.name} (${shortId(p.id)}) not reached; tried again every ${PULL_EVERY_MS / 1000} s`, {
                error: errorMessage(e),
              });
            this.away.add(p.id);
          },
        ),
      ),
    );
  }

  /**
   * Tell each of my cells that our keys or my cells changed: they pull from us and take our key
   * ring at once (but `except`: a cell joining now, which has them in its join's answer). Best
   * effort: a cell away catches up by its own pulls.
   */
  pokeAll(page: KeysPoke = { keys: true }, except?: CellId): void {
    for (const p of this.mine()) if (p.id !== except) void this.call(p.id, "/peer/tree/poke", page).catch(() => {});
  }

  /** A signed JSON call to a cell of mine over its routes, best first. */
  private async call<T>(peer: CellId, path: string, body: unknown): Promise<T> {
    const routes = this.deps.peers.routes(peer);
    let last: unknown = new GroveError(`cell ${shortId(peer)} has no known address`, 502, "peer");
    for (const url of routes) {
      try {
        return (await callPeer<T>(this.deps.caller, url, peer, "POST", path, body)).body;
      } catch (e) {
        last = e;
        if (e instanceof GroveError && e.status === 401) break; // a refusal from the cell itself
      }
    }
    throw last;
  }

  /** What mine/apply fetches chunks with. */
  private applyDeps(): ApplyDeps {
    return { cell: this.cell, fetch: (m, h) => this.fetchChunk(m, h), fetchMany: (want) => this.fetchChunks(want) };
  }

  /** My cells, and the order to ask them for chunk `hash` of `m` (see fetchChunk). */
  private askOrder(m: ChunkOf, hash: string, cells: readonly PeerRow[] = this.mine()): { mine: PeerRow[]; order: PeerRow[] } {
    // Cells that answered "not held" for a chunk of this file are asked last for the others.
    const lacking = this.lacks.get(m.file_hash) ?? new Set<CellId>();
    const mine = [...cells].sort((a, b) => Number(lacking.has(a.id)) - Number(lacking.has(b.id)));
    // A cell that lately lacked what it was asked comes after those that held it, measured or not;
    // the cell that stored the file holds it, so it goes first unless another is clearly faster.
    const score = (id: CellId) =>
      (lacking.has(id) ? 1e12 : 0) + this.missRate(id) * 1e11 + (this.deps.peers.score(id) ?? 1e9) + (id === m.owner ? 0 : OWNER_EDGE);
    const ranked = [...mine].sort((a, b) => score(a.id) - score(b.id));
    // Spread over the two best only when both hold (a cell that lately lacked what it was asked,
    // an on-demand one, is not asked first for every other chunk).
    const holds = (p: PeerRow) => !lacking.has(p.id) && this.missRate(p.id) < SPREAD_MISS_RATE;
    const spread = ranked.length > 1 && holds(ranked[0]!) && holds(ranked[1]!) ? 2 : Math.min(1, ranked.length);
    const turn = spread ? Number.parseInt(hash.slice(0, 6), 16) % spread : 0;
    return { mine, order: [...ranked.slice(turn, spread), ...ranked.slice(0, turn), ...ranked.slice(spread)] };
  }

  /**
   * Many small sealed chunks at once, each from the cell fetchChunk would ask first, in batches
   * (POST /peer/tree/chunks: one signed round trip for up to 256 chunks). Best effort: a chunk
   * missing from the answer (not held there, the cell away or of an older build) is not in the
   * map, and the caller asks for it alone (fetchChunk), which tries every cell of mine.
   */
  async fetchChunks(want: readonly { m: ChunkOf; hash: string; size: number }[]): Promise<Map<string, Uint8Array>> {
    const got = new Map<string, Uint8Array>();
    for (const w of want) {
      const b = this.carried.claim(w.hash);
      if (b) got.set(w.hash, b);
    }
    const asked = new Map<string, Set<CellId>>(); // per chunk, the cells asked for it
    let left = want.filter((w) => !got.has(w.hash));
    const mine = this.mine(); // once, not per chunk
    // A cell that answers without some of them (an on-demand cell holds little) is remembered as
    // lacking those files, and the next cell in their order is asked, in a batch again.
    for (let round = 0; round < BATCH_ROUNDS && left.length; round++) {
      const byCell = new Map<CellId, (typeof want)[number][]>();
      for (const w of left) {
        const tried = asked.get(w.hash);
        const next = this.askOrder(w.m, w.hash, mine).order.find((p) => !tried?.has(p.id) && !this.noBatch.has(p.id));
        if (!next) continue;
        byCell.set(next.id, [...(byCell.get(next.id) ?? []), w]);
      }
      const asks = [...byCell].flatMap(([cell, list]) => {
        const of = new Map(list.map((w) => [w.hash, w.m.file_hash]));
        return chunkBatches(list).map((hashes) => ({ cell, hashes, of }));
      });
      await eachAtOnce(asks, BATCHES_AT_ONCE, async ({ cell, hashes, of }) => {
        for (const h of hashes) asked.set(h, (asked.get(h) ?? new Set<CellId>()).add(cell));
        const r = await askChunkBatch(this.deps.caller, this.deps.peers.routes(cell), cell, hashes, CHUNK_TIMEOUT_MS);
        if (r === "unsupported") {
          this.noBatch.add(cell);
          return;
        }
        for (const [h, b] of r.got) got.set(h, b);
        if (r.got.size) this.answered(cell, true);
        if (r.answered) for (const h of hashes) if (!r.got.has(h)) this.lacking(of.get(h)!, cell);
      });
      left = left.filter((w) => !got.has(w.hash));
    }
    return got;
  }

  /**
   * A sealed chunk of `m` from my cells, fastest route first (the last probes' score; the cell
   * that stored the file first among cells not measured yet), the chunks of a file spread over
   * the two fastest so a large file is read from several cells at once. A cell that fails (gone,
   * or without the chunk) is replaced by the next; when none answers, the error names the cells
   * that hold the file.
   */
  async fetchChunk(m: ChunkOf, hash: string): Promise<Uint8Array> {
    const carried = this.carried.claim(hash);
    if (carried) return carried;
    const { mine, order } = this.askOrder(m, hash);
    const why: string[] = [];
    for (const p of order) {
      for (const url of this.deps.peers.routes(p.id)) {
        try {
          const ans = await callPeerRaw(this.deps.caller, url, p.id, "POST", "/peer/tree/chunk", { hash }, CHUNK_TIMEOUT_MS);
          if (ans.status === 200) {
            this.answered(p.id, true);
            return ans.body;
          }
          if (ans.status === 404) this.lacking(m.file_hash, p.id);
          why.push(`${p.name}: ${refusalText(ans.body)}`);
          break; // it answered: another route of it would answer the same
        } catch (e) {
          why.push(`${p.name}: ${errorMessage(e)}`);
        }
      }
    }
    log("warn", `tree: no cell of mine sent a chunk of '${m.source_path}'`, { chunk: hash.slice(0, 12), tried: why.join("; ") });
    const holders = mine.filter((p) => p.id === m.owner).map((p) => p.name);
    const named = holders.length ? holders.join(", ") : mine.map((p) => p.name).join(", ");
    if (!named)
      throw new GroveError(`'${m.source_path}' is not on this cell, and no other cell of yours is paired with it`, 503, "unavailable");
    const one = holders.length === 1 || (!holders.length && mine.length === 1);
    throw new GroveError(
      `'${m.source_path}' is not on this cell, and ${named} ${one ? "is" : "are"} not reachable now: start ${one ? "it" : "one of them"}, or try again once it is online`,
      503,
      "unavailable",
    );
  }
}
