/**
 * @module sync/sync-worker — Worker entry: runs probe and sync rounds off the main thread, so the
 * dashboard and the peer API keep answering during a round. It opens its own connection to
 * placement.db (WAL) and is the only writer of peer_speeds.json / peer_health.json. Jobs run one
 * at a time, in the order they arrive. Calls to peers through a relay are handed to the main
 * thread, which holds the relay connections (relay-call / relay-answer). Chunks a put seals are
 * handed in as they are stored and pushed at once (sync/eager-push), between and during jobs.
 */
import { statSync } from "node:fs";
import { findPendingManifests } from "../store/manifest.ts";
import { loadConfig } from "../config/config.ts";
import { applyLive } from "../config/live.ts";
import { chooseEd25519 } from "../crypto/ed25519.ts";
import { resolveLayout } from "../core/layout.ts";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { loadKeys } from "../cell/state-dir.ts";
import { PlacementDb } from "../store/placement-db.ts";
import { ChunkStore } from "../store/chunk-store.ts";
import { Placements } from "../store/placements.ts";
import { PeerStore } from "../fleet/peer-store.ts";
import { Prober } from "../fleet/prober.ts";
import { SyncRound, type SyncContext } from "./round.ts";
import type { FromWorker, ToWorker } from "./sync-messages.ts";
import type { PeerCaller, PeerResponse, RelayTransport } from "../net/peer-client.ts";
import type { CellId, ChunkHash } from "../core/types.ts";
import { EagerPush } from "./eager-push.ts";
import { startMemTrace } from "./mem-trace.ts";

declare const self: Worker;

let ctx: SyncContext | null = null;
/** Push on store: the chunks the main thread hands in as a put seals them. */
let eager: EagerPush | null = null;
let queue: Promise<void> = Promise.resolve();
const post = (m: FromWorker, transfer: Transferable[] = []) => self.postMessage(m, transfer);

const relayCalls = new Map<number, { resolve(r: PeerResponse): void; reject(e: Error): void }>();
let nextRelayCall = 1;
/** Relay calls go to the main thread, which holds the relay connections. */
const viaMainThread: RelayTransport = (relay: string, peer: CellId, request, timeoutMs, signal) =>
  new Promise<PeerResponse>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const call = nextRelayCall++;
    // An abandoned call: the main thread stops carrying it, and its answer is no longer awaited.
    const onAbort = () => {
      relayCalls.delete(call);
      post({ type: "relay-cancel", call });
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    relayCalls.set(call, {
      resolve: (r) => (signal?.removeEventListener("abort", onAbort), resolve(r)),
      reject: (e) => (signal?.removeEventListener("abort", onAbort), reject(e)),
    });
    // The body (often a pooled buffer of the round's, up to 4 MiB) is copied once and that copy
    // transferred: cloned, it was copied twice, through a serialized form the size of the body.
    const body = request.body ? request.body.slice() : null;
    post({ type: "relay-call", call, relay, peer, request: { ...request, body }, timeoutMs }, body ? [body.buffer] : []);
  });

/**
 * config.json as the Worker last read it (mtime and size): a change to a live key (config/live)
 * reaches the next job. Only a file that parsed counts as seen: a file caught half-written (its
 * mtime may not change again when the write completes within the same clock tick; its size does)
 * is read again next time.
 */
let configSeen = "";
function refreshConfig(c: SyncContext): void {
  try {
    const st = statSync(c.layout.config);
    const seen = `${st.mtimeMs}:${st.size}`;
    if (seen === configSeen) return;
    applyLive(c.config, loadConfig(c.layout.config).config);
    configSeen = seen;
  } catch {
    // A bad or missing file: the main thread says so (runtime reloadConfig); the Worker keeps what it has.
  }
}

function open(dir: string, home: string): SyncContext {
  const layout = resolveLayout({ GROVE_DIR: dir, GROVE_HOME: home });
  const { config } = loadConfig(layout.config);
  chooseEd25519(config.crypto);
  const keys = loadKeys(layout);
  const db = new PlacementDb(layout.placementDb);
  findPendingManifests(layout.manifests, (rel) => db.pendingManifestBody(rel)); // a manifest stored a moment ago
  const peers = new PeerStore(db.db);
  const caller: PeerCaller = { keys, relay: viaMainThread };
  return {
    keys,
    caller,
    config,
    layout,
    db,
    peers,
    store: new ChunkStore(layout.chunks, db.db),
    placements: new Placements(db.db),
    prober: new Prober({ keys, caller, config, layout, peers }),
  };
}

/**
 * placement.db's WAL checkpoints, taken here rather than by the main thread's commits
 * (PlacementDb.checkpointOnCommit): every CHECKPOINT_MS, whatever the WAL holds is copied into the
 * database file, waiting for nobody (PASSIVE). A checkpoint that fails is tried again next time.
 */
const CHECKPOINT_MS = 500;
function startCheckpoints(c: SyncContext): void {
  let failing = false; // said once, not every CHECKPOINT_MS
  const t = setInterval(() => {
    try {
      c.db.checkpoint();
      failing = false;
    } catch (e) {
      if (!failing) log("warn", `placement.db: a checkpoint of its WAL failed (tried again every ${CHECKPOINT_MS} ms): ${errorMessage(e)}`);
      failing = true;
    }
  }, CHECKPOINT_MS);
  t.unref?.();
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  if (msg.type === "relay-answer") {
    const c = relayCalls.get(msg.call);
    relayCalls.delete(msg.call);
    if (msg.ok) c?.resolve(msg.response);
    else c?.reject(new Error(msg.error));
    return;
  }
  if (msg.type === "chunk") {
    if (ctx) refreshConfig(ctx); // push_on_store and the factor are live
    eager?.add(msg.hash as ChunkHash, msg.size, msg.at);
    return;
  }
  if (msg.type === "init") {
    try {
      ctx = open(msg.dir, msg.home);
      eager = new EagerPush(ctx, new Uint8Array(msg.ring), (at) => post({ type: "released", at }));
      ctx.eager = eager;
      startMemTrace("sync-worker"); // GROVE_MEM_TRACE only (sync/mem-trace)
      startCheckpoints(ctx);
      post({ type: "ready" });
    } catch (e) {
      post({ type: "init-failed", error: errorMessage(e) });
    }
    return;
  }
  queue = queue.then(async () => {
    try {
      if (!ctx) throw new Error("the sync worker did not open the cell");
      refreshConfig(ctx);
      if (msg.kind === "probe") post({ type: "done", id: msg.id, kind: "probe", report: await ctx.prober.round() });
      else {
        await eager?.idle(); // what a put handed in is placed first: the round then plans on it
        const round = new SyncRound(ctx, (progress) => post({ type: "progress", id: msg.id, progress }));
        try {
          post({ type: "done", id: msg.id, kind: "sync", report: await round.run(msg.card) });
        } finally {
          round.release();
        }
      }
    } catch (e) {
      post({ type: "failed", id: msg.id, error: errorMessage(e) });
    }
  });
};
