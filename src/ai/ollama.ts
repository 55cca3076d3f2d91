/**
 * @module ai/ollama — an Ollama server as a source of models, through the `ollama` npm client:
 * its models are listed (GET /api/tags) and answer (POST /api/chat, streamed). Used when config
 * `ollama_url` names one, or when one answers on http://127.0.0.1:11434 (`ollama_url` null;
 * "off" turns this off). The server is probed with a short timeout, at start and whenever the
 * models are listed; a server that does not answer just offers nothing.
 */
import { Ollama, type ChatResponse, type ModelResponse } from "ollama";
import { errorMessage, GroveError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import type { AnswerEvent, Question } from "./answer.ts";

export const DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434";
/** How long a probe (the model list) may take. */
export const PROBE_TIMEOUT_MS = 1500;

export interface OllamaModel {
  name: string;
  size: number;
  modified_at: number;
  family: string | null;
  /** From `parameter_size` ("7.6B" → 7600000000); null when it does not say. */
  parameters: number | null;
  quantization: string | null;
}

export interface OllamaStatus {
  url: string;
  /** Set in config (a failure is worth a warning) or the default address (silence when absent). */
  configured: boolean;
  available: boolean;
  error: string | null;
  checked_at: number | null;
}

/** "7.6B" → 7.6e9, "494.03M" → 494030000, "137K" → 137000; null when unreadable. */
export function parseParameterSize(s: string | undefined | null): number | null {
  const m = /^\s*([\d.]+)\s*([KMBT]?)\s*$/i.exec(s ?? "");
  if (!m) return null;
  const mult = { "": 1, K: 1e3, M: 1e6, B: 1e9, T: 1e12 }[m[2]!.toUpperCase() as "" | "K" | "M" | "B" | "T"];
  const n = Number(m[1]) * mult;
  return Number.isFinite(n) ? Math.round(n) : null;
}

function toModel(m: ModelResponse): OllamaModel {
  const mod = new Date(m.modified_at as unknown as string).getTime();
  return {
    name: m.name || m.model,
    size: Number.isFinite(m.size) ? m.size : 0,
    modified_at: Number.isFinite(mod) ? mod : 0,
    family: m.details?.family || null,
    parameters: parseParameterSize(m.details?.parameter_size),
    quantization: m.details?.quantization_level || null,
  };
}

export class OllamaSource {
  private client: Ollama;
  private list: OllamaModel[] = [];
  private state: OllamaStatus;
  private probing: Promise<OllamaModel[]> | null = null;

  constructor(
    url: string,
    configured: boolean,
    private timeoutMs = PROBE_TIMEOUT_MS,
  ) {
    this.state = { url, configured, available: false, error: null, checked_at: null };
    // Requests without a signal of their own (the model list) get the probe timeout.
    const timed: typeof fetch = Object.assign(
      (input: RequestInfo | URL, init?: RequestInit) =>
        fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(this.timeoutMs) }),
      { preconnect: fetch.preconnect },
    );
    this.client = new Ollama({ host: url, fetch: timed });
  }

  status(): OllamaStatus {
    return { ...this.state };
  }

  /** The models as last listed (empty until a probe succeeded). */
  cached(): OllamaModel[] {
    return this.state.available ? this.list : [];
  }

  /** Ask the server for its models now; concurrent callers share one request. */
  refresh(): Promise<OllamaModel[]> {
    this.probing ??= this.probe().finally(() => (this.probing = null));
    return this.probing;
  }

  private async probe(): Promise<OllamaModel[]> {
    const was = this.state.available;
    try {
      const r = await this.client.list();
      this.list = (r.models ?? []).map(toModel).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      this.state = { ...this.state, available: true, error: null, checked_at: Date.now() };
      if (!was) log("info", "Ollama answers: its models are offered", { url: this.state.url, models: this.list.length });
    } catch (e) {
      const why = errorMessage(e);
      this.list = [];
      this.state = { ...this.state, available: false, error: why, checked_at: Date.now() };
      if (this.state.configured || was)
        log(this.state.configured ? "warn" : "info", "Ollama does not answer", { url: this.state.url, why });
    }
    return this.list;
  }

  /** The model called `name` (":latest" may be left out), from the last listing. */
  find(name: string): OllamaModel | null {
    const list = this.cached();
    return list.find((m) => m.name === name) ?? list.find((m) => m.name === `${name}:latest`) ?? null;
  }

  /** Answer with model `model`, streamed. A failure is a GroveError 502 (the server, not the request, is at fault). */
  async *chat(model: string, q: Question, signal?: AbortSignal): AsyncGenerator<AnswerEvent> {
    const messages = [
      ...(q.system ? [{ role: "system", content: q.system }] : []),
      ...q.history.map((t) => ({ role: t.role, content: t.text })),
      { role: "user", content: q.question },
    ];
    const t0 = performance.now();
    let stream: AsyncIterable<ChatResponse> & { abort(): void };
    try {
      stream = await this.client.chat({
        model,
        messages,
        stream: true,
        options: { num_predict: q.max_tokens, temperature: q.temperature },
      });
    } catch (e) {
      throw new GroveError(`Ollama (${this.state.url}) could not answer with ${model}: ${errorMessage(e)}`, 502, "model_failed");
    }
    const abort = () => stream.abort();
    signal?.addEventListener("abort", abort, { once: true });
    let firstMs: number | null = null;
    let pieces = 0;
    let finished = false;
    try {
      for await (const part of stream) {
        const text = part.message?.content ?? "";
        if (text) {
          firstMs ??= performance.now() - t0;
          pieces++;
          yield { token: text };
        }
        if (part.done) {
          const ns = (v: number | undefined) => (typeof v === "number" && Number.isFinite(v) ? v / 1e6 : null);
          const ms = performance.now() - t0;
          yield {
            done: true,
            tokens: part.eval_count ?? pieces,
            prompt_tokens: part.prompt_eval_count ?? 0,
            ms,
            first_token_ms: firstMs,
            load_ms: ns(part.load_duration) ?? 0,
          };
          finished = true;
          return;
        }
      }
    } catch (e) {
      if (signal?.aborted) return;
      throw new GroveError(`Ollama (${this.state.url}) stopped answering with ${model}: ${errorMessage(e)}`, 502, "model_failed");
    } finally {
      signal?.removeEventListener("abort", abort);
      if (!finished) stream.abort(); // the caller left early: Ollama stops generating
    }
  }
}
