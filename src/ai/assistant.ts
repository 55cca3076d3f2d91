/**
 * @module ai/assistant — the assistant service: answers questions token by token with this
 * cell's models (GGUF files run by the model host child process, ai/llm-process; an Ollama
 * server, ai/ollama) or a friend's cell (ai/remote), and keeps the conversations
 * (ai/conversations), each answer with the cell that made it.
 *
 *   const a = createAssistant(cell, { caller, peers });
 *   for await (const ev of a.ask({ question: "What is a cell?" })) {
 *     if ("token" in ev) process.stdout.write(ev.token);
 *     else console.log("\n", ev.conversation, ev.tokens, "tokens");
 *   }
 *
 * Who answers: with `peer`, that cell; else with `model`, the model of that name here (Ollama's,
 * then a file), else a friend's cell that offers it; else the conversation's cell and model,
 * else the first usable model here (files, then Ollama), else the best friend's cell that has
 * one (ai/remote: model match, then tokens/s, then route). Continuing a conversation sends its
 * earlier turns as the chat history.
 *
 * It also answers friends' questions (ai/peer-answers, through `prepareForPeer`), measures the
 * speed of its own models on real answers (ai/speeds), and says which models its card offers
 * (`cardModels`, only when config `llm_share` is "friends").
 */
import type { Database } from "bun:sqlite";
import type { Cell } from "../cell/cell.ts";
import { badRequest, GroveError, notFound } from "../core/errors.ts";
import type { PeerRow } from "../fleet/peer-store.ts";
import type { AiQuestion } from "../protocol/ai-chat.ts";
import type { CardModel } from "../protocol/card.ts";
import { join } from "node:path";
import type { AnswerEvent, Question } from "./answer.ts";
import { ConversationStore, newConversationId, type ConversationRow, type ConversationSummary, type Turn } from "./conversations.ts";
import { LlmProcess, modelFailed } from "./llm-process.ts";
import { localInferenceMissing } from "./llama-availability.ts";
import type { ChatTurn } from "./llm-protocol.ts";
import { ModelDir, type ModelEntry } from "./models.ts";
import { DEFAULT_OLLAMA_URL, OllamaSource, type OllamaModel, type OllamaStatus } from "./ollama.ts";
import type { PreparedAnswer } from "./peer-answers.ts";
import { askPeer, bestOffer, offers, type FleetAccess, type Offer, type RemoteEvent } from "./remote.ts";
import { generationSpeed, SpeedFile, type ModelSource } from "./speeds.ts";

export interface AskRequest {
  question: string;
  /** Continue this conversation (its id); a new one is made without it. */
  conversation?: string;
  /** A model's name: a file name (the `.gguf` may be left out), an Ollama model, or one a friend offers. */
  model?: string;
  /** Ask this peer's cell (its id or a unique prefix). */
  peer?: string;
  /** At most this many tokens (capped by the assistant's own limit). */
  max_tokens?: number;
  /** 0 = greedy; default 0.7. */
  temperature?: number;
}

/** Where the model that answered ran, seen from this cell. */
export type AnswerSource = "local" | "ollama" | "peer";

/** A piece of the answer, then one `done` with the figures of the whole answer. */
export type AskEvent =
  | { token: string }
  | {
      done: true;
      conversation: string;
      model: string;
      /** The cell whose model answered (this cell's id for its own models). */
      cell: string;
      cell_name: string;
      source: AnswerSource;
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
  /** This cell (recorded with its own answers). */
  self?: { id: string; name: string };
  /** Where the measured speeds are kept (null: in memory only). */
  speedsFile?: string | null;
  /** An Ollama server whose models are offered too. */
  ollama?: OllamaSource | null;
  /** Who may ask this cell's models: the card offers them only with "friends". */
  share?: "friends" | "none";
  /** Friends' cells to ask too (their cards and routes, and how to call them); none in one-shot uses. */
  fleet?: FleetAccess | null;
}

/** A model as listed: a file here (with its GGUF header) or an Ollama model, with its measured speed. */
export interface ListedModel extends ModelEntry {
  source: ModelSource;
  architecture: string | null;
  parameters: number | null;
  quantization: string | null;
  /** Last measured generation speed here, null until it answered once. */
  tokens_per_s: number | null;
}

export interface ConversationView extends ConversationRow {
  turns: Turn[];
}

type OwnTarget = { kind: "local"; model: ModelEntry } | { kind: "ollama"; model: OllamaModel };
type Target = OwnTarget | { kind: "peer"; peer: PeerRow; model: string | null };

const DEFAULT_SYSTEM = "You are the assistant of Grove, running on the user's own devices. Answer clearly and briefly.";
const MAX_QUESTION = 32 * 1024;
/** Earlier turns sent with a question (the newest; an even number keeps question–answer pairs). */
const MAX_HISTORY_TURNS = 40;
const CARD_MODELS_MAX = 64;
const CARD_MODELS_BYTES = 8 * 1024;

export class Assistant {
  readonly modelDir: ModelDir;
  readonly host: LlmProcess;
  /** The Ollama asked (config `ollama_url`, a live key: `useOllama` when it changes). */
  ollama: OllamaSource | null;
  private store: ConversationStore;
  private speeds: SpeedFile;
  /** Models that failed to load (or crashed the host while loading), by file key: not tried again until the file changes. */
  private failed = new Map<string, string>();
  private readonly fleet: FleetAccess | null;
  private advertised: CardModel[] = [];

  constructor(private opts: AssistantOptions) {
    this.modelDir = new ModelDir(opts.modelsDir);
    this.store = new ConversationStore(opts.db);
    this.host = new LlmProcess({ command: opts.hostCommand, idleMs: opts.idleMs });
    this.speeds = new SpeedFile(opts.speedsFile ?? null);
    this.ollama = opts.ollama ?? null;
    this.fleet = opts.fleet ?? null;
  }

  private get selfId(): string {
    return this.opts.self?.id ?? "";
  }

  /**
   * This cell's models: the model files (with their headers, or why they cannot be used), then
   * Ollama's (asked again now; with `probe` false, as last listed).
   */
  async models(probe = true): Promise<ListedModel[]> {
    const files = (await this.modelDir.list()).map((m) => this.withFailure(m));
    const ollama = !this.ollama ? [] : probe ? await this.ollama.refresh() : this.ollama.cached();
    const list: ListedModel[] = [
      ...files.map((m) => ({
        ...m,
        source: "local" as const,
        architecture: m.info?.architecture ?? null,
        parameters: m.info?.parameters ?? null,
        quantization: m.info?.quantization ?? null,
        tokens_per_s: this.speeds.get("local", m.name),
      })),
      ...ollama.map((m) => ({
        name: m.name,
        size: m.size,
        modified_at: m.modified_at,
        info: null,
        error: null,
        source: "ollama" as const,
        architecture: m.family,
        parameters: m.parameters,
        quantization: m.quantization,
        tokens_per_s: this.speeds.get("ollama", m.name),
      })),
    ];
    this.advertise(list);
    return list;
  }

  ollamaStatus(): OllamaStatus | null {
    return this.ollama?.status() ?? null;
  }

  /** The models friends' cards offer (empty without a fleet). */
  friendModels(): Offer[] {
    return this.fleet ? offers(this.fleet, true) : [];
  }

  /** The models this cell's card offers to its friends (none when `llm_share` is "none"). */
  cardModels(): CardModel[] {
    return (this.opts.share ?? "friends") === "friends" ? this.advertised : [];
  }

  /** Re-read the models for the card (files; Ollama's as last listed, or asked again with `probe`). */
  async refreshCardModels(probe = false): Promise<void> {
    await this.models(probe);
  }

  private advertise(list: ListedModel[]): void {
    const out: CardModel[] = [];
    let bytes = 0;
    for (const m of list) {
      if (m.error || m.name.length > 128) continue;
      const entry: CardModel = { name: m.name, source: m.source, parameters: m.parameters, size: m.size, tokens_per_s: m.tokens_per_s };
      bytes += JSON.stringify(entry).length + 1;
      // The card must stay well under its 16 KiB limit with its addresses.
      if (out.length >= CARD_MODELS_MAX || bytes > CARD_MODELS_BYTES) break;
      out.push(entry);
    }
    this.advertised = out;
  }

  /** A model file's identity: path, size and mtime (a changed file is a new model). */
  private key(m: ModelEntry): string {
    return `${this.modelDir.path(m.name)}:${m.size}:${m.modified_at}`;
  }

  private withFailure(m: ModelEntry): ModelEntry {
    const f = m.error ? undefined : (this.failed.get(this.key(m)) ?? localInferenceMissing());
    return f ? { ...m, error: f } : m;
  }

  conversations(): ConversationSummary[] {
    return this.store.list();
  }

  conversation(id: string): ConversationView {
    return { ...this.store.require(id), turns: this.store.turns(id) };
  }

  /** A model of this cell asked for by name: Ollama's, else a file (400 for a bad or unusable one, 404 when absent). */
  private async ownModel(asked: string): Promise<OwnTarget> {
    const o = this.ollama?.find(asked);
    if (o) return { kind: "ollama", model: o };
    const name = asked.endsWith(".gguf") ? asked : asked + ".gguf";
    const m = this.withFailure(await this.modelDir.get(name));
    if (m.error) throw this.failed.has(this.key(m)) ? modelFailed(m.error) : badRequest(`model ${m.name} cannot be used: ${m.error}`);
    return { kind: "local", model: m };
  }

  /** The first usable model of this cell (`prefer` first when it is one), or null. */
  private async firstOwn(prefer?: string): Promise<OwnTarget | null> {
    const files = (await this.modelDir.list()).map((m) => this.withFailure(m)).filter((m) => !m.error);
    const ollama = this.ollama?.cached() ?? [];
    if (prefer !== undefined) {
      const f = files.find((m) => m.name === prefer);
      if (f) return { kind: "local", model: f };
      const o = ollama.find((m) => m.name === prefer);
      if (o) return { kind: "ollama", model: o };
    }
    if (files[0]) return { kind: "local", model: files[0] };
    if (ollama[0]) return { kind: "ollama", model: ollama[0] };
    return null;
  }

  private noModel(detail = ""): GroveError {
    const friends = this.fleet ? " and no friend's cell offers one" : "";
    return new GroveError(
      `no usable model on this cell${friends}: put a .gguf file in ${this.opts.modelsDir} or upload one (PUT /api/models/NAME)${detail}`,
      404,
      "no_model",
    );
  }

  private peerTarget(offer: Offer): Target {
    return { kind: "peer", peer: this.fleet!.peers.get(offer.peer)!, model: offer.model.name };
  }

  /** Who answers (see the module comment). */
  private async route(req: AskRequest, conv: ConversationRow | null): Promise<Target> {
    if (req.peer !== undefined) {
      if (!this.fleet) throw new GroveError("asking another cell needs a running cell (grove start)", 503, "unavailable");
      const peer = this.fleet.peers.resolve(req.peer);
      const card = offers(this.fleet, false).filter((o) => o.peer === peer.id);
      const model = req.model ?? (conv?.cell === peer.id ? conv.model : undefined) ?? bestOffer(card)?.model.name ?? null;
      return { kind: "peer", peer, model };
    }
    if (req.model !== undefined) {
      try {
        return await this.ownModel(req.model);
      } catch (e) {
        const offer = e instanceof GroveError && e.status === 404 && this.fleet ? bestOffer(offers(this.fleet), req.model) : null;
        if (offer) return this.peerTarget(offer);
        throw e;
      }
    }
    if (conv?.cell && conv.cell !== this.selfId && this.fleet?.peers.get(conv.cell)) {
      return { kind: "peer", peer: this.fleet.peers.get(conv.cell)!, model: conv.model };
    }
    const own = await this.firstOwn(conv?.model);
    if (own) return own;
    const offer = this.fleet ? bestOffer(offers(this.fleet)) : null;
    if (offer) return this.peerTarget(offer);
    const list = (await this.modelDir.list()).map((m) => this.withFailure(m));
    throw this.noModel(list.length ? ` (${list.map((m) => `${m.name}: ${m.error}`).join("; ")})` : "");
  }

  /** Run one of this cell's models; measures its speed on a complete answer. */
  private async *runOwn(t: OwnTarget, q: Question, signal?: AbortSignal): AsyncGenerator<AnswerEvent> {
    let done: Extract<AnswerEvent, { done: true }> | null = null;
    if (t.kind === "ollama") {
      for await (const ev of this.ollama!.chat(t.model.name, q, signal)) {
        if ("done" in ev) done = ev;
        yield ev;
      }
    } else {
      const m = t.model;
      const key = this.key(m);
      let loaded = false;
      try {
        for await (const ev of this.host.chat(
          { model: { path: this.modelDir.path(m.name), key }, threads: this.opts.threads, ...q },
          signal,
        )) {
          if (ev.ev === "loaded") loaded = true;
          else if (ev.ev === "token") yield { token: ev.text };
          else if (ev.ev === "done") {
            if (signal?.aborted) return;
            done = {
              done: true,
              tokens: ev.tokens,
              prompt_tokens: ev.prompt_tokens,
              ms: ev.ms,
              first_token_ms: ev.first_token_ms,
              load_ms: ev.load_ms,
            };
            yield done;
          }
        }
      } catch (e) {
        if (!(e instanceof GroveError && e.code === "model_failed")) throw e;
        // A model that fails to load is not tried again until its file changes.
        if (!loaded) this.failed.set(key, `failed to load: ${e.message}`);
        throw modelFailed(`${m.name}: ${e.message}`);
      }
    }
    const speed = done && !signal?.aborted ? generationSpeed(done.tokens, done.ms, done.first_token_ms) : null;
    if (speed !== null && this.speeds.record(t.kind, t.model.name, speed, done!.tokens)) void this.refreshCardModels().catch(() => {});
  }

  /**
   * Ask a question. Yields the answer's pieces as the model makes them, then `done`; the
   * question and answer are then stored. Throws GroveError: 400/404 for a bad request, 403
   * when a friend's cell refuses, 502 when the model fails to load, the model host dies or the
   * peer fails. Stopping early (or `signal`) cancels the answer, which is then not stored.
   */
  async *ask(req: AskRequest, signal?: AbortSignal): AsyncGenerator<AskEvent> {
    const question = req.question.trim();
    if (!question) throw badRequest("the question is empty");
    if (question.length > MAX_QUESTION) throw badRequest(`the question is longer than ${MAX_QUESTION} characters`);
    if (req.max_tokens !== undefined && (!Number.isInteger(req.max_tokens) || req.max_tokens < 1))
      throw badRequest("max_tokens must be a positive integer");
    if (req.temperature !== undefined && !(req.temperature >= 0 && req.temperature <= 2))
      throw badRequest("temperature must be between 0 and 2");
    const conv = req.conversation !== undefined ? this.store.get(req.conversation) : null;
    if (req.conversation !== undefined && !conv) throw notFound(`no conversation ${req.conversation} (see GET /api/chat)`);
    const target = await this.route(req, conv);
    const history: ChatTurn[] = conv ? this.store.turns(conv.id, MAX_HISTORY_TURNS).map((t) => ({ role: t.role, text: t.text })) : [];
    const id = conv?.id ?? newConversationId();
    const askedAt = Date.now();
    const q: Question = {
      system: this.opts.systemPrompt ?? DEFAULT_SYSTEM,
      history,
      question,
      max_tokens: Math.min(req.max_tokens ?? this.opts.maxTokens, this.opts.maxTokens),
      temperature: req.temperature ?? 0.7,
    };
    let model: string;
    let cell: string;
    let cellName: string;
    let events: AsyncGenerator<AnswerEvent | RemoteEvent>;
    if (target.kind === "peer") {
      model = target.model ?? "";
      cell = target.peer.id;
      cellName = target.peer.name;
      events = askPeer(
        this.fleet!,
        target.peer,
        { v: 1, model: target.model, history, question, max_tokens: q.max_tokens, temperature: q.temperature },
        signal,
      );
    } else {
      model = target.model.name;
      cell = this.selfId;
      cellName = this.opts.self?.name ?? "this cell";
      events = this.runOwn(target, q, signal);
    }
    let answer = "";
    for await (const ev of events) {
      if ("token" in ev) {
        answer += ev.token;
        yield { token: ev.token };
        continue;
      }
      if (signal?.aborted) return;
      if ("model" in ev) model = ev.model; // the model the peer used
      this.store.append(id, { question, answer, model, tokens: ev.tokens, ms: ev.ms, asked_at: askedAt, answered_at: Date.now(), cell });
      yield {
        done: true,
        conversation: id,
        model,
        cell,
        cell_name: cellName,
        source: target.kind,
        tokens: ev.tokens,
        ms: Math.round(ev.ms),
        first_token_ms: ev.first_token_ms === null ? null : Math.round(ev.first_token_ms),
        prompt_tokens: ev.prompt_tokens,
        load_ms: Math.round(ev.load_ms),
        history: history.length,
      };
    }
  }

  /**
   * A friend's question (web/peer-ai-api through ai/peer-answers): the model it names — one this
   * cell offers, never a further cell — or the first usable one. Throws 404 when there is none.
   */
  async prepareForPeer(aq: AiQuestion): Promise<PreparedAnswer> {
    let t: OwnTarget | null;
    if (aq.model !== null) {
      try {
        t = await this.ownModel(aq.model);
      } catch (e) {
        if (e instanceof GroveError && e.status === 404) throw notFound(`this cell has no model named ${aq.model}`);
        throw e;
      }
    } else t = await this.firstOwn();
    if (!t) throw new GroveError("this cell has no usable model", 404, "no_model");
    const target = t;
    const q: Question = {
      system: this.opts.systemPrompt ?? DEFAULT_SYSTEM,
      history: aq.history,
      question: aq.question,
      max_tokens: Math.min(aq.max_tokens, this.opts.maxTokens),
      temperature: aq.temperature,
    };
    return { model: target.model.name, source: target.kind, run: (signal) => this.runOwn(target, q, signal) };
  }

  /** Stop the model host (the cell is shutting down). */
  close(): void {
    this.host.stop();
  }

  /**
   * Ask the Ollama of `url` from now on (config `ollama_url` changed while the cell runs). It is
   * not probed here: its models are listed at the next look (the Assistant tab, the card's refresh).
   */
  useOllama(url: string | null): void {
    this.ollama = ollamaFor(url);
  }
}

/** The Ollama of a cell's config: `ollama_url`, else the default address; none with "off". */
function ollamaFor(url: string | null): OllamaSource | null {
  if (url === "off") return null;
  return new OllamaSource(url ?? DEFAULT_OLLAMA_URL, url !== null);
}

/** The assistant of a running cell, configured from its config.json (`llm_*`, `ollama_url`); probes Ollama once. */
export function createAssistant(cell: Cell, fleet: FleetAccess | null = null): Assistant {
  const a = new Assistant({
    fleet,
    db: cell.db.db,
    modelsDir: cell.layout.models,
    threads: cell.config.llm_threads,
    idleMs: cell.config.llm_idle_s * 1000,
    maxTokens: cell.config.llm_max_tokens,
    self: { id: cell.keys.id, name: cell.config.name },
    speedsFile: join(cell.layout.dir, "llm_speeds.json"),
    ollama: ollamaFor(cell.config.ollama_url),
    // Read on each use: a change of `llm_share` (a live key) is taken at once, by the card too.
    get share() {
      return cell.config.llm_share;
    },
  });
  void a.refreshCardModels(true).catch(() => {}); // probes Ollama once
  return a;
}
