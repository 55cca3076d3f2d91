/**
 * @module ai/assistant — the assistant service: answers questions with a local model, token by
 * token, and keeps the conversations. Models come from ai/models, inference runs in the model
 * host child process (ai/llm-process), conversations live in placement.db (ai/conversations).
 *
 *   const a = createAssistant(cell);
 *   for await (const ev of a.ask({ question: "What is a cell?" })) {
 *     if ("token" in ev) process.stdout.write(ev.token);
 *     else console.log("\n", ev.conversation, ev.tokens, "tokens");
 *   }
 *
 * Continuing a conversation sends its earlier turns as the chat history. Which model answers:
 * the one asked for, else the conversation's, else the first usable model by name.
 */
import type { Database } from "bun:sqlite";
import type { Cell } from "../cell/cell.ts";
import { badRequest, GroveError, notFound } from "../core/errors.ts";
import { ConversationStore, newConversationId, type ConversationRow, type ConversationSummary, type Turn } from "./conversations.ts";
import { LlmProcess, modelFailed } from "./llm-process.ts";
import type { ChatTurn } from "./llm-protocol.ts";
import { ModelDir, type ModelEntry } from "./models.ts";

export interface AskRequest {
  question: string;
  /** Continue this conversation (its id); a new one is made without it. */
  conversation?: string;
  /** A model's file name (the `.gguf` may be left out). */
  model?: string;
  /** At most this many tokens (capped by the assistant's own limit). */
  max_tokens?: number;
  /** 0 = greedy; default 0.7. */
  temperature?: number;
}

/** A piece of the answer, then one `done` with the figures of the whole answer. */
export type AskEvent =
  | { token: string }
  | {
      done: true;
      conversation: string;
      model: string;
      tokens: number;
      /** Time to the whole answer, ms (the model's load not included). */
      ms: number;
      first_token_ms: number | null;
      /** Tokens the model read before answering: system prompt, history, question. */
      prompt_tokens: number;
      /** Time to load the model, 0 when it was already loaded. */
      load_ms: number;
      /** Earlier turns sent as the chat history. */
      history: number;
    };

export interface AssistantOptions {
  db: Database;
  modelsDir: string;
  /** Evaluation threads; 0 = one per core. */
  threads: number;
  /** Stop the model host after this long without a question. */
  idleMs: number;
  /** Longest answer in tokens. */
  maxTokens: number;
  /** How to start the model host (default: this program with `__llm-host`). */
  hostCommand?: string[];
  systemPrompt?: string;
}

export interface ConversationView extends ConversationRow {
  turns: Turn[];
}

const DEFAULT_SYSTEM = "You are the assistant of Grove, running on the user's own devices. Answer clearly and briefly.";
const MAX_QUESTION = 32 * 1024;
/** Earlier turns sent with a question (the newest; an even number keeps question–answer pairs). */
const MAX_HISTORY_TURNS = 40;

export class Assistant {
  readonly modelDir: ModelDir;
  readonly host: LlmProcess;
  private store: ConversationStore;
  /** Models that failed to load (or crashed the host while loading), by file key: not tried again until the file changes. */
  private failed = new Map<string, string>();

  constructor(private opts: AssistantOptions) {
    this.modelDir = new ModelDir(opts.modelsDir);
    this.store = new ConversationStore(opts.db);
    this.host = new LlmProcess({ command: opts.hostCommand, idleMs: opts.idleMs });
  }

  /** The model files of this cell, with their headers (or why they cannot be used). */
  async models(): Promise<ModelEntry[]> {
    return (await this.modelDir.list()).map((m) => this.withFailure(m));
  }

  /** A model file's identity: path, size and mtime (a changed file is a new model). */
  private key(m: ModelEntry): string {
    return `${this.modelDir.path(m.name)}:${m.size}:${m.modified_at}`;
  }

  private withFailure(m: ModelEntry): ModelEntry {
    const f = m.error ? undefined : this.failed.get(this.key(m));
    return f ? { ...m, error: f } : m;
  }

  conversations(): ConversationSummary[] {
    return this.store.list();
  }

  conversation(id: string): ConversationView {
    return { ...this.store.require(id), turns: this.store.turns(id) };
  }

  /** The model to use: asked for by name, else the conversation's, else the first usable one. */
  private async pickModel(asked: string | undefined, conv: ConversationRow | null): Promise<ModelEntry> {
    if (asked !== undefined) {
      const name = asked.endsWith(".gguf") ? asked : asked + ".gguf";
      const m = this.withFailure(await this.modelDir.get(name));
      if (m.error) throw this.failed.has(this.key(m)) ? modelFailed(m.error) : badRequest(`model ${m.name} cannot be used: ${m.error}`);
      return m;
    }
    const list = await this.models();
    const usable = list.filter((m) => !m.error);
    const pick = usable.find((m) => m.name === conv?.model) ?? usable[0];
    if (pick) return pick;
    const why = list.length ? ` (${list.map((m) => `${m.name}: ${m.error}`).join("; ")})` : "";
    throw new GroveError(`no usable model on this cell: put a .gguf file in ${this.opts.modelsDir} or upload one (PUT /api/models/NAME)${why}`, 404, "no_model");
  }

  /**
   * Ask a question. Yields the answer's pieces as the model makes them, then `done`; the
   * question and answer are then stored. Throws GroveError: 400/404 for a bad request, 502 when
   * the model fails to load or the model host dies. Stopping early (or `signal`) cancels the
   * answer, which is then not stored.
   */
  async *ask(req: AskRequest, signal?: AbortSignal): AsyncGenerator<AskEvent> {
    const question = req.question.trim();
    if (!question) throw badRequest("the question is empty");
    if (question.length > MAX_QUESTION) throw badRequest(`the question is longer than ${MAX_QUESTION} characters`);
    if (req.max_tokens !== undefined && (!Number.isInteger(req.max_tokens) || req.max_tokens < 1)) throw badRequest("max_tokens must be a positive integer");
    if (req.temperature !== undefined && !(req.temperature >= 0 && req.temperature <= 2)) throw badRequest("temperature must be between 0 and 2");
    const conv = req.conversation !== undefined ? this.store.get(req.conversation) : null;
    if (req.conversation !== undefined && !conv) throw notFound(`no conversation ${req.conversation} (see GET /api/chat)`);
    const model = await this.pickModel(req.model, conv);
    const history: ChatTurn[] = conv ? this.store.turns(conv.id, MAX_HISTORY_TURNS).map((t) => ({ role: t.role, text: t.text })) : [];
    const id = conv?.id ?? newConversationId();
    const path = this.modelDir.path(model.name);
    const askedAt = Date.now();
    const key = this.key(model);
    const events = this.host.chat(
      {
        model: { path, key },
        threads: this.opts.threads,
        system: this.opts.systemPrompt ?? DEFAULT_SYSTEM,
        history,
        question,
        max_tokens: Math.min(req.max_tokens ?? this.opts.maxTokens, this.opts.maxTokens),
        temperature: req.temperature ?? 0.7,
      },
      signal,
    );
    let answer = "";
    let loaded = false;
    try {
      for await (const ev of events) {
        if (ev.ev === "loaded") loaded = true;
        else if (ev.ev === "token") {
          answer += ev.text;
          yield { token: ev.text };
        } else if (ev.ev === "done") {
          if (signal?.aborted) return;
          this.store.append(id, { question, answer, model: model.name, tokens: ev.tokens, ms: ev.ms, asked_at: askedAt, answered_at: Date.now() });
          yield {
            done: true,
            conversation: id,
            model: model.name,
            tokens: ev.tokens,
            ms: Math.round(ev.ms),
            first_token_ms: ev.first_token_ms === null ? null : Math.round(ev.first_token_ms),
            prompt_tokens: ev.prompt_tokens,
            load_ms: Math.round(ev.load_ms),
            history: history.length,
          };
        }
      }
    } catch (e) {
      if (!(e instanceof GroveError && e.code === "model_failed")) throw e;
      // A model that fails to load is not tried again until its file changes.
      if (!loaded) this.failed.set(key, `failed to load: ${e.message}`);
      throw modelFailed(`${model.name}: ${e.message}`);
    }
  }

  /** Stop the model host (the cell is shutting down). */
  close(): void {
    this.host.stop();
  }
}

/** The assistant of a running cell, configured from its config.json (`llm_*` keys). */
export function createAssistant(cell: Cell): Assistant {
  return new Assistant({
    db: cell.db.db,
    modelsDir: cell.layout.models,
    threads: cell.config.llm_threads,
    idleMs: cell.config.llm_idle_s * 1000,
    maxTokens: cell.config.llm_max_tokens,
  });
}
