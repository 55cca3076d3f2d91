/**
 * @module message/inbox-limits — how much one peer may send this cell (a friend is still not
 * trusted to fill its disk): messages per minute (a token bucket, bursts of a quarter of that
 * at most, held in memory) and characters of its messages kept here. Over the rate: 429 saying
 * when to retry, and the sender keeps the message queued; over the storage cap: 507, queued too,
 * until messages are deleted here. A retry of a message already here is never limited.
 */
import type { Database } from "bun:sqlite";
import { GroveError } from "../core/errors.ts";
import type { CellId } from "../core/types.ts";

export interface InboxLimitConfig {
  /** Messages one peer may send per minute (bursts of a quarter of that, at least 1). */
  message_rate_per_minute: number;
  /** Characters of one peer's messages kept here at most. */
  message_store_chars_per_peer: number;
}

export class InboxFull extends GroveError {
  constructor(
    message: string,
    status: 429 | 507,
    /** Seconds until a retry may get through (429 only). */
    readonly retryAfterS: number | null = null,
  ) {
    super(message, status, status === 429 ? "rate_limited" : "inbox_full");
  }
}

export class InboxLimits {
  private buckets = new Map<CellId, { tokens: number; at: number }>();

  constructor(
    private db: Database,
    private config: InboxLimitConfig,
    private clock: () => number = () => performance.now(),
  ) {}

  /** Admit a new message of `chars` characters from `peer`, or throw InboxFull. */
  admit(peer: CellId, chars: number): void {
    const perMs = this.config.message_rate_per_minute / 60_000;
    const burst = Math.max(1, Math.floor(this.config.message_rate_per_minute / 4));
    const now = this.clock();
    const b = this.buckets.get(peer) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + (now - b.at) * perMs);
    b.at = now;
    if (b.tokens < 1) {
      this.buckets.set(peer, b);
      const wait = Math.ceil((1 - b.tokens) / perMs / 1000);
      throw new InboxFull(`over ${this.config.message_rate_per_minute} messages per minute from this cell: retry in ${wait} s`, 429, wait);
    }
    const kept = (
      this.db.query("SELECT COALESCE(SUM(length(text)), 0) AS n FROM messages WHERE peer = ? AND direction = 'in'").get(peer) as {
        n: number;
      }
    ).n;
    if (kept + chars > this.config.message_store_chars_per_peer) {
      throw new InboxFull(
        `this cell keeps ${kept} characters of messages from this cell, at most ${this.config.message_store_chars_per_peer}: delivered once some are deleted there`,
        507,
      );
    }
    b.tokens -= 1;
    this.buckets.set(peer, b);
    if (this.buckets.size > 4096) this.buckets.delete(this.buckets.keys().next().value!); // bounded: the oldest peer's bucket starts full again
  }
}
