/**
 * @module sync/peer-link — the owner's side of the sync messages to one peer over its best route
 * (see sync/wire): every request signed, every answer's signature checked, JSON sealed both ways,
 * chunk bytes checked against their names. Counts the bytes it moves for the round's report.
 */
import { sha256Hex } from "../core/sha256.ts";
import type { z } from "zod";
import { fromHex, type CellId, type ChunkHash } from "../core/types.ts";
import type { CellKeys } from "../crypto/keys.ts";
import { callPeerRaw, PeerCallError, refusalText, type PeerCaller } from "../net/peer-client.ts";
import { openJson, sealJson } from "../protocol/sealed-json.ts";
import type { DeleteRequest } from "../protocol/delete-request.ts";
import * as W from "./wire.ts";
import { shortId } from "../core/format.ts";

export interface LinkTraffic {
  /** Request and answer bodies, bytes (headers not included; the bench measures the wire). */
  sent: number;
  received: number;
}

/** Timeout of a call whose request and answer are small and bounded. */
const SMALL_TIMEOUT_MS = 20_000;
/** Timeout of an unwatched chunk transfer (fsck's repair). */
const TRANSFER_TIMEOUT_MS = 60_000;
/**
 * Timeout of a chunk transfer watched by its caller (`signal`: the sync round pings the peer every
 * 15 s while it runs and aborts on silence): long enough for a 4 MiB chunk on a slow uplink
 * (3 at once at 1 Mbit/s take ~100 s each), since a dead peer is caught by the watch instead.
 */
const WATCHED_TRANSFER_TIMEOUT_MS = 15 * 60_000;

export class PeerLink {
  readonly traffic: LinkTraffic = { sent: 0, received: 0 };
  private x25519: Uint8Array;

  constructor(
    private caller: PeerCaller,
    readonly peer: CellId,
    readonly url: string,
    peerX25519Hex: string,
  ) {
    this.x25519 = fromHex(peerX25519Hex);
  }

  private async raw(method: string, path: string, body?: Uint8Array, timeoutMs = 60_000, signal?: AbortSignal) {
    const ans = await callPeerRaw(this.caller, this.url, this.peer, method, `/peer/sync/${path}`, body, timeoutMs, signal);
    this.traffic.sent += body?.byteLength ?? 0;
    this.traffic.received += ans.body.byteLength;
    return ans;
  }

  /** A refusal as an error that keeps the peer's status (507 = full, 404 = not kept there). */
  private refused(what: string, status: number, body: Uint8Array): PeerCallError {
    return new PeerCallError(`cell ${shortId(this.peer)} refused ${what}: ${refusalText(body)}`, status);
  }

  private async sealed<S extends z.ZodTypeAny>(name: string, req: unknown, reply: S, timeoutMs?: number): Promise<z.infer<S>> {
    const body = await sealJson(this.x25519, req, W.info(name), this.caller.keys.id);
    const ans = await this.raw("POST", name, body, timeoutMs);
    if (ans.status !== 200) throw this.refused(name, ans.status, ans.body);
    const parsed = reply.safeParse(await openJson(this.caller.keys, ans.body, W.replyInfo(name), this.peer));
    if (!parsed.success) throw new PeerCallError(`cell ${shortId(this.peer)} sent a malformed ${name} answer`);
    return parsed.data;
  }

  /** A small, bounded message (two digests each way): a shorter timeout than transfers. */
  inventory(req: W.InventoryRequestT): Promise<W.InventoryReplyT> {
    return this.sealed("inventory", req, W.InventoryReply, SMALL_TIMEOUT_MS);
  }

  list(req: W.ListRequestT): Promise<W.ListReplyT> {
    return this.sealed("list", req, W.ListReply);
  }

  audit(req: W.AuditRequestT): Promise<W.AuditReplyT> {
    // The holder reads and hashes each challenged chunk (up to 4 MiB): a second each on top.
    return this.sealed("audit", req, W.AuditReply, SMALL_TIMEOUT_MS + req.challenges.length * 1000);
  }

  async release(chunks: ChunkHash[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < chunks.length; i += W.MAX_RELEASE)
      n += (await this.sealed("release", { chunks: chunks.slice(i, i + W.MAX_RELEASE) }, W.ReleaseReply)).released;
    return n;
  }

  /** Our signed DeleteRequest: the peer moves those chunks it keeps for us to its trash. */
  delete(request: DeleteRequest): Promise<W.DeleteReplyT> {
    return this.sealed("delete", { request }, W.DeleteReply);
  }

  /** Push one sealed chunk; true when the peer stored it now (false: it had it). `signal` aborts it. */
  async putChunk(hash: ChunkHash, bytes: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    const ans = await this.raw("PUT", `chunks/${hash}`, bytes, signal ? WATCHED_TRANSFER_TIMEOUT_MS : TRANSFER_TIMEOUT_MS, signal);
    if (ans.status !== 200) throw this.refused(`chunk ${hash.slice(0, 12)}`, ans.status, ans.body);
    return W.StoredReply.parse(JSON.parse(new TextDecoder().decode(ans.body))).stored;
  }

  /**
   * Push several small sealed chunks in one request (POST /peer/sync/chunks): what became of each,
   * in order. A peer whose build lacks batches answers 404 (PeerCallError status 404). `body`: the
   * batch already encoded (sync/batch-body), exactly these chunks in this order; else it is encoded here.
   */
  async putChunks(
    chunks: readonly { hash: ChunkHash; bytes: Uint8Array }[],
    signal?: AbortSignal,
    body?: Uint8Array,
  ): Promise<W.ChunkBatchResult[]> {
    const ans = await this.raw(
      "POST",
      "chunks",
      body ?? W.encodeChunkBatch(chunks),
      signal ? WATCHED_TRANSFER_TIMEOUT_MS : TRANSFER_TIMEOUT_MS,
      signal,
    );
    if (ans.status !== 200) throw this.refused(`${chunks.length} chunks`, ans.status, ans.body);
    const r = W.ChunkBatchReply.safeParse(JSON.parse(new TextDecoder().decode(ans.body)));
    if (!r.success || r.data.results.length !== chunks.length)
      throw new PeerCallError(`cell ${shortId(this.peer)} sent a malformed answer to a chunk batch`);
    return r.data.results;
  }

  /** Fetch our chunk back; the bytes are checked against the name. `signal` aborts it. */
  async getChunk(hash: ChunkHash, signal?: AbortSignal): Promise<Uint8Array> {
    const ans = await this.raw("GET", `chunks/${hash}`, undefined, signal ? WATCHED_TRANSFER_TIMEOUT_MS : TRANSFER_TIMEOUT_MS, signal);
    if (ans.status !== 200) throw this.refused(`chunk ${hash.slice(0, 12)}`, ans.status, ans.body);
    if (sha256Hex(ans.body) !== hash)
      throw new PeerCallError(`cell ${shortId(this.peer)} sent chunk ${hash.slice(0, 12)} with the wrong bytes`);
    return ans.body;
  }

  /** Several backups in one request (stored all or none). */
  async putBackups(frames: readonly W.BackupFrame[]): Promise<void> {
    const ans = await this.raw("POST", "backups", W.encodeBackupBatch(frames));
    if (ans.status !== 200) throw this.refused(`${frames.length} backups`, ans.status, ans.body);
  }

  /** A backup blob ("index" = the current index), or null when the peer keeps none. */
  async getBackup(name: string): Promise<Uint8Array | null> {
    const ans = await this.raw("GET", `backup/${name}`);
    if (ans.status === 404) return null;
    if (ans.status !== 200) throw this.refused(`backup ${name.slice(0, 12)}`, ans.status, ans.body);
    return ans.body;
  }
}
