/**
 * @module ingest/crypto-pool — runs chunk sealing/opening on every core.
 *
 * `CryptoPool` has two implementations: `InlinePool` (main thread; used with one core or in
 * tests) and `WorkerPool` (Bun Workers running crypto-worker.ts, buffers transferred, not
 * copied). Callers keep a bounded number of chunks in flight, so memory stays bounded.
 */
import { availableParallelism } from "node:os";
import type { CipherSuite, SuiteChoice } from "../crypto/index.ts";
import { openChunk, sealChunk, type OpenResult, type SealedChunk } from "./chunk-crypto.ts";
import { log } from "../core/log.ts";

export type WorkerRequest =
  | { op: "seal"; id: number; key: Uint8Array; index: number; data: ArrayBuffer }
  | { op: "open"; id: number; key: Uint8Array; index: number; data: ArrayBuffer; expectedHash: string };

export type WorkerReply = { id: number; ok: true; data: ArrayBuffer; hash: string } | { id: number; ok: false; reason: string };

export interface CryptoPool {
  /** How many chunks are worth keeping in flight. */
  readonly parallelism: number;
  seal(key: Uint8Array, index: number, plain: Uint8Array): Promise<SealedChunk>;
  open(key: Uint8Array, index: number, sealed: Uint8Array, expectedHash: string): Promise<OpenResult>;
  close(): void;
}

/** An ArrayBuffer holding exactly the bytes of `u8` (copies only when `u8` is a view into a larger buffer). */
export function ownBuffer(u8: Uint8Array): ArrayBuffer {
  if (u8.byteOffset === 0 && u8.byteLength === u8.buffer.byteLength && u8.buffer instanceof ArrayBuffer) return u8.buffer;
  return u8.slice().buffer as ArrayBuffer;
}

export class InlinePool implements CryptoPool {
  readonly parallelism = 2;
  constructor(private suite: CipherSuite) {}
  async seal(key: Uint8Array, index: number, plain: Uint8Array) {
    return sealChunk(this.suite, key, index, plain);
  }
  async open(key: Uint8Array, index: number, sealed: Uint8Array, expectedHash: string) {
    return openChunk(this.suite, key, index, sealed, expectedHash);
  }
  close() {}
}

type Pending = { resolve: (r: WorkerReply) => void; reject: (e: Error) => void };

/**
 * Chunks sealed/opened on Bun Workers. If a Worker fails (it cannot load, or crashes), the
 * requests it held are rejected with a clear error and the pool carries on in-process, so a
 * broken Worker never leaves an upload or download waiting forever.
 */
export class WorkerPool implements CryptoPool {
  readonly parallelism: number;
  private workers: Worker[] = [];
  private pending = new Map<number, Pending & { worker: number }>();
  private load: number[];
  private nextId = 1;
  private fallback: InlinePool | null = null;

  constructor(size: number, private suite: CipherSuite, choice: SuiteChoice) {
    this.parallelism = size * 2;
    this.load = new Array(size).fill(0);
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL("./crypto-worker.ts", import.meta.url).href);
      w.postMessage({ op: "init", suite: choice });
      w.onmessage = (ev: MessageEvent<WorkerReply>) => {
        const p = this.pending.get(ev.data.id);
        if (!p) return;
        this.pending.delete(ev.data.id);
        this.load[i]!--;
        p.resolve(ev.data);
      };
      w.onerror = (ev) => this.fail(`crypto worker failed: ${ev.message}`);
      this.workers.push(w);
    }
  }

  /** Give up on the Workers: reject what they hold, and run everything in-process from now on. */
  private fail(reason: string): void {
    if (this.fallback) return;
    log("error", `${reason}; continuing with in-process crypto`);
    this.fallback = new InlinePool(this.suite);
    for (const w of this.workers) w.terminate();
    this.workers = [];
    const err = new Error(reason);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private send(req: WorkerRequest): Promise<WorkerReply> {
    let best = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[best]!) best = i;
    this.load[best]!++;
    return new Promise((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject, worker: best });
      this.workers[best]!.postMessage(req, [req.data]);
    });
  }

  async seal(key: Uint8Array, index: number, plain: Uint8Array): Promise<SealedChunk> {
    if (this.fallback) return this.fallback.seal(key, index, plain);
    const r = await this.send({ op: "seal", id: this.nextId++, key, index, data: ownBuffer(plain) });
    if (!r.ok) throw new Error(r.reason);
    return { sealed: new Uint8Array(r.data), hash: r.hash };
  }

  async open(key: Uint8Array, index: number, sealed: Uint8Array, expectedHash: string): Promise<OpenResult> {
    if (this.fallback) return this.fallback.open(key, index, sealed, expectedHash);
    const r = await this.send({ op: "open", id: this.nextId++, key, index, data: ownBuffer(sealed), expectedHash });
    return r.ok ? { ok: true, plain: new Uint8Array(r.data) } : { ok: false, reason: r.reason };
  }

  close(): void {
    for (const w of this.workers) w.terminate();
    this.workers = [];
  }
}

/** The pool for this machine: workers = configured count, or one per core (max 4); inline on one core. */
export function createPool(suite: CipherSuite, workers: number, choice: SuiteChoice): CryptoPool {
  const n = workers > 0 ? workers : Math.min(4, availableParallelism());
  if (n <= 1 || process.env.GROVE_INLINE_CRYPTO === "1") return new InlinePool(suite);
  return new WorkerPool(n, suite, choice);
}
