/**
 * @module share/types — what sharing shows to the user (CLI, API, dashboard): the grants this
 * cell made (shares) and received (feed), and the service behind them. The grant format itself
 * is in protocol/grant.ts.
 */
import type { CellId } from "../core/types.ts";

export type ShareState = "active" | "revoked" | "expired";
export type FeedState = "available" | "revoked" | "expired";

/** A grant this cell made: `grove shares`, GET /api/shares. */
export interface ShareView {
  id: string;
  path: string;
  filename: string;
  file_type: string;
  size: number;
  to: CellId;
  to_name: string;
  granted_at: number;
  /** null = does not expire. */
  expires_at: number | null;
  state: ShareState;
  /** The recipient confirmed it has the grant. */
  delivered: boolean;
  /**
   * Set by `share` when the friend could not take it now (unreachable, busy, not yet told of the
   * friendship): why. It is kept and sent again after each sync round. (A grant the friend refused
   * is not kept: `share` fails with the reason.)
   */
  delivery_error?: string;
}

/** A grant this cell received: `grove feed`, GET /api/feed (contract: id, from, filename, size, state). */
export interface FeedItem {
  id: string;
  from: CellId;
  from_name: string;
  filename: string;
  file_type: string;
  size: number;
  granted_at: number;
  expires_at: number | null;
  received_at: number;
  state: FeedState;
}

/** The sharing service a cell runs (share/sharing.ts); the web and CLI layers only translate. */
export interface SharingService {
  /** Share the current version of `path` with the friend `peer` (id or unique prefix). */
  share(path: string, peer: string, expiresInS?: number): Promise<ShareView>;
  shares(): ShareView[];
  /** Revoke one of our grants; tells the recipient and our peers. */
  revoke(id: string): Promise<ShareView>;
  feed(): FeedItem[];
  feedItem(id: string): FeedItem;
  /**
   * The received file's verified plaintext, fetched from the sharer or any peer holding its
   * chunks. Rejects (before any byte) when revoked, expired or unreachable everywhere.
   */
  open(id: string): Promise<{ item: FeedItem; body: ReadableStream<Uint8Array> }>;
}
