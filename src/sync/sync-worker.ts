/**
 * @module sync/sync-worker — Worker entry: runs probe and sync rounds off the main thread, so the
 * dashboard and the peer API keep answering during a round. It opens its own connection to
 * placement.db (WAL) and is the only writer of peer_speeds.json / peer_health.json. Jobs run one
 * at a time, in the order they arrive.
 */
import { loadConfig } from "../config/config.ts";
import { resolveLayout } from "../core/layout.ts";
import { errorMessage } from "../core/errors.ts";
import { loadKeys } from "../cell/state-dir.ts";
import { PlacementDb } from "../store/placement-db.ts";
import { ChunkStore } from "../store/chunk-store.ts";
import { Placements } from "../store/placements.ts";
import { PeerStore } from "../fleet/peer-store.ts";
import { Prober } from "../fleet/prober.ts";
import { SyncRound, type SyncContext } from "./round.ts";
import type { FromWorker, ToWorker } from "./sync-messages.ts";

declare const self: Worker;

let ctx: SyncContext | null = null;
let queue: Promise<void> = Promise.resolve();
const post = (m: FromWorker) => self.postMessage(m);

function open(dir: string, home: string): SyncContext {
  const layout = resolveLayout({ GROVE_DIR: dir, GROVE_HOME: home });
  const { config } = loadConfig(layout.config);
  const keys = loadKeys(layout);
  const db = new PlacementDb(layout.placementDb);
  const peers = new PeerStore(db.db);
  return {
    keys, config, layout, db, peers,
    store: new ChunkStore(layout.chunks),
    placements: new Placements(db.db),
    prober: new Prober({ keys, config, layout, peers }),
  };
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  if (msg.type === "init") {
    try {
      ctx = open(msg.dir, msg.home);
      post({ type: "ready" });
    } catch (e) {
      post({ type: "init-failed", error: errorMessage(e) });
    }
    return;
  }
  queue = queue.then(async () => {
    try {
      if (!ctx) throw new Error("the sync worker did not open the cell");
      if (msg.kind === "probe") post({ type: "done", id: msg.id, kind: "probe", report: await ctx.prober.round() });
      else post({ type: "done", id: msg.id, kind: "sync", report: await new SyncRound(ctx).run(msg.card) });
    } catch (e) {
      post({ type: "failed", id: msg.id, error: errorMessage(e) });
    }
  });
};
