/**
 * @module config/config-file — config.json as a file that a running cell changes itself (the
 * dashboard's Settings form): read it as it is, to merge into (keys it lacks stay lacking,
 * unknown keys stay), and write it back atomically with its mode kept, so the cell's watcher of
 * the file (runtime/runtime) and its sync Worker only ever read a whole file.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { writeFileAtomicSync } from "../core/atomic.ts";

/** The file's JSON object ({} when there is no file yet), or why it cannot be merged into. */
export function readConfigObject(path: string): { ok: true; raw: Record<string, unknown> } | { ok: false; error: string } {
  if (!existsSync(path)) return { ok: true, raw: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return { ok: false, error: "it is not valid JSON" };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: false, error: "it does not hold a JSON object" };
  return { ok: true, raw: raw as Record<string, unknown> };
}

/** Write `raw` as config.json (two-space JSON, a final newline), atomically, keeping the file's mode (644 for a new file). */
export function writeConfigObject(path: string, raw: Record<string, unknown>): void {
  const mode = existsSync(path) ? statSync(path).mode & 0o777 : 0o644;
  writeFileAtomicSync(path, JSON.stringify(raw, null, 2) + "\n", mode);
}
