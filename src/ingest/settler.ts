/**
 * @module ingest/settler — writes and makes durable, once the store has been quiet for a moment,
 * what a store left for later: manifest files (store/manifest-settle) and the fsync of plaintext
 * copies in GROVE_HOME (ingest/home-copies). Each was recorded in placement.db with its version, so it is
 * found again after a crash; see docs/design.md, "What is durable, and when".
 */
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { settlePending } from "../store/manifest-settle.ts";
import type { PlacementDb } from "../store/placement-db.ts";
import { settleHomeCopies } from "./home-copies.ts";

export class Settler {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> = Promise.resolve();
  /** Home copies recorded before this process began wait for ingest/home-copies' repair (a crash may have torn them). */
  private homeSince = Date.now();
  private stopped = false;
  /** When what waits must be settled, quiet or not (null: nothing waits). */
  private dueBy: number | null = null;

  constructor(
    private readonly db: PlacementDb,
    private readonly dirs: { manifests: string; home: string },
    private readonly quietMs = 2000,
    private readonly maxWaitMs = 30_000,
  ) {}

  /**
   * More was left for later: settle it after the next quiet moment, and within `maxWaitMs` of the
   * first such store even when stores never pause (a file rewritten every second would put it
   * off for ever).
   */
  soon(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const now = Date.now();
    this.dueBy ??= now + this.maxWaitMs;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.dueBy = null;
        void this.now();
      },
      Math.max(0, Math.min(this.quietMs, this.dueBy - now)),
    );
    this.timer.unref?.();
  }

  /** Settle everything pending now (and wait for it). */
  now(): Promise<void> {
    this.running = this.running.then(async () => {
      try {
        await settlePending(this.db, this.dirs.manifests);
        await settleHomeCopies(this.db, this.dirs.home, this.homeSince);
      } catch (e) {
        log("warn", `could not fsync what the last stores wrote yet: ${errorMessage(e)}`);
      }
    });
    return this.running;
  }

  /** The copies from before this process were checked (repairHomeCopies): settle them all from now on. */
  repaired(): void {
    this.homeSince = 0;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
