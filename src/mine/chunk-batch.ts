/**
 * @module mine/chunk-batch — many small sealed chunks from one cell of mine in one signed round
 * trip: POST /peer/tree/chunks (docs/protocol.md, protocol 1.2). A folder of small files another
 * cell of mine stored costs one request per batch here, not one per file.
 *
 * The request names up to MAX_BATCH_CHUNKS chunks; the answer carries, in the order asked, the
 * frames (sync/wire's chunk batch: name ‖ length ‖ sealed bytes) of those the cell holds, up to
 * MAX_CHUNK_BATCH_BODY bytes (a relay frame), each checked against its name here. A chunk left
 * out is not an error: the caller asks for it alone.
 */
import { z } from "zod";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { shortId } from "../core/format.ts";
import { sha256Hex } from "../core/sha256.ts";
import type { CellId } from "../core/types.ts";
import { callPeerRaw, type PeerCaller } from "../net/peer-client.ts";
import { CHUNK_FRAME_HEAD, MAX_BATCH_CHUNKS, MAX_CHUNK_BATCH_BODY, decodeChunkBatch } from "../protocol/chunk-frames.ts";

/** POST /peer/tree/chunks body. */
export const ChunkBatchRequest = z.object({
  hashes: z
    .array(z.string().regex(/^[0-9a-f]{64}$/))
    .min(1)
    .max(MAX_BATCH_CHUNKS),
});

/** A sealed chunk is at least its AEAD tag. */
const MIN_SEALED = 16;

/** Split `want` into requests whose answers fit one batch body (count and bytes). */
export function chunkBatches(want: readonly { hash: string; size: number }[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let bytes = 0;
  for (const w of want) {
    const n = CHUNK_FRAME_HEAD + w.size;
    if (cur.length && (cur.length >= MAX_BATCH_CHUNKS || bytes + n > MAX_CHUNK_BATCH_BODY)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(w.hash);
    bytes += n;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Ask `cell` (over `routes`, best first) for `hashes`. The chunks it sent, by name, each
 * verified, and whether it answered (what it left out, it does not hold or could not fit);
 * "unsupported" when it answers 404 (an older build without the route). A cell that cannot be
 * reached, or sends a malformed batch, gives none and `answered` false (a malformed one logged):
 * the caller asks another cell, or one chunk at a time.
 */
export async function askChunkBatch(
  caller: PeerCaller,
  routes: readonly string[],
  cell: CellId,
  hashes: readonly string[],
  timeoutMs: number,
): Promise<{ got: Map<string, Uint8Array>; answered: boolean } | "unsupported"> {
  const got = new Map<string, Uint8Array>();
  for (const url of routes) {
    let ans: { status: number; body: Uint8Array };
    try {
      ans = await callPeerRaw(caller, url, cell, "POST", "/peer/tree/chunks", { hashes }, timeoutMs);
    } catch {
      continue; // another route of it may answer
    }
    if (ans.status === 404) return "unsupported";
    if (ans.status !== 200) {
      log("warn", "tree: a cell of mine refused a chunk batch", { cell: shortId(cell), status: ans.status });
      return { got, answered: false };
    }
    if (!ans.body.byteLength) return { got, answered: true }; // it holds none of them
    const asked = new Set(hashes);
    try {
      for (const c of decodeChunkBatch(ans.body, sha256Hex, MIN_SEALED)) if (asked.has(c.hash)) got.set(c.hash, c.bytes);
    } catch (e) {
      log("warn", "tree: a cell of mine sent a chunk batch that does not check out; asking chunk by chunk", {
        cell: shortId(cell),
        error: errorMessage(e),
      });
      return { got, answered: false };
    }
    return { got, answered: true };
  }
  return { got, answered: false };
}
