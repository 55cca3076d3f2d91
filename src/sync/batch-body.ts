/**
 * @module sync/batch-body — a chunk batch's body (POST /peer/sync/chunks, protocol/chunk-frames)
 * built in place in a reused buffer: each frame's header is written, then its chunk's bytes are
 * copied in or read from chunks/ straight into the frame. So a batch costs no buffer of its own
 * (nor one per chunk read), only the pooled one, which a sender keeps a fixed few of.
 */
import { fromHex, type ChunkHash } from "../core/types.ts";
import { CHUNK_FRAME_HEAD, MAX_BATCH_CHUNKS } from "./wire.ts";

export class BatchBody {
  private end = 0;
  private last = 0;
  private count = 0;
  private readonly view: DataView;

  /** `buf`: where the body is built (at least MAX_CHUNK_BATCH_BODY bytes for a full batch). */
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /**
   * A frame for chunk `hash` of `size` sealed bytes: its header written, the view its bytes go
   * into returned (fill it whole). Null when the batch has no room left for it.
   */
  frame(hash: ChunkHash, size: number): Uint8Array | null {
    const o = this.end;
    if (this.count >= MAX_BATCH_CHUNKS || o + CHUNK_FRAME_HEAD + size > this.buf.byteLength) return null;
    this.buf.set(fromHex(hash), o);
    this.view.setUint32(o + 32, size);
    this.last = o;
    this.end = o + CHUNK_FRAME_HEAD + size;
    this.count++;
    return this.buf.subarray(o + CHUNK_FRAME_HEAD, this.end);
  }

  /** Take back the frame just made (its chunk could not be read). */
  undo(): void {
    if (!this.count || this.end === this.last) return;
    this.end = this.last;
    this.count--;
  }

  /** The body so far: the frames in the order they were made. */
  get body(): Uint8Array {
    return this.buf.subarray(0, this.end);
  }
}
