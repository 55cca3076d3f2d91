/**
 * @module ingest/crypto-pool — runs chunk sealing/opening on every core.
 *
 * `CryptoPool` has two implementations: `InlinePool` (main thread; used with one core or in
 * tests) and `WorkerPool` (Bun Workers running crypto-worker.ts). Callers pass the input and
 * an output buffer; both are transferred to the worker (not copied) and come back with the
 * reply, so a caller recycling its buffers allocates nothing per chunk. Callers keep a bounded
 * number of chunks in flight, so memory stays bounded.
 */
import { availableParallelism } from "node:os";
import type { CipherSuite, SuiteChoice } from "../crypto/index.ts";
import { openChunk, sealChunk, type OpenResult } from "./chunk-crypto.ts";
import { log } from "../core/log.ts";

/** Main thread -> worker. `input`/`output` are whole transferred buffers; `inputLen` bytes of input are used. */
export type WorkerRequest = {
  op: "seal" | "open";
  id: number;
  key: Uint8Array;
  index: number;
  input: ArrayBuffer;
  inputLen: number;
  output: ArrayBuffer;
  expectedHash?: string;
};

/** Worker -> main thread: the same two buffers back, and the result's length in `output`. */
export type WorkerReply = {
  id: number;
  input: ArrayBuffer;
  output: ArrayBuffer;
} & ({ ok: true; outputLen: number; hash: string } | { ok: false; reason: string });

export interface SealResult {
  /** The sealed bytes (a view of the `out` buffer passed in). */
  sealed: Uint8Array;
  /** The plaintext buffer handed in, owned by the caller again. */
  plain: Uint8Array;
  hash: string;
}

export interface OpenReply {
  result: OpenResult;
  /** The sealed buffer handed in, owned by the caller again. */
  sealed: Uint8Array;
}

export interface CryptoPool {
  /** How many chunks are worth keeping in flight. */
  readonly parallelism: number;
  /** Seal `plain` into `out` (>= plain + 16 bytes; may be the buffer holding `plain`: sealed in place). Both buffers are taken over until the promise settles. */
  seal(key: Uint8Array, index: number, plain: Uint8Array, out: Uint8Array): Promise<SealResult>;
  /** Verify and open `sealed` into `out` (>= sealed - 16 bytes; may be the buffer holding `sealed`: opened in place). */
  open(key: Uint8Array, index: number, sealed: Uint8Array, out: Uint8Array, expectedHash: string): Promise<OpenReply>;
  close(): void;
}

/** An ArrayBuffer whose bytes start with `u8` and that may be transferred (copies only a view into someone else's buffer). */
function transferable(u8: Uint8Array): ArrayBuffer {
  if (u8.byteOffset === 0 && u8.buffer instanceof ArrayBuffer) return u8.buffer;
  return u8.slice().buffer as ArrayBuffer;
}

export class InlinePool implements CryptoPool {
  readonly parallelism = 2;
  constructor(private suite: CipherSuite) {}
  async seal(key: Uint8Array, index: number, plain: Uint8Array, out: Uint8Array): Promise<SealResult> {
    const r = sealChunk(this.suite, key, index, plain, out);
    return { sealed: r.sealed, plain, hash: r.hash };
  }
  async open(key: Uint8Array, index: number, sealed: Uint8Array, out: Uint8Array, expectedHash: string): Promise<OpenReply> {
    return { result: openChunk(this.suite, key, index, sealed, expectedHash, out), sealed };
  }
  close() {}
}

type Pending = { resolve: (r: WorkerReply) => void; reject: (e: Error) => void; worker: number };

/** A pool's Workers are retired after this long without work (made again at the next chunk). */
export const WORKER_IDLE_MS = 30_000;

/**
 * Chunks sealed/opened on Bun Workers. If a Worker fails (it cannot load, or crashes), the
 * requests it held are rejected with a clear error and the pool carries on in-process, so a
 * broken Worker never leaves an upload or download waiting forever.
 *
 * The Workers are made when the first chunk comes, and retired once the pool has had no work for
 * `idleMs`: each is a JavaScript VM of its own (about 7 MiB of a cell's memory while it lives,
 * issue 21), and a cell that only keeps its peers' sealed chunks, or stores small files (sealed
 * on the main thread), never needs them. The first large chunk after a quiet spell waits for
 * them to start (tens of ms).
 */
export class WorkerPool implements CryptoPool {
  readonly parallelism: number;
  private workers: Worker[] = [];
  private pending = new Map<number, Pending>();
  private load: number[] = [];
  private nextId = 1;
  private fallback: InlinePool | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private size: number,
    private suite: CipherSuite,
    private choice: SuiteChoice,
    private idleMs = WORKER_IDLE_MS,
  ) {
    // Two chunks per Worker: one sealing while the other is read or written. Three held 8 MiB
    // more of a cell's peak for no faster put (1 GiB put, 2 Workers: 4.70-4.72 s with two,
    // 4.72-5.31 s with three; peak RSS 152-156 vs 159-160 MiB, bench/replicate.ts b).
    this.parallelism = size * 2;
  }

  /** How many Workers are alive now. */
  get live(): number {
    return this.workers.length;
  }

  private spawn(): void {
    this.load = new Array(this.size).fill(0);
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(new URL("./crypto-worker.ts", import.meta.url).href);
      w.postMessage({ op: "init", suite: this.choice });
      w.onmessage = (ev: MessageEvent<WorkerReply>) => {
        const p = this.pending.get(ev.data.id);
        if (!p) return;
        this.pending.delete(ev.data.id);
        this.load[i]!--;
        p.resolve(ev.data);
        if (!this.pending.size) this.retireLater();
      };
      w.onerror = (ev) => this.fail(`crypto worker failed: ${ev.message}`);
      this.workers.push(w);
    }
  }

  /** Retire the Workers once no work came for idleMs. */
  private retireLater(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending.size) return;
      for (const w of this.workers) w.terminate();
      this.workers = [];
    }, this.idleMs);
    this.idleTimer.unref?.();
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
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (!this.workers.length) this.spawn();
    let best = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[best]!) best = i;
    this.load[best]!++;
    return new Promise((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject, worker: best });
      const transfer = req.input === req.output ? [req.input] : [req.input, req.output];
      this.workers[best]!.postMessage(req, transfer);
    });
  }

  async seal(key: Uint8Array, index: number, plain: Uint8Array, out: Uint8Array): Promise<SealResult> {
    if (this.fallback) return this.fallback.seal(key, index, plain, out);
    const r = await this.send({
      op: "seal",
      id: this.nextId++,
      key,
      index,
      input: transferable(plain),
      inputLen: plain.byteLength,
      output: transferable(out),
    });
    if (!r.ok) throw new Error(r.reason);
    return { sealed: new Uint8Array(r.output, 0, r.outputLen), plain: new Uint8Array(r.input, 0, plain.byteLength), hash: r.hash };
  }

  async open(key: Uint8Array, index: number, sealed: Uint8Array, out: Uint8Array, expectedHash: string): Promise<OpenReply> {
    if (this.fallback) return this.fallback.open(key, index, sealed, out, expectedHash);
    const len = sealed.byteLength;
    const r = await this.send({
      op: "open",
      id: this.nextId++,
      key,
      index,
      input: transferable(sealed),
      inputLen: len,
      output: transferable(out),
      expectedHash,
    });
    const back = new Uint8Array(r.input, 0, len);
    return r.ok
      ? { result: { ok: true, plain: new Uint8Array(r.output, 0, r.outputLen) }, sealed: back }
      : { result: { ok: false, reason: r.reason }, sealed: back };
  }

  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
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
