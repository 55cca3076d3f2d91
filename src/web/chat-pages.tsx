/** @jsxImportSource hono/jsx */
/**
 * @module web/chat-pages — the Chat tab (mounted at /chat by web/dashboard, behind its login):
 * GET /chat, GET /chat/:peer (the conversation; marks it read), POST /chat/:peer (send; the
 * session's CSRF token; htmx gets the form back plus the log out of band, a plain post a
 * redirect), and the live updates: GET /chat/:peer/events and GET /chat/events, Server-Sent
 * Events that push the conversation (`log`) and the conversation list (`peers`) whenever a
 * message arrives or changes state, with a keep-alive comment every 20 s. A stream's listener
 * goes when its client disconnects.
 */
import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import { badRequest, errorMessage, GroveError } from "../core/errors.ts";
import type { CellId } from "../core/types.ts";
import type { WebServices } from "./services.ts";
import { ChatForm, ChatPage, ConversationItems, MessageItems, type ChatSelection } from "../../views/chat.tsx";
import type { WebEnv } from "./context.ts";
import { info, requireCsrf } from "./page-helpers.tsx";
import { log } from "../core/log.ts";
import { shortId } from "../core/format.ts";
import { humanError, humanProblem, isTechnical } from "../../views/human-error.ts";

/** Messages shown on the page (the newest). */
const PAGE_MESSAGES = 200;
/** A comment on an idle stream this often keeps it (and proxies) from timing out. */
export const KEEPALIVE_MS = 20_000;
/** Changes this close together are pushed as one update. */
const COALESCE_MS = 30;

const render = async (node: unknown): Promise<string> => String(await (node as { toString(): string | Promise<string> }).toString());

export function chatPages(s: Pick<WebServices, "messenger">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const messenger = s.messenger;

  const selection = (peer: string): ChatSelection => messenger.conversation(peer, { limit: PAGE_MESSAGES, markRead: true });

  const page = (
    c: Context<WebEnv>,
    sel: ChatSelection | null,
    extra: { draft?: string; error?: string } = {},
    status: 200 | 400 | 404 = 200,
  ) => {
    c.status(status);
    return c.render(<ChatPage csrf={c.var.session?.csrf} convs={messenger.conversations()} selected={sel} {...extra} />, {
      ...info(c, sel ? `Chat · ${sel.name}` : "Chat", "chat"),
      sse: true,
    });
  };

  /** The live stream for a page: `peer`'s conversation (when one is open) and the list. */
  const events = (c: Context<WebEnv>, peer: CellId | null, peerName: string) =>
    streamSSE(c, async (stream) => {
      let wantLog = false;
      let wantPeers = false;
      let timer: ReturnType<typeof setTimeout> | null = null;
      // One write at a time; a slow client makes updates wait (and merge), never pile up.
      let writing: Promise<void> = Promise.resolve();
      const flush = () => {
        timer = null;
        writing = writing
          .then(async () => {
            const log = wantLog && peer !== null;
            const peers = wantPeers;
            wantLog = wantPeers = false;
            if (stream.aborted || stream.closed) return;
            if (log) {
              const conv = messenger.conversation(peer, { limit: PAGE_MESSAGES, markRead: true });
              await stream.writeSSE({ event: "log", data: await render(<MessageItems messages={conv.messages} peerName={peerName} />) });
            }
            if (peers)
              await stream.writeSSE({
                event: "peers",
                data: await render(<ConversationItems convs={messenger.conversations()} selected={peer} />),
              });
          })
          .catch(() => {});
      };
      const want = (log: boolean) => {
        wantLog ||= log;
        wantPeers = true;
        timer ??= setTimeout(flush, COALESCE_MS);
      };
      const off = messenger.subscribe((e) => want(e.peer === peer));
      const beat = setInterval(() => void stream.write(": keep-alive\n\n"), KEEPALIVE_MS);
      // The state now: covers what changed between the page's render and this connection.
      want(true);
      await new Promise<void>((resolve) => {
        stream.onAbort(resolve);
        c.req.raw.signal.addEventListener("abort", () => resolve(), { once: true });
        if (c.req.raw.signal.aborted) resolve();
      });
      off();
      clearInterval(beat);
      if (timer) clearTimeout(timer);
    });

  app.get("/", (c) => page(c, null));
  app.get("/events", (c) => events(c, null, ""));

  app.get("/:peer", (c) => {
    const raw = c.req.param("peer");
    const sel = selection(raw);
    if (raw !== sel.id) return c.redirect(`/chat/${sel.id}`, 302); // one URL per conversation
    return page(c, sel);
  });

  app.get("/:peer/events", (c) => {
    const p = messenger.resolvePeer(c.req.param("peer"));
    return events(c, p.id, p.name);
  });

  // Send from the form. htmx: the form comes back (emptied, or with the text and the error) and
  // the log out of band; the live stream pushes the same log too (whichever comes last wins,
  // both are whole). Without JavaScript: a redirect to the conversation, or the page with the error.
  app.post("/:peer", async (c) => {
    await requireCsrf(c);
    const body = await c.req.parseBody().catch(() => {
      throw badRequest("malformed form body");
    });
    const text = typeof body["text"] === "string" ? body["text"] : "";
    const htmx = Boolean(c.req.header("hx-request"));
    const to = messenger.resolvePeer(c.req.param("peer"));
    const csrf = c.var.session?.csrf;
    try {
      const m = await messenger.send(to.id, text);
      if (!htmx) return c.redirect(`/chat/${m.peer}`, 303);
      const conv = selection(to.id);
      const reason = m.error && isTechnical(m.error) ? humanProblem(m.error, to.name) : m.error;
      const notice =
        m.state === "queued"
          ? `Queued, not delivered yet: ${reason ?? `${to.name} did not answer; it will be sent when it does`}.`
          : undefined;
      return c.html(
        <>
          <ChatForm peer={to.id} peerName={to.name} csrf={csrf} notice={notice} />
          <ol id="chat-log" hx-swap-oob="innerHTML">
            <MessageItems messages={conv.messages} peerName={to.name} />
          </ol>
        </>,
      );
    } catch (e) {
      const status = e instanceof GroveError && e.status < 500 ? e.status : 500;
      if (status >= 500) log("warn", "chat message not sent", { to: shortId(to.id), why: errorMessage(e) });
      const error = `Not sent: ${humanError(e, to.name)}`;
      if (htmx) return c.html(<ChatForm peer={to.id} peerName={to.name} csrf={csrf} draft={text} error={error} />);
      return page(c, selection(to.id), { draft: text, error }, status === 404 ? 404 : 400);
    }
  });

  return app;
}
