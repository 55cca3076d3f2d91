/** @module sync/sync-messages — what the main thread and the sync Worker say to each other. */
import type { Card } from "../protocol/card.ts";
import type { RoundReport } from "../fleet/prober.ts";
import type { SyncProgress, SyncReport } from "./round.ts";
import type { PeerRequest, PeerResponse } from "../net/peer-client.ts";

/** Sealed bytes of pushed-on-store chunks the Worker holds at most; past this, names only (read back from chunks/). */
export const MAX_HELD_BYTES = 32 * 1024 * 1024;

export type ToWorker =
  | { type: "init"; dir: string; home: string }
  | { type: "run"; id: number; kind: "sync"; card: Card }
  | { type: "run"; id: number; kind: "probe" }
  /**
   * A chunk this cell just stored: pushed to peers at once (sync/eager-push). A small one comes
   * with its sealed bytes while the main thread's budget (MAX_HELD_BYTES, given back by
   * "released") allows; a large one, or one past the budget, by name once it is durable (the
   * Worker reads it from chunks/).
   */
  | { type: "chunk"; hash: string; size: number; bytes: Uint8Array | null }
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
  /** Push on store let go of this many bytes of chunks the main thread posted with their bytes (its budget). */
  | { type: "released"; bytes: number };
