/** @module ingest/crypto-worker — Worker entry: seals and opens chunks off the main thread. */
import { selectSuite, type SuiteChoice } from "../crypto/index.ts";
import { openChunk, sealChunk } from "./chunk-crypto.ts";
import { ownBuffer, type WorkerReply, type WorkerRequest } from "./crypto-pool.ts";

declare const self: Worker;

let suite = selectSuite("auto");

self.onmessage = (ev: MessageEvent<WorkerRequest | { op: "init"; suite: SuiteChoice }>) => {
  const msg = ev.data;
  if (msg.op === "init") {
    suite = selectSuite(msg.suite); // throws (an error event in the pool) when the suite cannot load
    return;
  }
  let reply: WorkerReply;
  try {
    if (msg.op === "seal") {
      const r = sealChunk(suite, msg.key, msg.index, new Uint8Array(msg.data));
      reply = { id: msg.id, ok: true, data: ownBuffer(r.sealed), hash: r.hash };
    } else {
      const r = openChunk(suite, msg.key, msg.index, new Uint8Array(msg.data), msg.expectedHash);
      reply = r.ok ? { id: msg.id, ok: true, data: ownBuffer(r.plain), hash: msg.expectedHash } : { id: msg.id, ok: false, reason: r.reason };
    }
  } catch (e) {
    reply = { id: msg.id, ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
  self.postMessage(reply, reply.ok ? [reply.data] : []);
};
