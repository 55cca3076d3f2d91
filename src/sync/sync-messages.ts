/** @module sync/sync-messages — what the main thread and the sync Worker say to each other. */
import type { Card } from "../protocol/card.ts";
import type { RoundReport } from "../fleet/prober.ts";
import type { SyncReport } from "./round.ts";

export type ToWorker =
  | { type: "init"; dir: string; home: string }
  | { type: "run"; id: number; kind: "sync"; card: Card }
  | { type: "run"; id: number; kind: "probe" };

export type FromWorker =
  | { type: "ready" }
  | { type: "init-failed"; error: string }
  | { type: "done"; id: number; kind: "sync"; report: SyncReport }
  | { type: "done"; id: number; kind: "probe"; report: RoundReport }
  | { type: "failed"; id: number; error: string };
