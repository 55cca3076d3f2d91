/**
 * Bench helper: the highest figures per cell and thread in a GROVE_MEM_TRACE file
 * (src/sync/mem-trace.ts), one line each, to see which thread's heap or buffers make a cell's peak.
 */
import { existsSync, readFileSync } from "node:fs";
import type { MemSample } from "../../src/sync/mem-trace.ts";

const FIELDS = [
  "hwm_mb",
  "rss_mb",
  "heap_mb",
  "extra_mb",
  "array_buffers",
  "committed_mb",
  "huge_mb",
  "live_heap_mb",
  "live_extra_mb",
] as const;

/** "mem trace FILE:" then one line per pid and thread: max of each figure over its samples. */
export function memTraceSummary(file: string): string {
  if (!existsSync(file)) return `mem trace ${file}: no samples`;
  const by = new Map<string, { n: number; max: Record<(typeof FIELDS)[number], number> }>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const s = JSON.parse(line) as MemSample;
    const key = `pid ${s.pid} ${s.thread}`;
    const cur = by.get(key) ?? { n: 0, max: Object.fromEntries(FIELDS.map((f) => [f, 0])) as Record<(typeof FIELDS)[number], number> };
    cur.n++;
    for (const f of FIELDS) cur.max[f] = Math.max(cur.max[f], s[f] ?? 0);
    by.set(key, cur);
  }
  const lines = [...by].map(([k, v]) => `  ${k} (${v.n} samples): max ${FIELDS.map((f) => `${f} ${v.max[f]}`).join(", ")}`);
  return `mem trace ${file} (MiB, highest per thread):\n${lines.join("\n")}`;
}
