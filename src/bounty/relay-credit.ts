/**
 * @module bounty/relay-credit — relay bytes into the bounty ledger (docs/design.md: Bounty). What a relay
 * this cell runs carried for each cell (relay/hub `takeCarried`) is credited to that cell as
 * given; what relays run by proven operators carried for this cell (relay/relay-client
 * `takeCarried`) is credited to the operator as received. Only peers have a ledger: bytes carried
 * for or by other cells are dropped. Flushed every few seconds, before each sync round and before
 * the bounty is shown; a kill loses at most the last few seconds of counts.
 */
import { log } from "../core/log.ts";
import type { CellId } from "../core/types.ts";
import type { BountyLedger } from "./ledger.ts";

/** A counter of bytes carried per cell id that restarts at zero when read. */
export interface CarriedSource {
  takeCarried(): Map<string, number>;
}

export const FLUSH_EVERY_MS = 5_000;

export class RelayCredit {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private ledger: BountyLedger,
    /** The relay this cell runs (config relay_port), or null. */
    private hub: CarriedSource | null,
    /** This cell's relay client. */
    private client: CarriedSource,
  ) {}

  /** Add the counts since the last flush to the ledger. */
  flush(): void {
    try {
      const now = Date.now();
      for (const [cell, n] of this.hub?.takeCarried() ?? []) this.ledger.addRelay(cell as CellId, n, 0, now);
      for (const [operator, n] of this.client.takeCarried()) this.ledger.addRelay(operator as CellId, 0, n, now);
    } catch (e) {
      log("warn", `bounty: relay bytes not recorded: ${(e as Error).message}`);
    }
  }

  start(everyMs = FLUSH_EVERY_MS): this {
    this.timer ??= setInterval(() => this.flush(), everyMs);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
  }
}
