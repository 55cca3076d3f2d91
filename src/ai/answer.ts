/**
 * @module ai/answer — what every way of answering (the model host, Ollama, a friend's cell)
 * yields: the answer's pieces in order, then one `done` with its figures. The assistant turns
 * these into its AskEvents; the peer channel carries them between cells.
 */
import { sha256 } from "../core/sha256.ts";
import type { ChatTurn } from "./llm-protocol.ts";

export interface AnswerFigures {
  /** Tokens generated. */
  tokens: number;
  /** Tokens read before answering (system prompt, history, question); 0 when unknown. */
  prompt_tokens: number;
  /** Time to the whole answer, ms (the model's load not included). */
  ms: number;
  first_token_ms: number | null;
  /** Time to load the model, 0 when it was already loaded. */
  load_ms: number;
}

export type AnswerEvent = { token: string } | ({ done: true } & AnswerFigures);

/** A question for one model, with what comes before it. */
export interface Question {
  system: string;
  history: ChatTurn[];
  question: string;
  max_tokens: number;
  temperature: number;
}

/** SHA-256 (hex) of a whole answer: the pieces joined, UTF-8. */
export function answerDigest(pieces: readonly string[]): string {
  const h = sha256();
  for (const p of pieces) h.update(p, "utf8");
  return h.digest("hex");
}
