/**
 * @module sync/peer-link — the owner's side of the sync messages to one peer over its best route
 * (see sync/wire): every request signed, every answer's signature checked, JSON sealed both ways,
 * chunk bytes checked against their names. Counts the bytes it moves for the round's report.
 */
import type { z } from "zod";
import { fromHex, type CellId, type ChunkHash } from "../core/types.ts";
import type { CellKeys } from "../cell/state-dir.ts";
import { callPeerRaw, PeerCallError, refusalText } from "../fleet/peer-client.ts";
import { openJson, sealJson } from "../protocol/sealed-json.ts";
import type { DeleteRequest } from "../protocol/delete-request.ts";
import * as W from "./wire.ts";
import { createHash } from "node:crypto";

export interface LinkTraffic {
  /** Request and answer bodies, bytes (headers not included; the bench measures the wire). */
  sent: number;
  received: number;
}

export class PeerLink {
  readonly traffic: LinkTraffic = { sent: 0, received: 0 };
  private x25519: Uint8Array;

  constructor(
    private keys: CellKeys,
    readonly peer: CellId,
    readonly url: string,
    peerX25519Hex: string,
  ) {
    this.x25519 = fromHex(peerX25519Hex);
  }

  private async raw(method: string, path: string, body?: Uint8Array, timeoutMs = 60_000) {
    const ans = await callPeerRaw(this.keys, this.url, this.peer, method, `/peer/sync/${path}`, body, timeoutMs);
    this.traffic.sent += body?.byteLength ?? 0;
    this.traffic.received += ans.body.byteLength;
    return ans;
  }

  /** A refusal as an error that keeps the peer's status (507 = full, 404 = not kept there). */
  private refused(what: string, status: number, body: Uint8Array): PeerCallError {
    return new PeerCallError(`cell ${this.peer.slice(0, 8)} refused ${what}: ${refusalText(body)}`, status);
  }

  private async sealed<S extends z.ZodTypeAny>(name: string, req: unknown, reply: S): Promise<z.infer<S>> {
    const body = await sealJson(this.x25519, req, W.info(name), this.keys.id);
    const ans = await this.raw("POST", name, body);
    if (ans.status !== 200) throw this.refused(name, ans.status, ans.body);
    const parsed = reply.safeParse(await openJson(this.keys, ans.body, W.replyInfo(name), this.peer));
    if (!parsed.success) throw new PeerCallError(`cell ${this.peer.slice(0, 8)} sent a malformed ${name} answer`);
    return parsed.data;
  }

  inventory(req: W.InventoryRequestT): Promise<W.InventoryReplyT> {
    return this.sealed("inventory", req, W.InventoryReply);
  }

  list(req: W.ListRequestT): Promise<W.ListReplyT> {
    return this.sealed("list", req, W.ListReply);
  }

  audit(req: W.AuditRequestT): Promise<W.AuditReplyT> {
    return this.sealed("audit", req, W.AuditReply);
  }

  async release(chunks: ChunkHash[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < chunks.length; i += W.MAX_RELEASE) n += (await this.sealed("release", { chunks: chunks.slice(i, i + W.MAX_RELEASE) }, W.ReleaseReply)).released;
    return n;
  }

  /** Our signed DeleteRequest: the peer moves those chunks it keeps for us to its trash. */
  delete(request: DeleteRequest): Promise<W.DeleteReplyT> {
    return this.sealed("delete", { request }, W.DeleteReply);
  }

  /** Push one sealed chunk; true when the peer stored it now (false: it had it). */
  async putChunk(hash: ChunkHash, bytes: Uint8Array): Promise<boolean> {
    const ans = await this.raw("PUT", `chunks/${hash}`, bytes);
    if (ans.status !== 200) throw this.refused(`chunk ${hash.slice(0, 12)}`, ans.status, ans.body);
    return W.StoredReply.parse(JSON.parse(new TextDecoder().decode(ans.body))).stored;
  }

  /** Fetch our chunk back; the bytes are checked against the name. */
  async getChunk(hash: ChunkHash): Promise<Uint8Array> {
    const ans = await this.raw("GET", `chunks/${hash}`);
    if (ans.status !== 200) throw this.refused(`chunk ${hash.slice(0, 12)}`, ans.status, ans.body);
    if (createHash("sha256").update(ans.body).digest("hex") !== hash) throw new PeerCallError(`cell ${this.peer.slice(0, 8)} sent chunk ${hash.slice(0, 12)} with the wrong bytes`);
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
