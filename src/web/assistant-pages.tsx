/** @jsxImportSource hono/jsx */
/**
 * @module web/assistant-pages — the Assistant (mounted at /assistant by web/dashboard, behind
 * its login; listed first in the Chat tab): GET /assistant (a new conversation), GET
 * /assistant/c/:id (a conversation from SQLite), POST /assistant/ask (the session's CSRF token;
 * htmx gets the question and a turn that streams the answer, a plain post waits for the whole
 * answer and is redirected to the conversation), GET /assistant/stream/:ask (the answer as
 * Server-Sent Events: `token` pieces, then `done` or `error`, then `end`; each asked question
 * streams once), GET /assistant/models (the models section) and POST /assistant/models (a
 * model upload as a form, for browsers without JavaScript; app.js sends the file to
 * PUT /api/models/NAME instead, streamed).
 */
import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import { randomBytes } from "node:crypto";
import type { Assistant, AskEvent, AskRequest } from "../ai/assistant.ts";
import { badRequest, errorMessage, GroveError, tooLarge } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { formatBytes } from "../core/format.ts";
import type { WebServices } from "./services.ts";
import {
  AnswerMeta,
  AskForm,
  AssistantPage,
  ASSISTANT_URL,
  ConversationList,
  ModelsSection,
  PendingTurn,
  type CellNames,
} from "../../views/assistant.tsx";
import type { WebEnv } from "./context.ts";
import { info, requireCsrf } from "./page-helpers.tsx";
import { humanError } from "../../views/human-error.ts";

/** An asked question waits this long for its stream to connect. */
const PENDING_MS = 120_000;
/** A model sent as a form (no JavaScript) is read whole: at most this big. */
const FORM_UPLOAD_MAX = 1024 ** 3;

const render = async (node: unknown): Promise<string> => String(await (node as { toString(): string | Promise<string> }).toString());
const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The picker's value as a request: "" (automatic), "own:NAME", "peer:ID:NAME". */
export function parseTarget(v: string): Pick<AskRequest, "model" | "peer"> {
  if (v === "") return {};
  if (v.startsWith("own:") && v.length > 4) return { model: v.slice(4) };
  const m = /^peer:([0-9a-f]{64}):(.+)$/.exec(v);
  if (m) return { peer: m[1]!, model: m[2]! };
  throw badRequest(`unknown model choice ${JSON.stringify(v.slice(0, 80))}`);
}

interface Pending {
  req: AskRequest;
  target: string;
  at: number;
}

export function assistantPages(s: Pick<WebServices, "assistant" | "cell" | "peers">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const pending = new Map<string, Pending>();

  const assistant = (): Assistant => {
    const a = s.assistant;
    if (!a) throw new GroveError("local AI is not running on this cell", 503, "unavailable");
    return a;
  };
  const names = (): CellNames => ({ selfId: s.cell.keys.id, names: new Map(s.peers.list().map((p) => [p.id, p.name])) });
  /** Who was asked, for an error's words: the friend's cell by name, else "the cell answering". */
  const asked = (req: Pick<AskRequest, "peer">) => (req.peer ? (s.peers.get(req.peer)?.name ?? "the friend's cell") : "the cell answering");
  /** A question not answered: the technical reason to the log, words to the page. */
  const notAnswered = (req: Pick<AskRequest, "peer">, e: unknown) => {
    log("info", "assistant question not answered", { why: errorMessage(e) });
    return `Not answered: ${humanError(e, asked(req))}`;
  };

  const page = async (
    c: Context<WebEnv>,
    convId: string | null,
    extra: { target?: string; draft?: string; error?: string; uploadNotice?: string; uploadError?: string } = {},
    status: 200 | 400 | 403 | 404 | 413 | 502 = 200,
  ) => {
    const a = assistant();
    const selected = convId ? a.conversation(convId) : null;
    const target =
      extra.target ??
      (selected && selected.cell && selected.cell !== s.cell.keys.id
        ? `peer:${selected.cell}:${selected.model}`
        : selected
          ? `own:${selected.model}`
          : "");
    const frame = { ...info(c, selected ? `Assistant · ${selected.title}` : "Assistant", "chat"), sse: true };
    c.status(status);
    return c.render(
      <AssistantPage
        csrf={c.var.session?.csrf}
        convs={a.conversations()}
        selected={selected}
        names={names()}
        models={await a.models()}
        friends={a.friendModels()}
        ollama={a.ollamaStatus()}
        target={target}
        draft={extra.draft}
        error={extra.error}
        uploadNotice={extra.uploadNotice}
        uploadError={extra.uploadError}
      />,
      frame,
    );
  };

  const sweep = () => {
    const now = Date.now();
    for (const [id, p] of pending) if (now - p.at > PENDING_MS) pending.delete(id);
  };

  app.get("/", (c) => page(c, null));
  app.get("/c/:id", (c) => page(c, c.req.param("id")));
  app.get("/models", async (c) => {
    const a = assistant();
    return c.html(
      <ModelsSection models={await a.models()} friends={a.friendModels()} ollama={a.ollamaStatus()} csrf={c.var.session?.csrf} />,
    );
  });

  app.post("/ask", async (c) => {
    await requireCsrf(c);
    const a = assistant();
    const body = await c.req.parseBody().catch(() => {
      throw badRequest("malformed form body");
    });
    const str = (k: string) => (typeof body[k] === "string" ? (body[k] as string) : "");
    const question = str("question");
    const target = str("target");
    const conversation = str("conversation") || undefined;
    const htmx = Boolean(c.req.header("hx-request"));
    const csrf = c.var.session?.csrf;
    let req: AskRequest;
    try {
      if (!question.trim()) throw badRequest("the question is empty");
      req = { question, conversation, ...parseTarget(target) };
    } catch (e) {
      const error = `Not asked: ${humanError(e)}`;
      if (!htmx) return page(c, conversation ?? null, { target, draft: question, error }, 400);
      c.header("HX-Retarget", "#assistant-form");
      c.header("HX-Reswap", "outerHTML");
      return c.html(
        <AskForm
          csrf={csrf}
          conversation={conversation ?? null}
          models={await a.models(false)}
          friends={a.friendModels()}
          target={target}
          draft={question}
          error={error}
        />,
      );
    }
    if (!htmx) {
      // No JavaScript: answer in full, then show the conversation.
      try {
        let done: Extract<AskEvent, { done: true }> | null = null;
        for await (const ev of a.ask(req, c.req.raw.signal)) if ("done" in ev) done = ev;
        if (!done) throw new GroveError("the answer stopped before it was complete", 502, "model_failed");
        return c.redirect(`${ASSISTANT_URL}/c/${done.conversation}`, 303);
      } catch (e) {
        const status = e instanceof GroveError ? e.status : 500;
        return page(
          c,
          conversation ?? null,
          { target, draft: question, error: notAnswered(req, e) },
          status === 403 || status === 404 || status === 400 ? status : 502,
        );
      }
    }
    sweep();
    const id = randomBytes(12).toString("hex");
    pending.set(id, { req, target, at: Date.now() });
    return c.html(
      <>
        <PendingTurn question={question} streamUrl={`${ASSISTANT_URL}/stream/${id}`} />
        <AskForm
          oob
          waiting
          csrf={csrf}
          conversation={conversation ?? null}
          models={await a.models(false)}
          friends={a.friendModels()}
          target={target}
        />
      </>,
    );
  });

  app.get("/stream/:id", (c) => {
    const p = pending.get(c.req.param("id"));
    if (!p) return c.text("this answer was streamed already, or its question expired: ask again", 404);
    pending.delete(c.req.param("id"));
    const a = assistant();
    const csrf = c.var.session?.csrf;
    return streamSSE(c, async (stream) => {
      const stop = new AbortController();
      stream.onAbort(() => stop.abort());
      c.req.raw.signal.addEventListener("abort", () => stop.abort(), { once: true });
      const form = async (conversation: string | null, extra: { draft?: string; error?: string } = {}) =>
        render(
          <AskForm
            oob
            csrf={csrf}
            conversation={conversation}
            models={await a.models(false)}
            friends={a.friendModels()}
            target={p.target}
            {...extra}
          />,
        );
      try {
        for await (const ev of a.ask(p.req, stop.signal)) {
          if (stream.aborted) return;
          if ("token" in ev) {
            await stream.writeSSE({ event: "token", data: escapeHtml(ev.token) });
            continue;
          }
          const meta = await render(<AnswerMeta model={ev.model} cell={ev.cell} tokens={ev.tokens} ms={ev.ms} names={names()} />);
          const convs = await render(
            <ul id="assistant-convs" hx-swap-oob="innerHTML">
              <ConversationList convs={a.conversations()} selected={ev.conversation} />
            </ul>,
          );
          const title = await render(
            <h2 id="assistant-title" hx-swap-oob="true">
              {a.conversation(ev.conversation).title}
            </h2>,
          );
          await stream.writeSSE({ event: "done", data: meta + (await form(ev.conversation)) + convs + title });
        }
      } catch (e) {
        if (stop.signal.aborted) return;
        const msg = notAnswered(p.req, e);
        const error = await render(
          <span class="error" role="alert">
            {msg}
          </span>,
        );
        await stream
          .writeSSE({
            event: "error",
            data: error + (await form(p.req.conversation ?? null, { draft: p.req.question, error: msg })),
          })
          .catch(() => {});
      }
      await stream.writeSSE({ event: "end", data: "end" }).catch(() => {});
    });
  });

  // A model as a form upload (browsers without JavaScript; app.js streams it to the API instead).
  app.post("/models", async (c) => {
    await requireCsrf(c);
    const a = assistant();
    const len = Number(c.req.header("content-length") ?? 0);
    const max = Math.min(FORM_UPLOAD_MAX, c.var.cell.config.max_upload_bytes);
    try {
      if (len > max)
        throw tooLarge(
          `a model sent without JavaScript is at most ${formatBytes(max)} here: turn JavaScript on in this browser to upload larger ones`,
        );
      const body = await c.req.parseBody().catch(() => {
        throw badRequest("malformed form body");
      });
      const file = body["file"];
      if (!(file instanceof File) || !file.name) throw badRequest("choose a .gguf file to upload");
      const entry = await a.modelDir.save(file.name, file.stream(), max);
      log("info", "model stored", { name: entry.name, size: entry.size });
      void a.refreshCardModels().catch(() => {});
      return page(c, null, { uploadNotice: `Stored ${entry.name}.` });
    } catch (e) {
      const status = e instanceof GroveError && e.status < 500 ? e.status : 502;
      log("info", "model upload from the dashboard failed", { why: errorMessage(e) });
      return page(c, null, { uploadError: `Not stored: ${humanError(e, "this cell")}` }, status === 413 ? 413 : status === 404 ? 404 : 400);
    }
  });

  return app;
}
