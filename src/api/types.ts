/**
 * @module api/types — the JSON shapes of the local API: what web/api answers, what views/ render
 * and what the CLI reads. One module all three import, so views and the CLI do not reach into web.
 */
import type { SyncProgress, SyncReport } from "../sync/round.ts";
import type { RelayState } from "../relay/relay-client.ts";
import type { WatcherStatus } from "../ingest/file-watcher.ts";
import type { UpdateAvailable } from "../update/update-state.ts";
import type { FriendNotice, Friendship } from "../fleet/peer-store.ts";
import type { FriendshipTold } from "../fleet/friendship.ts";

/** Where a running cell really listens (Settings, /api/status, the start banner). */
export interface ListenInfo {
  /** The dashboard and local API. `public`: reachable beyond this machine. */
  dashboard: { url: string; host: string; port: number; tls: boolean; public: boolean; fingerprint: string | null };
  /** The peer API, advertised in the card. */
  peer: { url: string; host: string; port: number };
  /** The pre-split address still answering peers (and only peers), while some have not reached the new port. */
  legacy: { host: string; port: number; waiting_for: number } | null;
}

export interface CellStatus {
  id: string;
  name: string;
  version: string;
  build: string;
  /** When the build was made (content-derived); null when run from source. */
  build_time: string | null;
  target: string;
  crypto: string;
  uptime_s: number;
  dir: string;
  home: string;
  files: number;
  chunks: number;
  stored_bytes: number;
  replication_factor: number;
  /** Bytes this cell keeps for other cells (their chunks and manifest backups). */
  kept_for_peers_bytes: number;
  /** This cell's relay connections (config `relays`, and relays opened to reach a peer). */
  relays: RelayState[];
  /** The file watcher (GROVE_HOME and `watch_dirs`), or null when it is off. */
  watching: WatcherStatus | null;
  /** A newer trusted build a peer offers (`grove update` installs it), or null. */
  update_available: UpdateAvailable | null;
  /** Sync rounds: the one running (and how far it is), the last one, the interval; null when this cell runs none. */
  sync: SyncStatus | null;
  /** Where the cell really listens (null when not known: an app without listeners). */
  listening: ListenInfo | null;
}

export interface SyncStatus {
  running: boolean;
  progress: SyncProgress | null;
  /** The last round that finished since the cell started, in brief. */
  last: {
    started_at: number;
    duration_ms: number;
    reached: number;
    peers: number;
    chunks_pushed: number;
    chunks_pulled: number;
    under_replicated: number;
    missing: number;
    errors: number;
  } | null;
  /** Set when the most recent round failed as a whole. */
  last_error: string | null;
  /** What the recovery round restored and refused (a recovered cell, since it started), or null. */
  recovery?: ({ at: number } & NonNullable<SyncReport["restored"]>) | null;
  interval_s: number;
  /** A round this long after a file is stored (0: none). */
  after_change_s: number;
}

/** The peer as listed by `grove peers` and GET /api/peers. */
export interface PeerView {
  id: string;
  name: string;
  /** This cell shares with it, takes its grants and answers its AI questions: `friendship` is "friends". */
  friend: boolean;
  /**
   * Where the friendship stands from this cell: "none"; "requested" (this cell asked, not accepted
   * yet); "asked" (it asked this cell: accept with POST /api/peers/ID/accept); "friends".
   */
  friendship: Friendship;
  /** When `friendship` last changed through a request, accept or end (unix ms), else null. */
  friendship_at: number | null;
  /** A friendship change it has not heard of yet ("request": asking or accepting; "end"), sent again after each sync round; else null. */
  friendship_notice: FriendNotice | null;
  favorite: boolean;
  /** One of mine: the same owner's cell (joined with `grove invite --mine`); it shares the tree and the file keys. */
  mine: boolean;
  /** URL of the lowest-scoring reachable route, from the last probes (null: none answered yet). */
  best_route: string | null;
  latency_ms: number | null;
  mb_s: number | null;
  uptime_pct: number | null;
  routes: { url: string; kind: string; reachable: boolean; latency_ms: number | null; mb_s: number | null }[];
  last_seen: number | null;
  added_at: number;
}

/**
 * The answer to POST /api/peers/ID/ACTION (friend, accept, unfriend, favorite, unfavorite,
 * remove): the peer after it (just `{id, removed: true}` after remove), and for a friendship
 * action what became of telling the other cell.
 */
export type PeerActionResult = PeerAfterAction | { id: string; removed: true };
export type PeerAfterAction = PeerView & { told: FriendshipTold | null };
export type { FriendshipTold, Friendship, FriendNotice };
