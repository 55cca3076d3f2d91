/**
 * @module ai/peer-answers — the answering cell's side of protocol/ai-chat: a question from a
 * friend becomes a job that generates into a buffer while the friend reads it part by part
 * (long polls). A job belongs to the cell that asked; one nobody reads for a minute is
 * cancelled and dropped. At most 2 jobs per cell and 8 in all run at once (429 beyond).
 * Nothing is stored: the conversation is the asker's.
 */
import { randomBytes } from "node:crypto";
import { errorMessage, GroveError, notFound, badRequest } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { CellId } from "../core/types.ts";
import { MAX_AI_WAIT_MS, type AiDone, type AiPart, type AiQuestion } from "../protocol/ai-chat.ts";
import { answerDigest, type AnswerEvent } from "./answer.ts";
import { shortId } from "../core/format.ts";

/** A question made ready to run: the model that will answer, and how to run it. */
export interface PreparedAnswer {
  model: string;
  source: "local" | "ollama";
  run(signal: AbortSignal): AsyncGenerator<AnswerEvent>;
}

/** What answering needs: picking the model (throws 4xx before anything runs) and running it. */
export type Prepare = (q: AiQuestion) => Promise<PreparedAnswer>;

interface Job {
  id: string;
  caller: CellId;
  pieces: string[];
  done: AiDone | null;
  error: string | null;
  abort: AbortController;
  touched: number;
  wake: Set<() => void>;
}

export const MAX_JOBS_PER_CELL = 2;
export const MAX_JOBS = 8;
/** A job nobody asked about for this long is cancelled and dropped. */
export const JOB_IDLE_MS = 60_000;

export class PeerAnswers {
  private jobs = new Map<string, Job>();
  private sweeper: ReturnType<typeof setInterval>;

  constructor(
    private prepare: Prepare,
    private idleMs = JOB_IDLE_MS,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(15_000, idleMs));
    this.sweeper.unref?.();
  }

  private running(caller?: CellId): number {
    let n = 0;
    for (const j of this.jobs.values()) if (!j.done && !j.error && (caller === undefined || j.caller === caller)) n++;
    return n;
  }

  /** Start answering `q` for `caller`; the model is chosen (or refused) before this returns. */
  async start(caller: CellId, q: AiQuestion): Promise<Job> {
    if (this.running(caller) >= MAX_JOBS_PER_CELL)
      throw new GroveError(
        `this cell is already answering ${MAX_JOBS_PER_CELL} questions of yours: ask again when one is done`,
        429,
        "busy",
      );
    if (this.running() >= MAX_JOBS)
      throw new GroveError(`this cell is answering ${MAX_JOBS} questions already: ask again later`, 429, "busy");
    const prepared = await this.prepare(q);
    const job: Job = {
      id: randomBytes(16).toString("hex"),
      caller,
      pieces: [],
      done: null,
      error: null,
      abort: new AbortController(),
      touched: Date.now(),
      wake: new Set(),
    };
    this.jobs.set(job.id, job);
    log("info", "answering a friend's question", { from: shortId(caller), model: prepared.model, job: shortId(job.id) });
    void this.drive(job, prepared);
    return job;
  }

  private notify(job: Job): void {
    for (const w of job.wake) w();
    job.wake.clear();
  }

  private async drive(job: Job, p: PreparedAnswer): Promise<void> {
    try {
      for await (const ev of p.run(job.abort.signal)) {
        if ("token" in ev) job.pieces.push(ev.token);
        else {
          job.done = {
            model: p.model,
            source: p.source,
            tokens: ev.tokens,
            prompt_tokens: ev.prompt_tokens,
            ms: Math.round(ev.ms),
            first_token_ms: ev.first_token_ms === null ? null : Math.round(ev.first_token_ms),
            load_ms: Math.round(ev.load_ms),
            pieces: job.pieces.length,
            answer_sha256: answerDigest(job.pieces),
          };
        }
        this.notify(job);
      }
      if (!job.done && !job.error)
        job.error = job.abort.signal.aborted ? "the question was cancelled" : "the model stopped without finishing the answer";
    } catch (e) {
      job.error = errorMessage(e);
      log("warn", "a friend's question failed", { from: shortId(job.caller), why: job.error });
    }
    this.notify(job);
  }

  /** The caller's job `id` (404 for anyone else, or when it is gone). */
  get(caller: CellId, id: string): Job {
    const j = this.jobs.get(id);
    if (!j || j.caller !== caller) throw notFound(`no question ${shortId(id)} of yours here (it finished long ago, or was cancelled)`);
    j.touched = Date.now();
    return j;
  }

  /** The pieces from index `after` on, waiting up to `waitMs` for one when there is none yet. */
  async part(job: Job, after: number, waitMs: number): Promise<AiPart> {
    if (!Number.isInteger(after) || after < 0 || after > job.pieces.length) throw badRequest(`after must be 0 to ${job.pieces.length}`);
    const wait = Math.max(0, Math.min(MAX_AI_WAIT_MS, waitMs));
    if (after === job.pieces.length && !job.done && !job.error && wait > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, wait);
        function done() {
          clearTimeout(t);
          job.wake.delete(done);
          resolve();
        }
        job.wake.add(done);
      });
    }
    job.touched = Date.now();
    // Every piece from `after` on: the part reaches the end of what exists, so it carries
    // `done` or `error` when the answer has ended.
    return { job: job.id, after, pieces: job.pieces.slice(after), done: job.done, error: job.error };
  }

  /** Stop the caller's job (it is dropped). */
  cancel(caller: CellId, id: string): boolean {
    const j = this.jobs.get(id);
    if (!j || j.caller !== caller) return false;
    j.abort.abort();
    this.jobs.delete(id);
    this.notify(j);
    return true;
  }

  private sweep(now = Date.now()): void {
    for (const [id, j] of this.jobs) {
      if (now - j.touched < this.idleMs) continue;
      if (!j.done && !j.error) log("info", "a friend stopped reading its answer: cancelled", { from: shortId(j.caller), job: shortId(id) });
      j.abort.abort();
      this.jobs.delete(id);
    }
  }

  /** Cancel everything (the cell is stopping). */
  close(): void {
    clearInterval(this.sweeper);
    for (const j of this.jobs.values()) j.abort.abort();
    this.jobs.clear();
  }
}
