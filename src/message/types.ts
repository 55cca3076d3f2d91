/**
 * @module message/types — what messaging shows to the user (CLI, API, dashboard): messages,
 * conversations, and the events a page listens to. The wire format is protocol/message.ts.
 */
import type { CellId } from "../core/types.ts";

export type MessageState = "queued" | "delivered" | "failed";
export type MessageDirection = "out" | "in";

/** One message: `grove msgs ID --json`, GET /api/messages/:peer, POST /api/messages/:peer. */
export interface MessageView {
  id: string;
  /** The other cell: recipient (out) or sender (in). */
  peer: CellId;
  peer_name: string;
  direction: MessageDirection;
  text: string;
  /** Unix ms on the sender's clock. */
  sent_at: number;
  /** in: when it arrived here. */
  received_at: number | null;
  /** out: when the recipient confirmed it. */
  delivered_at: number | null;
  /** in: when it was first shown here (null = unread). */
  read_at: number | null;
  /** in: always "delivered"; out: queued until the recipient confirms, failed when it never can. */
  state: MessageState;
  /** out: why it failed, or (queued) why the last try did not get through. */
  error: string | null;
}

/** One conversation per peer: `grove msgs --json`, GET /api/messages. */
export interface Conversation {
  peer: CellId;
  name: string;
  /** False for a cell that was removed from the fleet (its messages stay listed). */
  paired: boolean;
  last: MessageView | null;
  unread: number;
  queued: number;
  failed: number;
}

/** Something changed in `peer`'s conversation: a new message, or a message's state. */
export interface MessageChange {
  kind: "new" | "state";
  peer: CellId;
  id: string;
}
