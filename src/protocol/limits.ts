/**
 * @module protocol/limits — the size of a peer request body the peer API takes (web/peer-api),
 * which a caller sizes what it sends by (mine/my-tree's pokes). Chunks, chunk batches and
 * backups have limits of their own (web/peer-api bodyLimit).
 */

/** Largest peer request body accepted, but for chunks and backups. */
export const MAX_PEER_BODY = 1024 * 1024;
