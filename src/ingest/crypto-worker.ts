/** @module ingest/crypto-worker — Worker entry: seals and opens chunks off the main thread, in the caller's buffers. */
import { selectSuite, type SuiteChoice } from "../crypto/index.ts";
import { openChunk, sealChunk } from "./chunk-crypto.ts";
import type { WorkerReply, WorkerRequest } from "./crypto-pool.ts";

declare const self: Worker;

let suite = selectSuite("auto");

self.onmessage = (ev: MessageEvent<WorkerRequest | { op: "init"; suite: SuiteChoice }>) => {
  const msg = ev.data;
  if (msg.op === "init") {
    suite = selectSuite(msg.suite); // throws (an error event in the pool) when the suite cannot load
    return;
  }
  const input = new Uint8Array(msg.input, 0, msg.inputLen);
  const output = new Uint8Array(msg.output);
  let reply: WorkerReply;
  try {
    if (msg.op === "seal") {
      const r = sealChunk(suite, msg.key, msg.index, input, output);
      reply = { id: msg.id, ok: true, outputLen: r.sealed.byteLength, hash: r.hash, input: msg.input, output: msg.output };
    } else {
      const r = openChunk(suite, msg.key, msg.index, input, msg.expectedHash!, output);
      reply = r.ok
        ? { id: msg.id, ok: true, outputLen: r.plain.byteLength, hash: msg.expectedHash!, input: msg.input, output: msg.output }
        : { id: msg.id, ok: false, reason: r.reason, input: msg.input, output: msg.output };
    }
  } catch (e) {
    reply = { id: msg.id, ok: false, reason: e instanceof Error ? e.message : String(e), input: msg.input, output: msg.output };
  }
  self.postMessage(reply, msg.input === msg.output ? [msg.input] : [msg.input, msg.output]);
};
