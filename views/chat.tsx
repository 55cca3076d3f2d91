/** @jsxImportSource hono/jsx */
/**
 * @module views/chat — the Chat tab: on the left one conversation per peer (unread and queued
 * counts), on the right the chosen conversation with each sent message's delivery state
 * (queued ⏳, delivered ✓, failed with the reason) and the send form.
 *
 * Live updates: the page connects to the SSE stream of web/chat-pages (htmx SSE extension);
 * event `log` carries the conversation's items (swapped into #chat-log), event `peers` the
 * conversation list (into #chat-peers). Both are the whole list, so an update is idempotent and
 * a reconnect misses nothing. Without JavaScript the form posts and the page reloads.
 */
import type { Conversation, MessageView } from "../src/message/types.ts";
import { MAX_MESSAGE_CHARS } from "../src/protocol/message.ts";
import { count, formatTime, shortId } from "../src/core/format.ts";
import { humanProblem, isTechnical } from "./human-error.ts";

const chatUrl = (peer: string, what = "") => `/chat/${encodeURIComponent(peer)}${what}`;
const preview = (s: string, max = 60) => {
  const flat = s.replace(/\s+/g, " ");
  return flat.length > max ? flat.slice(0, max - 1) + "…" : flat;
};
const when = (m: MessageView) => (m.direction === "out" ? m.sent_at : (m.received_at ?? m.sent_at));

/** Why a message is not delivered, in words (older rows may hold the socket error itself). */
const why = (m: MessageView, peerName: string) => (m.error && isTechnical(m.error) ? humanProblem(m.error, peerName) : m.error);

/** A sent message's delivery state. */
function DeliveryState({ m, peerName }: { m: MessageView; peerName: string }) {
  if (m.state === "delivered") {
    return (
      <span class="msg-state delivered" title={m.delivered_at ? `delivered ${formatTime(m.delivered_at)}` : "delivered"}>
        ✓ delivered
      </span>
    );
  }
  if (m.state === "failed")
    return (
      <span class="msg-state failed" role="status">
        ✗ failed: {why(m, peerName) ?? "not delivered"}
      </span>
    );
  return (
    <span class="msg-state queued" title="kept here and sent when the peer is reachable">
      ⏳ queued{m.error ? <span class="msg-why"> (not delivered yet: {why(m, peerName)})</span> : null}
    </span>
  );
}

/** The items of #chat-log: the conversation, oldest first. */
export function MessageItems({ messages, peerName }: { messages: MessageView[]; peerName: string }) {
  if (!messages.length) return <li class="empty">No messages with {peerName} yet. Messages are sealed end to end to its key.</li>;
  return (
    <>
      {messages.map((m) => (
        <li
          id={`msg-${m.id}`}
          class={`msg ${m.direction}${m.direction === "in" && m.read_at === null ? " unread" : ""}`}
          data-id={m.id}
          data-direction={m.direction}
          data-state={m.state}
        >
          <div class="bubble">{m.text}</div>
          <div class="meta">
            <span class="visually-hidden">{m.direction === "out" ? "You" : peerName}, </span>
            <time datetime={new Date(when(m)).toISOString()}>{formatTime(when(m))}</time>
            {m.direction === "out" ? (
              <>
                {" "}
                · <DeliveryState m={m} peerName={peerName} />
              </>
            ) : null}
          </div>
        </li>
      ))}
    </>
  );
}

/** The first item of #chat-peers: the Assistant (views/assistant). */
function AssistantItem() {
  return (
    <li class="assistant-entry" data-peer="assistant">
      <a href="/assistant">
        <span class="conv-name">Assistant</span>
        <span class="conv-last">Ask a model, here or on a friend's cell</span>
      </a>
    </li>
  );
}

/** The items of #chat-peers: the Assistant, then every conversation, `selected` marked. */
export function ConversationItems({ convs, selected }: { convs: Conversation[]; selected: string | null }) {
  if (!convs.length)
    return (
      <>
        <AssistantItem />
        <li class="empty">
          No peers yet: pair with another cell in the <a href="/peers">Peers</a> tab.
        </li>
      </>
    );
  return (
    <>
      <AssistantItem />
      {convs.map((c) => (
        <li class={c.peer === selected ? "active" : ""} data-peer={c.peer}>
          <a href={chatUrl(c.peer)} {...(c.peer === selected ? { "aria-current": "page" } : {})}>
            <span class="conv-name">
              {c.name} <code>{shortId(c.peer)}</code>
              {c.paired ? null : <span class="sub"> (removed)</span>}
            </span>
            <span class="conv-counts">
              {c.unread ? (
                <span class="count unread" title={count(c.unread, "unread message")}>
                  {c.unread}
                </span>
              ) : null}
              {c.queued ? (
                <span class="count queued" title={count(c.queued, "queued message")}>
                  ⏳ {c.queued}
                </span>
              ) : null}
              {c.failed ? (
                <span class="count failed" title={count(c.failed, "failed message")}>
                  ✗ {c.failed}
                </span>
              ) : null}
            </span>
            <span class="conv-last">
              {c.last ? `${c.last.direction === "out" ? "You: " : ""}${preview(c.last.text)}` : "no messages yet"}
            </span>
          </a>
        </li>
      ))}
    </>
  );
}

/** The send form; htmx swaps it back (emptied, or with the text and the error). */
export function ChatForm(p: { peer: string; peerName: string; csrf?: string; draft?: string; error?: string; notice?: string }) {
  return (
    <form
      id="chat-form"
      method="post"
      action={chatUrl(p.peer)}
      hx-post={chatUrl(p.peer)}
      hx-target="this"
      hx-swap="outerHTML"
      hx-disabled-elt="find button"
    >
      {p.csrf ? <input type="hidden" name="_csrf" value={p.csrf} /> : null}
      <label for="chat-text" class="visually-hidden">
        Message to {p.peerName}
      </label>
      <textarea
        id="chat-text"
        name="text"
        rows={3}
        maxlength={MAX_MESSAGE_CHARS}
        required
        placeholder={`Message to ${p.peerName} (Enter sends, Shift+Enter: new line)`}
        autofocus
      >
        {p.draft ?? ""}
      </textarea>
      <div class="chat-actions">
        <button type="submit" id="chat-send">
          Send
        </button>
        {p.error ? (
          <p class="error" id="chat-error" role="alert">
            {p.error}
          </p>
        ) : null}
        {p.notice ? (
          <p class="notice" id="chat-notice" role="status">
            {p.notice}
          </p>
        ) : null}
      </div>
    </form>
  );
}

export interface ChatSelection {
  id: string;
  name: string;
  paired: boolean;
  messages: MessageView[];
}

export function ChatPage(p: { csrf?: string; convs: Conversation[]; selected: ChatSelection | null; draft?: string; error?: string }) {
  const sel = p.selected;
  return (
    <>
      <h1>Chat</h1>
      <div class="chat" hx-ext="sse" sse-connect={sel ? chatUrl(sel.id, "/events") : "/chat/events"}>
        <nav class="chat-peers card" aria-label="Conversations">
          <ul id="chat-peers" sse-swap="peers">
            <ConversationItems convs={p.convs} selected={sel?.id ?? null} />
          </ul>
        </nav>
        <section class="chat-main card" aria-label={sel ? `Conversation with ${sel.name}` : "Conversation"}>
          {!sel ? (
            <p class="empty" id="chat-choose">
              Choose a peer on the left to read and send messages. Messages are sealed end to end: only that cell can read them.
            </p>
          ) : (
            <>
              <h2>
                {sel.name} <code title={sel.id}>{sel.id.slice(0, 12)}</code>
              </h2>
              <ol id="chat-log" sse-swap="log" aria-live="polite">
                <MessageItems messages={sel.messages} peerName={sel.name} />
              </ol>
              {sel.paired ? (
                <ChatForm peer={sel.id} peerName={sel.name} csrf={p.csrf} draft={p.draft} error={p.error} />
              ) : (
                <p class="notice" id="chat-removed">
                  This cell is no longer paired: its messages stay here, new ones cannot be sent.
                </p>
              )}
            </>
          )}
        </section>
      </div>
    </>
  );
}
