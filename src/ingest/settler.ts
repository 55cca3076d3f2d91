/**
 * @module ingest/settler — makes durable, once the store has been quiet for a moment, what a
 * store wrote without an fsync: manifest files (store/manifest-settle) and plaintext copies in
 * GROVE_HOME (ingest/home-copies). Each was recorded in placement.db with its version, so it is
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

  constructor(
    private readonly db: PlacementDb,
    private readonly dirs: { manifests: string; home: string },
    private readonly quietMs = 2000,
  ) {}

  /** More was written without an fsync: settle it after the next quiet moment. */
  soon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.now();
    }, this.quietMs);
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
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
