/**
 * @module protocol/ai-chat — asking a friend's model over the peer API (docs/protocol.md, "AI
 * chat"). The question and every answer are sealed (info `grove/v1/ai`, answers
 * `grove/v1/ai/reply`) and each answer is signed like every peer answer; the answer comes in
 * parts, one part per call, so it streams the same way directly and through a relay:
 *
 *   POST   /peer/ai/chat                  sealed AiQuestion → sealed AiPart (the job, and the
 *                                         first pieces once there are some)
 *   GET    /peer/ai/chat/{job}?after=N&wait=MS
 *                                         → sealed AiPart: pieces from index N on, waiting up
 *                                         to MS (≤ 20 000) for one when there is none yet
 *   DELETE /peer/ai/chat/{job}            → {cancelled}: stop generating
 *
 * The last part has `done`, whose `answer_sha256` covers the whole answer (every piece, in
 * order): with each part signed for its own request, the caller can check that the answer it
 * put together is, piece for piece, the one that cell made.
 */
import { z } from "zod";
import { AI_INFO } from "./labels.ts";

export const AI_REPLY_INFO = `${AI_INFO}/reply`;
/** Earlier turns sent with a question, at most. */
export const MAX_AI_HISTORY = 40;
export const MAX_AI_QUESTION = 32 * 1024;
/** Longest wait a poll may ask for, ms. */
export const MAX_AI_WAIT_MS = 20_000;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const JOB_ID = /^[0-9a-f]{32}$/;

export const AiTurn = z.object({ role: z.enum(["user", "assistant"]), text: z.string().max(1024 * 1024) });

export const AiQuestion = z.object({
  v: z.literal(1),
  /** A model the answering cell offers (its card); null = its first usable one. */
  model: z.string().min(1).max(200).nullable(),
  history: z.array(AiTurn).max(MAX_AI_HISTORY),
  question: z.string().min(1).max(MAX_AI_QUESTION),
  max_tokens: z.number().int().positive().max(32768),
  temperature: z.number().min(0).max(2),
});
export type AiQuestion = z.infer<typeof AiQuestion>;

export const AiDone = z.object({
  model: z.string().min(1).max(200),
  source: z.enum(["local", "ollama"]),
  tokens: z.number().int().min(0),
  prompt_tokens: z.number().int().min(0),
  ms: z.number().min(0),
  first_token_ms: z.number().min(0).nullable(),
  load_ms: z.number().min(0),
  /** Number of pieces in the whole answer. */
  pieces: z.number().int().min(0),
  /** SHA-256 (hex) of the whole answer: every piece, in order, UTF-8. */
  answer_sha256: hex64,
});
export type AiDone = z.infer<typeof AiDone>;

export const AiPart = z.object({
  job: z.string().regex(JOB_ID),
  /** Index of the first piece in `pieces` (the `after` asked for). */
  after: z.number().int().min(0),
  pieces: z.array(z.string()).max(1_000_000),
  /** Set on the last part. */
  done: AiDone.nullable(),
  /** Set when generating failed (the model could not load, the host died): the last part. */
  error: z.string().nullable(),
});
export type AiPart = z.infer<typeof AiPart>;
