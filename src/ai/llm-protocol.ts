/**
 * @module ai/llm-protocol — the messages between the cell and its model host process (ai/llm-host),
 * one JSON object per line: requests on the host's stdin, events on its stdout. Both sides check
 * what they read with these schemas.
 *
 * cell → host
 *   {op:"chat", id, model:{path, key}, threads, system, history:[{role, text}], question, max_tokens, temperature}
 *   {op:"cancel", id}            stop generating for request `id` (it still ends with `done`)
 * host → cell
 *   {ev:"ready"}                 once, when the host is listening
 *   {id, ev:"loaded", ms, warm}  the model is loaded (`warm`: it already was)
 *   {id, ev:"token", text}       a piece of the answer, in order
 *   {id, ev:"done", tokens, prompt_tokens, ms, first_token_ms, load_ms}
 *   {id, ev:"error", message}    the request failed (the host keeps running)
 * A host that dies (a native abort, exit 134) says nothing more: the cell sees the exit.
 */
import { z } from "zod";

export const ChatTurn = z.object({ role: z.enum(["user", "assistant"]), text: z.string() });
export type ChatTurn = z.infer<typeof ChatTurn>;

export const HostRequest = z.discriminatedUnion("op", [
  z.object({
    op: z.literal("chat"),
    id: z.number().int(),
    /** `key` changes when the file does (path, size, mtime): a changed file is loaded again. */
    model: z.object({ path: z.string(), key: z.string() }),
    /** Threads for evaluation; 0 = one per core. */
    threads: z.number().int().min(0),
    system: z.string(),
    history: z.array(ChatTurn),
    question: z.string(),
    max_tokens: z.number().int().positive(),
    /** 0 = greedy (the same answer every time). */
    temperature: z.number().min(0).max(2),
  }),
  z.object({ op: z.literal("cancel"), id: z.number().int() }),
]);
export type HostRequest = z.infer<typeof HostRequest>;
export type ChatRequest = Extract<HostRequest, { op: "chat" }>;

export const HostEvent = z.discriminatedUnion("ev", [
  z.object({ ev: z.literal("ready") }),
  z.object({ ev: z.literal("loaded"), id: z.number().int(), ms: z.number(), warm: z.boolean() }),
  z.object({ ev: z.literal("token"), id: z.number().int(), text: z.string() }),
  z.object({
    ev: z.literal("done"),
    id: z.number().int(),
    tokens: z.number().int(),
    prompt_tokens: z.number().int(),
    ms: z.number(),
    first_token_ms: z.number().nullable(),
    load_ms: z.number(),
  }),
  z.object({ ev: z.literal("error"), id: z.number().int(), message: z.string() }),
]);
export type HostEvent = z.infer<typeof HostEvent>;

/** The hidden CLI argument that turns a `grove` process into a model host. */
export const LLM_HOST_ARG = "__llm-host";
