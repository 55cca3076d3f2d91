/**
 * @module ai/speeds — the last measured generation speed of each model this cell runs
 * (GROVE_DIR/llm_speeds.json), for its card: a figure comes from a real answer made here (never
 * a benchmark at start), and only the last one per model is kept. Written atomically.
 *
 *   { "local:tiny.gguf": { "tokens_per_s": 812, "tokens": 64, "at": 1735000000000 }, … }
 */
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { log } from "../core/log.ts";

export type ModelSource = "local" | "ollama";

const Entry = z.object({ tokens_per_s: z.number().min(0), tokens: z.number().int().min(0), at: z.number() });
const File = z.record(z.string(), Entry);
type Entry = z.infer<typeof Entry>;

/** Answers shorter than this say little about speed: not recorded. */
export const MIN_TOKENS_FOR_SPEED = 4;

/** Two significant figures: enough to rank cells, and the card does not change on every answer. */
export function roundSpeed(v: number): number {
  return v > 0 && Number.isFinite(v) ? Number(v.toPrecision(2)) : 0;
}

/**
 * Tokens per second of generation from an answer's figures: the tokens after the first over
 * the time after the first (prompt evaluation left out); null for an answer too short to tell.
 */
export function generationSpeed(tokens: number, ms: number, firstTokenMs: number | null): number | null {
  if (tokens < MIN_TOKENS_FOR_SPEED) return null;
  const genMs = ms - (firstTokenMs ?? 0);
  if (genMs > 0) return ((tokens - 1) * 1000) / genMs;
  return ms > 0 ? (tokens * 1000) / ms : null;
}

export class SpeedFile {
  private data: Record<string, Entry> = {};

  constructor(private path: string | null) {
    if (!path || !existsSync(path)) return;
    try {
      const parsed = File.safeParse(JSON.parse(readFileSync(path, "utf8")));
      if (parsed.success) this.data = parsed.data;
      else log("warn", `${path}: malformed, measured model speeds start over`);
    } catch {
      log("warn", `${path}: unreadable, measured model speeds start over`);
    }
  }

  /** The last figure for a model, or null when it never answered here. */
  get(source: ModelSource, name: string): number | null {
    return this.data[`${source}:${name}`]?.tokens_per_s ?? null;
  }

  /** Keep `tokensPerS` as the model's figure (rounded); true when the kept figure changed. */
  record(source: ModelSource, name: string, tokensPerS: number, tokens: number, at = Date.now()): boolean {
    const key = `${source}:${name}`;
    const v = roundSpeed(tokensPerS);
    const before = this.data[key]?.tokens_per_s;
    this.data[key] = { tokens_per_s: v, tokens, at };
    if (this.path) {
      try {
        writeFileAtomicSync(this.path, JSON.stringify(this.data, null, 1) + "\n", 0o600);
      } catch (e) {
        log("warn", "could not write the model speeds", { why: (e as Error).message });
      }
    }
    return before !== v;
  }
}
