/**
 * @module relay/free-buffer — gives a large buffer's memory back at once, for a buffer this code
 * alone holds and is done with: ArrayBuffer.prototype.transfer(0) detaches it, and its bytes are
 * freed there and then. Left to the collector, the megabytes of a relay call (its frames, its
 * body put together, a body handed over by the sync Worker) piled up into hundreds of MiB on a
 * cell's main thread (issue 21): the collector runs on how many objects are made, and these are
 * few and large. Every view of the buffer reads as empty afterwards, so only its owner may call this.
 */

/** Below this a buffer is left to the collector (it costs little while it waits). */
const MIN_BYTES = 64 * 1024;

/** Free the buffer under `u` now (nothing else may use it any more). */
export function freeBuffer(u: Uint8Array | ArrayBuffer | null | undefined): void {
  const b = u instanceof ArrayBuffer ? u : u?.buffer;
  if (!(b instanceof ArrayBuffer) || b.detached || b.byteLength < MIN_BYTES) return;
  b.transfer(0);
}
