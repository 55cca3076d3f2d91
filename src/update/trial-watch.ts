/**
 * @module update/trial-watch — watching a new build on trial (update.json "pending"), for whoever
 * started it (the supervisor, or the old process when there is none): it is up once it marks the
 * record "done" (update/lifecycle, after its stable time); still pending `updateStableMs()` +
 * `updateTrialGraceMs()` after it started, it is hung (alive, never up) and is to be killed and
 * rolled back. One poll of update.json every 250 ms.
 */
import { hungReason, readUpdateRecord, updateStableMs, updateTrialGraceMs } from "./update-state.ts";

export interface TrialEvents {
  /** The record left "pending": "done" (the build marked itself up), else how the trial ended. */
  onSettled?(state: string): void;
  /** Still pending at the deadline: why, in words (for the rollback's reason). */
  onHung(reason: string): void;
}

/** Watch the trial of a build started at `startedAt` (unix ms); returns a stop function. */
export function watchTrial(dir: string, startedAt: number, ev: TrialEvents): () => void {
  const deadline = updateStableMs() + updateTrialGraceMs();
  const timer = setInterval(() => {
    const state = readUpdateRecord(dir)?.state ?? "gone";
    if (state !== "pending") {
      clearInterval(timer);
      return ev.onSettled?.(state);
    }
    if (Date.now() - startedAt < deadline) return;
    clearInterval(timer);
    ev.onHung(hungReason(Date.now() - startedAt));
  }, 250);
  return () => clearInterval(timer);
}
