/**
 * @module protocol/safe-name — the schema of a name shown to people that comes in a signed
 * object (a card's `name`, a grant's `filename`): refused, never repaired, when it holds a
 * control, bidi or invisible formatting character (core/unsafe-text), since such a name could
 * rewrite a terminal or a log line, or pass for another.
 */
import { z } from "zod";
import { isSafeName, unsafeNameProblem } from "../core/unsafe-text.ts";

/**
 * 1 to `max` characters, none of them unsafe; the issue says which character and where.
 * @example safeName(64).safeParse("a\x1b[2J").success // false
 */
export function safeName(max: number): z.ZodString {
  return z
    .string()
    .min(1)
    .max(max)
    .refine(isSafeName, { error: (issue) => unsafeNameProblem(String(issue.input)) ?? "must not contain control characters" });
}
