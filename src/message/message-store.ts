/**
 * @module message/message-store — messages this cell sent and received (placement.db
 * `messages`, schema 008). Every change is one SQL statement, so atomic; a received message is
 * stored at most once (its sender's id is the key).
 */
import type { Database } from "bun:sqlite";
import { conflict } from "../core/errors.ts";
import type { CellId } from "../core/types.ts";
import type { MessageDirection, MessageState } from "./types.ts";

export interface MessageRow {
  id: string;
  peer: CellId;
  direction: MessageDirection;
  text: string;
  sent_at: number;
  at: number;
  received_at: number | null;
  delivered_at: number | null;
  read_at: number | null;
  state: MessageState;
  error: string | null;
}

/** Per-peer counts and the time of the newest message. */
export interface PeerSummary {
  peer: CellId;
  last_at: number;
  unread: number;
  queued: number;
  failed: number;
}

export class MessageStore {
  constructor(private db: Database) {}

  /** A message we are sending, queued until the recipient confirms it. */
  addOut(id: string, peer: CellId, text: string, sentAt: number): MessageRow {
    this.db
      .query("INSERT INTO messages (id, peer, direction, text, sent_at, at, state) VALUES (?, ?, 'out', ?, ?, ?, 'queued')")
      .run(id, peer, text, sentAt, sentAt);
    return this.get(id)!;
  }

  /**
   * A message `from` sent us. False when it is already here (a retry after a lost answer).
   * An id that is already used by another message (ours, or another cell's) is a 409.
   */
  addIn(id: string, from: CellId, text: string, sentAt: number, at = Date.now()): boolean {
    const fresh =
      this.db
        .query(
          "INSERT OR IGNORE INTO messages (id, peer, direction, text, sent_at, at, received_at, state) VALUES (?, ?, 'in', ?, ?, ?, ?, 'delivered')",
        )
        .run(id, from, text, sentAt, at, at).changes > 0;
    if (fresh) return true;
    const had = this.get(id)!;
    if (had.direction !== "in" || had.peer !== from) throw conflict("message id already in use here: send it with a new id");
    return false;
  }

  get(id: string): MessageRow | null {
    return (this.db.query("SELECT * FROM messages WHERE id = ?").get(id) as MessageRow | null) ?? null;
  }

  /** The newest `limit` messages with `peer`, oldest first. */
  conversation(peer: CellId, limit: number): MessageRow[] {
    const rows = this.db.query("SELECT * FROM messages WHERE peer = ? ORDER BY at DESC, id DESC LIMIT ?").all(peer, limit) as MessageRow[];
    return rows.reverse();
  }

  /** Messages still to deliver to `peer`, oldest first. */
  queued(peer: CellId): MessageRow[] {
    return this.db.query("SELECT * FROM messages WHERE peer = ? AND state = 'queued' ORDER BY at, id").all(peer) as MessageRow[];
  }

  /** Peers we have queued messages for. */
  queuedPeers(): CellId[] {
    return (this.db.query("SELECT DISTINCT peer FROM messages WHERE state = 'queued'").values() as [CellId][]).map((r) => r[0]);
  }

  setDelivered(id: string, at = Date.now()): boolean {
    return (
      this.db.query("UPDATE messages SET state = 'delivered', delivered_at = ?, error = NULL WHERE id = ? AND state = 'queued'").run(at, id)
        .changes > 0
    );
  }

  setFailed(id: string, reason: string): boolean {
    return this.db.query("UPDATE messages SET state = 'failed', error = ? WHERE id = ? AND state = 'queued'").run(reason, id).changes > 0;
  }

  /** Why the last try to deliver a queued message did not get through (it stays queued). */
  setError(id: string, reason: string): void {
    this.db.query("UPDATE messages SET error = ? WHERE id = ? AND state = 'queued'").run(reason, id);
  }

  /** Mark what `peer` sent us as read; returns how many were unread. */
  markRead(peer: CellId, at = Date.now()): number {
    return this.db.query("UPDATE messages SET read_at = ? WHERE peer = ? AND direction = 'in' AND read_at IS NULL").run(at, peer).changes;
  }

  /**
   * Queued messages to cells that are no longer peers become failed with `reason`. Returns
   * them (id and peer), for the pages showing them.
   */
  failOrphans(reason: string): { id: string; peer: CellId }[] {
    return this.db
      .query(
        "UPDATE messages SET state = 'failed', error = ? WHERE state = 'queued' AND peer NOT IN (SELECT id FROM peers) RETURNING id, peer",
      )
      .all(reason) as { id: string; peer: CellId }[];
  }

  /** Counts and the newest message's time, for every peer we have messages with. */
  summaries(): PeerSummary[] {
    return this.db
      .query(
        `SELECT peer, MAX(at) AS last_at,
                SUM(direction = 'in' AND read_at IS NULL) AS unread,
                SUM(state = 'queued') AS queued,
                SUM(state = 'failed') AS failed
         FROM messages GROUP BY peer`,
      )
      .all() as PeerSummary[];
  }

  /** The newest message with `peer`. */
  last(peer: CellId): MessageRow | null {
    return (
      (this.db.query("SELECT * FROM messages WHERE peer = ? ORDER BY at DESC, id DESC LIMIT 1").get(peer) as MessageRow | null) ?? null
    );
  }

  /** Peers (ids) we have messages with whose id starts with `prefix`. */
  peersMatching(prefix: string): CellId[] {
    return (
      this.db.query("SELECT DISTINCT peer FROM messages WHERE substr(peer, 1, ?) = ?").values(prefix.length, prefix) as [CellId][]
    ).map((r) => r[0]);
  }
}
