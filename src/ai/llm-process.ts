/**
 * @module ai/llm-process — the cell's side of the model host (ai/llm-host): starts the child
 * process when a question comes, sends requests one at a time, turns its stdout lines into
 * events, and stops it after an idle time. When the child dies (llama.cpp aborted on a broken
 * model, or it was killed), the request in flight fails with the exit status and the last
 * llama.cpp complaint, and the next request starts a new child: the cell keeps serving.
 */
import type { Subprocess } from "bun";
import { selfCommand } from "../core/build-info.ts";
import { GroveError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { HostEvent, LLM_HOST_ARG, type ChatRequest } from "./llm-protocol.ts";
import { textLines } from "../core/lines.ts";

/** How to start the host: the compiled executable runs itself, the source runs src/cli.ts. */
export function defaultHostCommand(): string[] {
  return [...selfCommand(), LLM_HOST_ARG];
}

export interface LlmProcessOptions {
  command?: string[];
  /** Stop the child after this long without a request (it is started again on the next). */
  idleMs: number;
}

/** A model host failure, for the caller (HTTP 502: the model, not the request, is at fault). */
export const modelFailed = (msg: string) => new GroveError(msg, 502, "model_failed");

/** A small async queue: producers push, one consumer iterates until end or failure. */
class EventQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  ended = false;
  /** Resolves when the stream is over, however it ended. */
  readonly closed: Promise<void>;
  private close!: () => void;

  constructor() {
    this.closed = new Promise((r) => (this.close = r));
  }
  push(v: T): void {
    this.items.push(v);
    this.wake?.();
  }
  end(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err ?? null;
    this.close();
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.items.length) {
        yield this.items.shift()!;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
}

type Proc = Subprocess<"pipe", "pipe", "pipe">;

/** One child process and the requests sent to it. */
interface Child {
  proc: Proc;
  pending: Map<number, EventQueue<HostEvent>>;
  /** Its last stderr lines, to explain a crash. */
  tail: string[];
  /** Stopped on purpose (idle, shutdown): not a crash. */
  stopping: boolean;
}

export class LlmProcess {
  private child: Child | null = null;
  private nextId = 0;
  private lock: Promise<void> = Promise.resolve();
  private waiting = 0;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly command: string[];
  /** Children started so far (a restart after a crash counts). */
  starts = 0;

  constructor(private opts: LlmProcessOptions) {
    this.command = opts.command ?? defaultHostCommand();
  }

  /** pid of the running child, or null. */
  get pid(): number | null {
    return this.child?.proc.pid ?? null;
  }

  private start(): Child {
    const proc = Bun.spawn(this.command, {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      // No gdb backtrace on a native abort (slow, and noise in the cell's log).
      env: { ...process.env, GGML_NO_BACKTRACE: "1" },
    });
    const child: Child = { proc, pending: new Map(), tail: [], stopping: false };
    this.starts++;
    this.child = child;
    const events = this.readEvents(child);
    const stderr = this.readStderr(child);
    // Both pipes drained first, so the crash message has the last words of the child.
    void Promise.all([proc.exited, events, stderr]).then(() => this.onExit(child));
    log("info", "model host started", { pid: proc.pid });
    return child;
  }

  private async readEvents(child: Child): Promise<void> {
    for await (const line of textLines(child.proc.stdout)) {
      let ev: HostEvent;
      try {
        ev = HostEvent.parse(JSON.parse(line));
      } catch {
        log("warn", "model host: unreadable line", { line: line.slice(0, 200) });
        continue;
      }
      if (ev.ev === "ready") continue;
      const q = child.pending.get(ev.id);
      if (!q) continue;
      if (ev.ev === "error") q.end(modelFailed(ev.message));
      else {
        q.push(ev);
        if (ev.ev === "done") q.end();
      }
      if (q.ended) child.pending.delete(ev.id);
    }
  }

  private async readStderr(child: Child): Promise<void> {
    for await (const l of textLines(child.proc.stderr)) {
      child.tail.push(l);
      if (child.tail.length > 40) child.tail.shift();
      log("info", `model host: ${l}`);
    }
  }

  private onExit(child: Child): void {
    if (this.child === child) this.child = null;
    const { proc } = child;
    if (!child.pending.size) return;
    const status = proc.signalCode ? `${proc.signalCode}` : `exit ${proc.exitCode}`;
    let msg: string;
    if (child.stopping) msg = `the model host was stopped (${status}) before the answer was complete`;
    else {
      const assert = child.tail.find((l) => /GGML_ASSERT|GGML_ABORT|terminate called/.test(l)) ?? child.tail.find((l) => /error/i.test(l));
      const why = assert ? `: ${assert.replace(/^.*?(GGML_ASSERT|GGML_ABORT)/, "$1").slice(0, 300)}` : "";
      msg = `the model host stopped (${status})${why}; the model file is probably broken or not supported`;
      log("warn", msg, { pid: proc.pid });
    }
    for (const q of child.pending.values()) q.end(modelFailed(msg));
    child.pending.clear();
  }

  /**
   * Ask the host. Events stream as they come and end with `done`; a failed load or a crash of
   * the host throws (GroveError 502). Requests run one at a time, in order. Leaving the loop
   * early (or `signal`) cancels the request.
   */
  async *chat(req: Omit<ChatRequest, "op" | "id">, signal?: AbortSignal): AsyncGenerator<HostEvent> {
    const id = ++this.nextId;
    const q = new EventQueue<HostEvent>();
    let sentTo: Child | null = null;
    let cancelled = false;
    const cancel = () => {
      if (q.ended) return;
      cancelled = true;
      if (!sentTo?.pending.has(id)) return;
      try {
        sentTo.proc.stdin.write(JSON.stringify({ op: "cancel", id }) + "\n");
        void sentTo.proc.stdin.flush();
      } catch {} // the host is gone: nothing to cancel
    };
    signal?.addEventListener("abort", cancel, { once: true });
    this.waiting++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const turn = this.lock.then(async () => {
      if (cancelled) return q.end();
      const live = this.child && this.child.proc.exitCode === null && this.child.proc.signalCode === null ? this.child : null;
      const child = live ?? this.start();
      child.pending.set(id, q);
      sentTo = child;
      child.proc.stdin.write(JSON.stringify({ op: "chat", id, ...req }) + "\n");
      await child.proc.stdin.flush();
      await q.closed;
    });
    this.lock = turn.catch((e) => q.end(modelFailed(`the model host could not be started: ${(e as Error).message}`)));
    void this.lock.then(() => {
      if (--this.waiting === 0) this.armIdle();
    });
    try {
      yield* q;
    } finally {
      signal?.removeEventListener("abort", cancel);
      cancel();
    }
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.waiting === 0 && this.child) {
        log("info", "model host idle: stopping it", { pid: this.child.proc.pid });
        this.stop();
      }
    }, this.opts.idleMs);
    this.idleTimer.unref?.();
  }

  /** Stop the child (it is started again on the next request). */
  stop(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const c = this.child;
    this.child = null;
    if (c && c.proc.exitCode === null) {
      c.stopping = true;
      try {
        c.proc.stdin.end();
      } catch {}
      c.proc.kill("SIGTERM");
    }
  }
}
