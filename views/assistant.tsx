/** @jsxImportSource hono/jsx */
/**
 * @module views/assistant — the Assistant in the Chat tab: on the left the conversations with
 * models (newest first), on the right the chosen one with its turns (each answer names its
 * model and the cell that made it), the model/cell picker and the question form; below, the
 * models: this cell's files (size, parameters, quantization, measured tokens/s), an Ollama's,
 * the ones friends' cells offer, and the upload form.
 *
 * Streaming (web/assistant-pages): the form posts with htmx; the answer comes back as a turn
 * that connects to an SSE stream (htmx SSE extension): event `token` appends a piece of the
 * answer (escaped text) to the bubble, `done` or `error` fills the turn's footer and swaps a
 * fresh form (with the conversation id) and the conversation list in out of band, `end` closes
 * the stream. Without JavaScript the form posts, the cell answers in full, and the page reloads.
 */
import type { ConversationSummary, Turn } from "../src/ai/conversations.ts";
import type { ConversationView, ListedModel } from "../src/ai/assistant.ts";
import type { OllamaStatus } from "../src/ai/ollama.ts";
import type { Offer } from "../src/ai/remote.ts";
import { count, formatBytes, formatTime, hardwareText, shortId } from "../src/core/format.ts";

export const ASSISTANT_URL = "/assistant";
const convUrl = (id: string) => `${ASSISTANT_URL}/c/${encodeURIComponent(id)}`;

/** "1.2B", "121.5K": a parameter count the way model names say it. */
export function formatParameters(n: number | null): string {
  if (n === null) return "—";
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

const speed = (v: number | null) => (v === null ? "not measured yet" : `${v} tokens/s`);

/** Who made an answer: this cell, or a peer by name (ids the page knows). */
export interface CellNames {
  selfId: string;
  names: Map<string, string>;
}

function cellLabel(cell: string | null, n: CellNames): string {
  if (cell === null || cell === n.selfId) return "this cell";
  return `${n.names.get(cell) ?? "a removed peer"} (${shortId(cell)})`;
}

/** The footer of an answer: model, cell, tokens, time. */
export function AnswerMeta(p: {
  model: string;
  cell: string | null;
  tokens: number | null;
  ms: number | null;
  at?: number;
  names: CellNames;
}) {
  return (
    <>
      <span class="turn-model">{p.model}</span> ·{" "}
      <span class="turn-cell" data-cell={p.cell ?? ""}>
        {cellLabel(p.cell, p.names)}
      </span>
      {p.tokens !== null ? <> · {count(p.tokens, "token")}</> : null}
      {p.ms !== null ? <> in {(p.ms / 1000).toFixed(1)} s</> : null}
      {p.at !== undefined ? (
        <>
          {" "}
          · <time datetime={new Date(p.at).toISOString()}>{formatTime(p.at)}</time>
        </>
      ) : null}
    </>
  );
}

export function TurnItems({ turns, names }: { turns: Turn[]; names: CellNames }) {
  if (!turns.length)
    return (
      <li class="empty" id="assistant-empty">
        Ask anything: this cell's models answer, or a friend's cell when this one has none.
      </li>
    );
  return (
    <>
      {turns.map((t) =>
        t.role === "user" ? (
          <li class="msg out turn user">
            <div class="bubble">{t.text}</div>
          </li>
        ) : (
          <li class="msg in turn assistant" data-cell={t.cell ?? ""}>
            <div class="bubble">{t.text}</div>
            <div class="meta">
              <AnswerMeta model={t.model ?? "?"} cell={t.cell} tokens={t.tokens} ms={t.ms} at={t.at} names={names} />
            </div>
          </li>
        ),
      )}
    </>
  );
}

/** A question just asked, and its answer streaming in from `streamUrl`. */
export function PendingTurn({ question, streamUrl }: { question: string; streamUrl: string }) {
  return (
    <>
      <li class="msg out turn user">
        <div class="bubble">{question}</div>
      </li>
      <li class="msg in turn assistant streaming" hx-ext="sse" sse-connect={streamUrl} sse-close="end">
        <div class="bubble answer" sse-swap="token" hx-swap="beforeend"></div>
        <div class="meta" sse-swap="done,error" hx-swap="innerHTML">
          <span class="thinking" role="status">
            answering…
          </span>
        </div>
      </li>
    </>
  );
}

export function ConversationList({ convs, selected }: { convs: ConversationSummary[]; selected: string | null }) {
  return (
    <>
      <li class={selected === null ? "active" : ""} data-conversation="">
        <a href={ASSISTANT_URL} {...(selected === null ? { "aria-current": "page" } : {})}>
          <span class="conv-name">New conversation</span>
        </a>
      </li>
      {convs.map((c) => (
        <li class={c.id === selected ? "active" : ""} data-conversation={c.id}>
          <a href={convUrl(c.id)} {...(c.id === selected ? { "aria-current": "page" } : {})}>
            <span class="conv-name">{c.title}</span>
            <span class="conv-counts">
              <span class="count">{c.turns / 2}</span>
            </span>
            <span class="conv-last">{c.model}</span>
          </a>
        </li>
      ))}
    </>
  );
}

/** The picker's choices: automatic, this cell's models, friends' models. Value: "", "own:NAME" or "peer:ID:NAME". */
export function TargetOptions({ models, friends, selected }: { models: ListedModel[]; friends: Offer[]; selected: string }) {
  const own = models.filter((m) => !m.error);
  return (
    <>
      <option value="" selected={selected === ""}>
        Automatic (this cell's models first, then the best friend's)
      </option>
      {own.length ? (
        <optgroup label="This cell">
          {own.map((m) => (
            <option value={`own:${m.name}`} selected={selected === `own:${m.name}`}>
              {m.name}
              {m.source === "ollama" ? " (Ollama)" : ""}
            </option>
          ))}
        </optgroup>
      ) : null}
      {friends.length ? (
        <optgroup label="Friends' cells">
          {friends.map((o) => (
            <option value={`peer:${o.peer}:${o.model.name}`} selected={selected === `peer:${o.peer}:${o.model.name}`}>
              {o.model.name} on {o.peer_name} ({shortId(o.peer)}){o.model.tokens_per_s !== null ? `, ${o.model.tokens_per_s} tokens/s` : ""}
            </option>
          ))}
        </optgroup>
      ) : null}
    </>
  );
}

export interface FormProps {
  csrf?: string;
  conversation: string | null;
  models: ListedModel[];
  friends: Offer[];
  target: string;
  draft?: string;
  error?: string;
  /** An answer is streaming: the form waits. */
  waiting?: boolean;
  oob?: boolean;
}

export function AskForm(p: FormProps) {
  return (
    <form
      id="assistant-form"
      method="post"
      action={`${ASSISTANT_URL}/ask`}
      hx-post={`${ASSISTANT_URL}/ask`}
      hx-target="#assistant-log"
      hx-swap="beforeend"
      {...(p.oob ? { "hx-swap-oob": "outerHTML" } : {})}
    >
      {p.csrf ? <input type="hidden" name="_csrf" value={p.csrf} /> : null}
      {p.conversation ? <input type="hidden" name="conversation" id="assistant-conversation" value={p.conversation} /> : null}
      <label for="assistant-target">Model</label>
      <select id="assistant-target" name="target">
        <TargetOptions models={p.models} friends={p.friends} selected={p.target} />
      </select>
      <label for="assistant-question" class="visually-hidden">
        Question
      </label>
      <textarea
        id="assistant-question"
        name="question"
        rows={3}
        maxlength={32 * 1024}
        required
        placeholder="Ask a question (Enter asks, Shift+Enter: new line)"
        autofocus
      >
        {p.draft ?? ""}
      </textarea>
      <div class="chat-actions">
        <button type="submit" id="assistant-ask" disabled={p.waiting}>
          {p.waiting ? "Answering…" : "Ask"}
        </button>
        {p.error ? (
          <p class="error" id="assistant-error" role="alert">
            {p.error}
          </p>
        ) : null}
      </div>
    </form>
  );
}

export function ModelsSection(p: {
  models: ListedModel[];
  friends: Offer[];
  ollama: OllamaStatus | null;
  csrf?: string;
  notice?: string;
  error?: string;
}) {
  const files = p.models.filter((m) => m.source === "local");
  const ollama = p.models.filter((m) => m.source === "ollama");
  return (
    <section class="card" id="assistant-models" aria-label="Models">
      <h2>Models</h2>
      <h3>This cell</h3>
      {files.length ? (
        <table class="models" id="models-local">
          <thead>
            <tr>
              <th>Name</th>
              <th>Size</th>
              <th>Parameters</th>
              <th>Architecture</th>
              <th>Quantization</th>
              <th>Context</th>
              <th>Speed</th>
            </tr>
          </thead>
          <tbody>
            {files.map((m) => (
              <tr data-model={m.name} class={m.error ? "unusable" : ""}>
                <td>
                  <code>{m.name}</code>
                </td>
                <td>{formatBytes(m.size)}</td>
                {m.error ? (
                  <td colspan={5} class="error">
                    unusable: {m.error}
                  </td>
                ) : (
                  <>
                    <td>{formatParameters(m.parameters)}</td>
                    <td>{m.architecture ?? "?"}</td>
                    <td>{m.quantization ?? "?"}</td>
                    <td>{m.info?.context_length ?? "?"}</td>
                    <td class="speed">{speed(m.tokens_per_s)}</td>
                  </>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="empty" id="models-none">
          No model files yet: upload a .gguf model file below.
        </p>
      )}
      <form id="model-upload-form" method="post" action={`${ASSISTANT_URL}/models`} enctype="multipart/form-data">
        {p.csrf ? <input type="hidden" name="_csrf" value={p.csrf} /> : null}
        <label for="model-file">Upload a model (.gguf)</label>
        <input type="file" id="model-file" name="file" accept=".gguf" required />
        <button type="submit" id="model-upload">
          Upload
        </button>
        <span id="model-upload-status" role="status">
          {p.notice ?? ""}
        </span>
        {p.error ? (
          <p class="error" id="model-upload-error" role="alert">
            {p.error}
          </p>
        ) : null}
      </form>
      <h3>Ollama</h3>
      {p.ollama === null ? (
        <p class="sub">
          Off: this cell does not use an Ollama. Choose one in <a href="/settings#set-ollama">Settings › Ollama</a>.
        </p>
      ) : ollama.length ? (
        <table class="models" id="models-ollama">
          <thead>
            <tr>
              <th>Name</th>
              <th>Size</th>
              <th>Parameters</th>
              <th>Family</th>
              <th>Quantization</th>
              <th>Speed</th>
            </tr>
          </thead>
          <tbody>
            {ollama.map((m) => (
              <tr data-model={m.name}>
                <td>
                  <code>{m.name}</code>
                </td>
                <td>{formatBytes(m.size)}</td>
                <td>{formatParameters(m.parameters)}</td>
                <td>{m.architecture ?? "?"}</td>
                <td>{m.quantization ?? "?"}</td>
                <td class="speed">{speed(m.tokens_per_s)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="sub">
          {p.ollama.available ? (
            <>
              The Ollama at <code>{p.ollama.url}</code> has no models.
            </>
          ) : p.ollama.configured ? (
            <>
              No Ollama answers at <code>{p.ollama.url}</code>: start it, or change its address in{" "}
              <a href="/settings#set-ollama">Settings › Ollama</a>.
            </>
          ) : (
            <>
              No Ollama runs on this machine. To use one elsewhere, give its address in <a href="/settings#set-ollama">Settings › Ollama</a>
              .
            </>
          )}
        </p>
      )}
      <h3>Friends' cells</h3>
      {p.friends.length ? (
        <table class="models" id="models-friends">
          <thead>
            <tr>
              <th>Name</th>
              <th>Cell</th>
              <th>Size</th>
              <th>Parameters</th>
              <th>Runs on</th>
              <th>Speed</th>
              <th>Hardware</th>
            </tr>
          </thead>
          <tbody>
            {p.friends.map((o) => (
              <tr data-model={o.model.name} data-peer={o.peer}>
                <td>
                  <code>{o.model.name}</code>
                </td>
                <td>
                  {o.peer_name} <code>{shortId(o.peer)}</code>
                </td>
                <td>{formatBytes(o.model.size)}</td>
                <td>{formatParameters(o.model.parameters)}</td>
                <td>{o.model.source === "ollama" ? "Ollama" : "model file"}</td>
                <td class="speed">{speed(o.model.tokens_per_s)}</td>
                <td class="hardware">{hardwareText(o.hardware)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="sub" id="friends-none">
          No friend's cell offers a model (friends' cards are read at each sync round; see the <a href="/peers">Peers</a> tab).
        </p>
      )}
    </section>
  );
}

export interface AssistantPageProps {
  csrf?: string;
  convs: ConversationSummary[];
  selected: ConversationView | null;
  names: CellNames;
  models: ListedModel[];
  friends: Offer[];
  ollama: OllamaStatus | null;
  target: string;
  draft?: string;
  error?: string;
  uploadNotice?: string;
  uploadError?: string;
}

export function AssistantPage(p: AssistantPageProps) {
  const sel = p.selected;
  return (
    <>
      <h1>Assistant</h1>
      <p class="sub">
        <a href="/chat">← Messages with peers</a>
      </p>
      <div class="chat assistant">
        <nav class="chat-peers card" aria-label="Conversations with the assistant">
          <ul id="assistant-convs">
            <ConversationList convs={p.convs} selected={sel?.id ?? null} />
          </ul>
        </nav>
        <section class="chat-main card" aria-label={sel ? `Conversation: ${sel.title}` : "New conversation"}>
          <h2 id="assistant-title">{sel ? sel.title : "New conversation"}</h2>
          <ol id="assistant-log" aria-live="polite">
            <TurnItems turns={sel?.turns ?? []} names={p.names} />
          </ol>
          <AskForm
            csrf={p.csrf}
            conversation={sel?.id ?? null}
            models={p.models}
            friends={p.friends}
            target={p.target}
            draft={p.draft}
            error={p.error}
          />
        </section>
      </div>
      <ModelsSection models={p.models} friends={p.friends} ollama={p.ollama} csrf={p.csrf} notice={p.uploadNotice} error={p.uploadError} />
    </>
  );
}
