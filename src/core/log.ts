/** @module core/log — one-line, timestamped log records on stderr. */
import { displayName } from "./unsafe-text.ts";

export type LogLevel = "info" | "warn" | "error";

let quiet = false;
const taps = new Set<(line: string) => void>();

/** Also hand every record to `fn` (tests that run a cell in process read its log); returns how to stop. */
export function tapLog(fn: (line: string) => void): () => void {
  taps.add(fn);
  return () => taps.delete(fn);
}
/** Silence info lines (tests and CLI one-shots). Warnings and errors still print. */
export function setQuiet(q: boolean): void {
  quiet = q;
}

/**
 * Log one line: `2026-11-22T10:00:00.000Z warn  upload refused: path contains '..'`. Messages
 * and fields may quote other cells (names, refusals): control, bidi and invisible characters,
 * newlines included, are written as escapes (core/unsafe-text), so a record stays one line and
 * cannot rewrite the terminal or fake another record.
 */
export function log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  if (quiet && level === "info") return;
  const extra = fields
    ? " " +
      Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ")
    : "";
  const line = `${new Date().toISOString()} ${level.padEnd(5)} ${displayName(msg + extra)}\n`;
  process.stderr.write(line);
  for (const t of taps) t(line);
}
