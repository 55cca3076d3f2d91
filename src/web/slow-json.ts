/**
 * @module web/slow-json — answer with JSON that takes long to compute (a sync round, fsck): the
 * body is streamed, a newline every HEARTBEAT_MS until the result (leading whitespace keeps it
 * valid JSON), so Bun.serve's idle timeout never cuts the answer. A failure ends the body with
 * {"error": "<prefix>: <reason>"}.
 */
import type { Context } from "hono";
import { errorMessage } from "../core/errors.ts";
import type { WebEnv } from "./context.ts";

export const HEARTBEAT_MS = 10_000;

export function slowJson(c: Context<WebEnv>, result: Promise<unknown>, failPrefix: string): Response {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(ctl) {
      const beat = setInterval(() => ctl.enqueue(enc.encode("\n")), HEARTBEAT_MS);
      try {
        ctl.enqueue(enc.encode(JSON.stringify(await result)));
      } catch (e) {
        ctl.enqueue(enc.encode(JSON.stringify({ error: `${failPrefix}: ${errorMessage(e)}` })));
      } finally {
        clearInterval(beat);
        ctl.close();
      }
    },
  });
  return c.body(body, 200, { "Content-Type": "application/json" });
}
