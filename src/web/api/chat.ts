/**
 * @module web/api/chat — local AI over the local API (token or session):
 *   GET    /api/models            this cell's models ([ListedModel]): the model files with their
 *                                 headers, then an Ollama's models (source "ollama"), each
 *                                 with its last measured tokens/s
 *   GET    /api/models/friends    the models friends' cards offer ([Offer]: peer, peer_name,
 *                                 model {name, source, parameters, size, tokens_per_s}, route_score)
 *   PUT    /api/models/:name      upload a model: the raw .gguf as the body, streamed to disk
 *                                 (GGUF magic checked, at most max_upload_bytes); 201
 *   DELETE /api/models/:name      remove a model
 *   POST   /api/chat              {question, conversation?, model?, peer?, max_tokens?, temperature?}:
 *                                 the answer, streamed as NDJSON (application/x-ndjson), one
 *                                 object per line: {"token": "…"} for each piece, then
 *                                 {"done": true, conversation, model, cell, cell_name, source,
 *                                 tokens, ms, …}; `peer` (an id or unique prefix) asks that
 *                                 friend's cell (see ai/assistant for who answers otherwise); a failure
 *                                 after the first line is a last line {"error": "…"}. With
 *                                 `Accept: text/event-stream` the same objects come as SSE
 *                                 events named token, done and error. Failures before the
 *                                 first piece (bad request, no model, model failed to load, a
 *                                 peer's refusal) are plain JSON errors with their status
 *                                 (400/403/404/502).
 *   GET    /api/chat              conversations, the most recent first
 *   GET    /api/chat/:id          one conversation with its turns
 * The assistant is the running cell's (web/services `assistant`).
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { Assistant, AskEvent } from "../../ai/assistant.ts";
import { errorMessage, GroveError, tooLarge } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import type { WebEnv } from "../context.ts";
import type { WebServices } from "../services.ts";
import { jsonBody } from "../json-body.ts";

const AskBody = z.strictObject({
  question: z
    .string()
    .min(1)
    .max(32 * 1024),
  conversation: z
    .string()
    .regex(/^[0-9a-f]{16}$/, "a conversation id is 16 hex characters")
    .optional(),
  model: z.string().min(1).max(200).optional(),
  max_tokens: z.number().int().positive().max(32768).optional(),
  temperature: z.number().min(0).max(2).optional(),
  peer: z
    .string()
    .regex(/^[0-9a-fA-F]{4,64}$/, "a peer id is 4 to 64 hex characters")
    .optional(),
});

/** The cell's assistant, or 503 in an app built without one. */
export function needAssistant(s: Pick<WebServices, "assistant">): Assistant {
  if (!s.assistant) throw new GroveError("local AI is not running on this cell", 503, "unavailable");
  return s.assistant;
}

const ndjson = (ev: AskEvent | { error: string }) => JSON.stringify(ev) + "\n";
const sse = (ev: AskEvent | { error: string }) =>
  `event: ${"token" in ev ? "token" : "done" in ev ? "done" : "error"}\ndata: ${JSON.stringify(ev)}\n\n`;

export function chatApi(s: Pick<WebServices, "assistant">): Hono<WebEnv> {
  const chatApi = new Hono<WebEnv>();
  const assistantOf = (_c: Context<WebEnv>) => needAssistant(s);

  chatApi.get("/models", async (c) => c.json(await assistantOf(c).models()));
  chatApi.get("/models/friends", (c) => c.json(assistantOf(c).friendModels()));

  chatApi.put("/models/:name", async (c) => {
    const a = assistantOf(c);
    const max = c.var.cell.config.max_upload_bytes;
    const len = c.req.header("content-length");
    if (len !== undefined && Number(len) > max) throw tooLarge(`model upload of ${len} bytes is larger than max_upload_bytes (${max})`);
    const body = c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (ctl) => ctl.close() });
    const entry = await a.modelDir.save(c.req.param("name"), body, max);
    log("info", "model stored", { name: entry.name, size: entry.size, error: entry.error ?? undefined });
    void a.refreshCardModels().catch(() => {});
    return c.json(entry, 201);
  });

  chatApi.delete("/models/:name", async (c) => {
    const name = c.req.param("name");
    const a = assistantOf(c);
    await a.modelDir.remove(name);
    log("info", "model removed", { name });
    void a.refreshCardModels().catch(() => {});
    return c.json({ deleted: name });
  });

  chatApi.get("/chat", (c) => c.json(assistantOf(c).conversations()));
  chatApi.get("/chat/:id", (c) => c.json(assistantOf(c).conversation(c.req.param("id"))));

  chatApi.post("/chat", async (c) => {
    const a = assistantOf(c);
    const body = await jsonBody(c, AskBody);
    const events = a.ask(body, c.req.raw.signal);
    // The first event decides the status: errors before it (no model, load failure) are plain
    // JSON errors; after it the stream has begun and an error is its last event.
    const first = await events.next();
    const useSse = (c.req.header("accept") ?? "").includes("text/event-stream");
    const format = useSse ? sse : ndjson;
    const enc = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(ctl) {
        if (!first.done) ctl.enqueue(enc.encode(format(first.value)));
        if (first.done) ctl.close();
      },
      async pull(ctl) {
        try {
          const next = await events.next();
          if (next.done) return ctl.close();
          ctl.enqueue(enc.encode(format(next.value)));
        } catch (e) {
          ctl.enqueue(enc.encode(format({ error: errorMessage(e) })));
          ctl.close();
        }
      },
      async cancel() {
        await events.return(undefined);
      },
    });
    return c.body(stream, 200, {
      "Content-Type": useSse ? "text/event-stream; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
    });
  });
  return chatApi;
}
