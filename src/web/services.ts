/**
 * @module web/services — what the HTTP surfaces need of a running cell, in one record that
 * runtime/runtime builds once. Each sub-app takes the part it uses (a `Pick` of it), so a route
 * names its dependencies instead of reaching through a hub.
 */
import type { Cell } from "../cell/cell.ts";
import type { Fleet } from "../fleet/fleet.ts";
import type { PeerDirectory } from "../fleet/peer-directory.ts";
import type { PeerStore } from "../fleet/peer-store.ts";
import type { PeerCaller } from "../net/peer-client.ts";
import type { RequestVerifier } from "../protocol/request-auth.ts";
import type { Sharing } from "../share/sharing.ts";
import type { MyTree } from "../mine/my-tree.ts";
import type { Messenger } from "../message/messenger.ts";
import type { Assistant } from "../ai/assistant.ts";
import type { RoundRunner } from "../sync/sync-service.ts";
import type { SyncHistory } from "../cell/sync-history.ts";
import type { RelayLink } from "../relay/relay-client.ts";
import type { NearbyCell } from "../net/mdns.ts";
import type { Updater } from "../update/updater.ts";
import type { FileWatcher, WatcherStatus } from "../ingest/file-watcher.ts";
import type { ListenInfo } from "../api/types.ts";
import type { ConfigReload } from "../config/live.ts";

export interface WebServices {
  cell: Cell;
  /** The peers, read-only (cards, routes, figures). */
  peers: PeerDirectory;
  /** The peers table, for what the peer API records (last seen) and the bounty gate. */
  peerStore: PeerStore;
  /** Pairing and the user's actions on peers. */
  fleet: Fleet;
  /** How this cell calls peers (its keys and relay transport). */
  caller: PeerCaller;
  /** Checks the signatures of incoming peer requests. */
  verifier: RequestVerifier;
  sharing: Sharing;
  /** The one tree of my cells: events made and exchanged, chunks fetched on demand (mine/my-tree). */
  tree: MyTree;
  messenger: Messenger;
  /** Local AI; null in an app built without one. */
  assistant: Assistant | null;
  /** Sync and probe rounds; null in an app built without the sync Worker. */
  rounds: RoundRunner | null;
  /** The rounds' throughput kept across restarts (the Storage tab's chart); null with no sync Worker. */
  syncHistory: Pick<SyncHistory, "list"> | null;
  /** This cell's relay connections; null without any. */
  relay: Pick<RelayLink, "status"> | null;
  /** Relay bytes into the bounty ledger; flushed before bounty reports. */
  relayCredit: { flush(): void } | null;
  /** Cells seen on the local network (mDNS); null while mDNS is off (a getter: it follows config `mdns` as the cell runs). */
  nearby: { nearby(): NearbyCell[] } | null;
  updater: Updater;
  /** The file watcher's state, or null when it is off. */
  watching(): WatcherStatus | null;
  /** "Look now" of the file watcher (POST /api/scan); null when it is off or in-process. */
  scanner: Pick<FileWatcher, "findForScan" | "scan"> | null;
  /** Where the cell really listens (null before the sockets are bound, or in-process). */
  listening(): ListenInfo | null;
  /** Read config.json again and take its live keys at once (what the running cell does when the file changes). */
  reloadConfig(): ConfigReload;
}
