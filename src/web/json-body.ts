/** @module web/json-body — read a request's JSON body and check it against a zod schema (400 with the first problem otherwise). */
import type { Context } from "hono";
import type { z } from "zod";
import { badRequest } from "../core/errors.ts";
import { plainIssue } from "../core/plain-issue.ts";
import type { WebEnv } from "./context.ts";

/** An empty body counts as `{}`, so endpoints whose fields are all optional accept a bare POST. */
export async function jsonBody<T>(c: Context<WebEnv>, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown = {};
  const text = await c.req.text();
  if (text.trim()) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw badRequest("body must be JSON");
    }
  }
  const r = schema.safeParse(raw, { error: plainIssue });
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw badRequest(`bad request body: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return r.data;
}
