/** @module sync/sync-messages — what the main thread and the sync Worker say to each other. */
import type { Card } from "../protocol/card.ts";
import type { RoundReport } from "../fleet/prober.ts";
import type { SyncProgress, SyncReport } from "./round.ts";
import type { PeerRequest, PeerResponse } from "../net/peer-client.ts";

/**
 * Sealed bytes of pushed-on-store chunks handed to the Worker at most (the size of the shared
 * ring they travel in, sync/held-ring); past this, names only (read back from chunks/, through
 * the page cache, where they were just written). Two batch bodies' worth: enough to keep the push
 * busy while the next ones are read, and a cell's peak memory (under 150 MiB, issue 21) has no
 * room for more.
 */
export const MAX_HELD_BYTES = 8 * 1024 * 1024;

export type ToWorker =
  /** `ring`: where small chunks' bytes are handed over (sync/held-ring), MAX_HELD_BYTES. */
  | { type: "init"; dir: string; home: string; ring: SharedArrayBuffer }
  | { type: "run"; id: number; kind: "sync"; card: Card }
  | { type: "run"; id: number; kind: "probe" }
  /**
   * A chunk this cell just stored: pushed to peers at once (sync/eager-push). A small one comes
   * with its sealed bytes at `at` in the ring while it has room (given back by "released"); a
   * large one, or one that finds no room, by name once it is durable (`at` null: the Worker reads
   * it from chunks/).
   */
  | { type: "chunk"; hash: string; size: number; at: number | null }
  /** The answer to a relay-call: the main thread holds the relay connections. */
  | { type: "relay-answer"; call: number; ok: true; response: PeerResponse }
  | { type: "relay-answer"; call: number; ok: false; error: string };

export type FromWorker =
  | { type: "ready" }
  | { type: "init-failed"; error: string }
  | { type: "done"; id: number; kind: "sync"; report: SyncReport }
  /** How far sync job `id` is (a few times a second while it runs). */
  | { type: "progress"; id: number; progress: SyncProgress }
  | { type: "done"; id: number; kind: "probe"; report: RoundReport }
  | { type: "failed"; id: number; error: string }
  /** A peer call through a relay, for the main thread to carry (see relay-answer). */
  | { type: "relay-call"; call: number; relay: string; peer: string; request: PeerRequest; timeoutMs: number }
  /** The Worker abandoned that relay call (the round gave up on the peer). */
  | { type: "relay-cancel"; call: number }
  /** Push on store let go of these places in the ring (sync/held-ring): the main thread may reuse them. */
  | { type: "released"; at: number[] };
