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
import { applyTree } from "./apply.ts";
import { openSealed, sealTo } from "../protocol/seal.ts";
import { TREE_KEYS_INFO } from "../protocol/labels.ts";

/** Events per pull answer, and the bytes of manifests after which an answer stops early. */
export const PULL_PAGE = 500;
const PULL_PAGE_BYTES = 4 * 1024 * 1024;
/** How often my cells are asked for what they have, besides the pokes (a cell back online catches up). */
export const PULL_EVERY_MS = 30_000;
/** Changes that come together (a folder copied in) make one reconcile and one poke. */
const SETTLE_MS = 50;
const CHUNK_TIMEOUT_MS = 30_000;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const PullRequestSchema = z.object({ vector: z.record(hex64, z.number().int().nonnegative()) });
const PullAnswerSchema = z.object({
  events: z.array(z.unknown()).max(PULL_PAGE * 2),
  manifests: z.record(hex64, z.string().max(8 * 1024 * 1024)),
  more: z.boolean(),
});
export type PullAnswer = z.infer<typeof PullAnswerSchema>;

export interface MyTreeDeps {
  cell: Pick<Cell, "db" | "tree" | "layout" | "keys" | "suite" | "store" | "vault" | "config">;
  peers: PeerDirectory;
  caller: PeerCaller;
  /** This cell's name now (conflict copies are named after it). */
  name: () => string;
  /** The file keys (the ring is `cell.vault.keys`): keep them, and drop a cell another of mine removed. */
  keys: { save(): void; forget(id: CellId): void };
}

export class MyTree {
  private settleTimer: ReturnType<typeof setTimeout> | null = null;
  private pullTimer: ReturnType<typeof setInterval> | null = null;
  /** Pulls running, and peers poked again while theirs ran. */
  private readonly pulling = new Map<CellId, Promise<number>>();
  private readonly again = new Set<CellId>();
  private stopped = false;
  /** The last of our own events my cells were poked for. */
  private told = 0;
  private applying: Promise<void> = Promise.resolve();
  private applyQueued = false;
  /** My cells the last pull did not reach. */
  private readonly away = new Set<CellId>();

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
    this.pullTimer = setInterval(() => void this.pullAll(), PULL_EVERY_MS);
    this.deps.cell.vault.remote!.source = (m, hash) => this.fetchChunk(m, hash);
  }

  stop(): void {
    this.stopped = true;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    if (this.pullTimer) clearInterval(this.pullTimer);
    this.settleTimer = this.pullTimer = null;
    this.deps.cell.vault.remote!.source = null;
  }

  /** This cell's files changed: describe the change soon, and tell my cells. */
  changed(): void {
    if (this.stopped || this.settleTimer) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      try {
        this.reconcile();
        // Our own events past what my cells were last told of (a reconcile, or a deletion of a file kept elsewhere).
        const mineNow = this.cell.tree.vector()[this.cell.keys.id] ?? 0;
        if (mineNow > this.told) {
          this.told = mineNow;
          this.pokeAll();
        }
      } catch (e) {
        log("error", `tree: could not describe this cell's changes: ${errorMessage(e)}`);
      }
    }, SETTLE_MS);
  }

  /** Make the events for what changed in this cell's own files since its events last described them. */
  reconcile(): TreeEvent[] {
    const { db, tree } = this.cell;
    const own = new Map(db.list().map((f) => [f.path, f.manifest_hash]));
    const described = tree.localView();
    const current = tree.current();
    const added = [...own].filter(([p, h]) => described.get(p) !== h);
    const gone = [...described].filter(([p]) => !own.has(p));
    if (!added.length && !gone.length) return [];

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
  receive(from: CellId, raw: unknown): { added: number; more: boolean } {
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
    return { added: this.cell.tree.receive(events, manifests), more: page.more };
  }

  /** Pull from one cell of mine until it has nothing more for us; resolves to how many events were new. */
  pullFrom(peer: CellId): Promise<number> {
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
    let added = 0;
    for (let page = 0; page < 10_000; page++) {
      const ans = await this.call<unknown>(peer, "/peer/tree/pull", { vector: this.cell.tree.vector() });
      const r = this.receive(peer, ans);
      added += r.added;
      if (!r.more) break;
    }
    await this.takeKeys(peer);
    if (added) {
      log("info", "tree: events received", { from: shortId(peer), events: added });
      this.applySoon();
    }
    return added;
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
    if (ring.merge(JSON.parse(new TextDecoder().decode(plain)))) {
      this.deps.keys.save();
      log("info", "tree: file keys updated from another of my cells", { from: shortId(peer), current: ring.current });
    }
    for (const id of ring.removed) this.deps.keys.forget(id as CellId);
  }

  /** The file keys, sealed to the cell of mine that asks (POST /peer/tree/keys). */
  async sealedKeys(peer: CellId): Promise<Uint8Array> {
    const card = this.deps.peers.card(peer);
    if (!card) throw new GroveError("unknown cell", 403, "forbidden");
    const body = new TextEncoder().encode(JSON.stringify(this.cell.vault.keys.toJSON()));
    return sealTo(fromHex(card.x25519), body, TREE_KEYS_INFO, this.cell.keys.id);
  }

  /** Bring this cell's own files in line with the tree (mine/apply), after what runs now; resolves when done. */
  applySoon(): Promise<void> {
    if (this.applyQueued) return this.applying;
    this.applyQueued = true;
    this.applying = this.applying
      .then(async () => {
        this.applyQueued = false;
        if (!this.stopped) await applyTree({ cell: this.cell, fetch: (m, h) => this.fetchChunk(m, h) });
      })
      .catch((e) => log("error", `tree: could not follow my other cells' changes: ${errorMessage(e)}`));
    return this.applying;
  }

  /** Pull from every cell of mine (a cell away is tried again at the next pull). */
  async pullAll(): Promise<void> {
    await Promise.all(
      this.mine().map((p) =>
        this.pullFrom(p.id).then(
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

  /** Tell each of my cells that we have new events (they pull at once); best effort. */
  pokeAll(): void {
    for (const p of this.mine()) void this.call(p.id, "/peer/tree/poke", {}).catch(() => {}); // an away cell catches up by its own pulls
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

  /**
   * A sealed chunk of `m` from my cells: the cell that stored the file first, then the others
   * (spread by chunk, so a large file is read from several at once). A cell that fails is
   * replaced by the next; when none answers, the error names the cells that hold the file.
   */
  async fetchChunk(m: { source_path: string; owner: string }, hash: string): Promise<Uint8Array> {
    const mine = this.mine();
    const first = mine.filter((p) => p.id === m.owner);
    const rest = mine.filter((p) => p.id !== m.owner);
    const turn = rest.length ? Number.parseInt(hash.slice(0, 6), 16) % rest.length : 0;
    const order = [...first, ...rest.slice(turn), ...rest.slice(0, turn)];
    const why: string[] = [];
    for (const p of order) {
      for (const url of this.deps.peers.routes(p.id)) {
        try {
          const ans = await callPeerRaw(this.deps.caller, url, p.id, "POST", "/peer/tree/chunk", { hash }, CHUNK_TIMEOUT_MS);
          if (ans.status === 200) return ans.body;
          why.push(`${p.name}: ${refusalText(ans.body)}`);
          break; // it answered: another route of it would answer the same
        } catch (e) {
          why.push(`${p.name}: ${errorMessage(e)}`);
        }
      }
    }
    const holders = mine.filter((p) => p.id === m.owner).map((p) => p.name);
    const named = holders.length ? holders.join(", ") : mine.map((p) => p.name).join(", ") || "no cell of mine";
    throw new GroveError(
      `'${m.source_path}' is not on this cell, and ${named} ${holders.length === 1 ? "is" : "are"} not reachable now: start ${holders.length === 1 ? "it" : "one of them"}, or wait until it is online (${why.join("; ")})`,
      503,
      "unavailable",
    );
  }
}
