/**
 * @module core/drain-pool — up to `n` loops draining a queue its owner keeps. `kick()` (after
 * adding work) starts loops while fewer than `n` run and work waits, so work added while others
 * are in flight runs beside them rather than behind them. A loop ends when `step` finds nothing to
 * do; `idle()` resolves once none runs.
 */
import { errorMessage } from "./errors.ts";
import { log } from "./log.ts";

export class DrainPool {
  private readonly loops = new Set<Promise<void>>();

  /**
   * `hasWork`: work waits in the owner's queue. `step`: take some of it synchronously (before its
   * first await) and do it; false when there was none.
   */
  constructor(
    private readonly n: number,
    private readonly hasWork: () => boolean,
    private readonly step: () => Promise<boolean>,
  ) {}

  /** Loops running now. */
  get running(): number {
    return this.loops.size;
  }

  kick(): void {
    while (this.loops.size < this.n && this.hasWork()) {
      const loop: Promise<void> = this.loop()
        .catch((e) => log("error", `a queue's worker stopped: ${errorMessage(e)}`)) // `step` should not throw; if it does, the others go on
        .finally(() => {
          this.loops.delete(loop);
          this.kick(); // work added as this loop was ending
        });
      this.loops.add(loop);
    }
  }

  /** Resolves once no loop runs (work added meanwhile included). */
  async idle(): Promise<void> {
    while (this.loops.size) await Promise.all([...this.loops]);
  }

  private async loop(): Promise<void> {
    while (await this.step());
  }
}
