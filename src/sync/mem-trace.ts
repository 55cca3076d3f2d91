/**
 * @module sync/mem-trace — a debugging aid, off unless GROVE_MEM_TRACE names a file: each thread
 * that calls `startMemTrace` (the cell's main thread through sync/sync-service, the sync Worker)
 * appends one JSON line a second (GROVE_MEM_TRACE_MS: another interval) to it: the process's RSS and peak (VmHWM), this thread's JS heap
 * and the ArrayBuffer bytes it keeps outside the heap (bun:jsc heapStats), mimalloc's committed
 * bytes, and the ArrayBuffer count. Lines carry the pid and the thread, so two cells may share a
 * file. Used to find where a cell's memory goes (bench/replicate.ts --mem-trace). With
 * GROVE_MEM_TRACE_GC=1 each sample is followed by a full collection, and what survives it is
 * written too: live bytes versus garbage the collector had not reached yet.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { heapStats } from "bun:jsc";

/** One sample, as written. Memory figures are MiB. */
export interface MemSample {
  t: number;
  pid: number;
  thread: string;
  rss_mb: number;
  hwm_mb: number;
  /** RSS split: anonymous memory, and mapped files (the bun executable's pages mostly). */
  anon_mb: number;
  file_mb: number;
  heap_mb: number;
  heap_capacity_mb: number;
  /** ArrayBuffer and string bytes outside the JS heap, as this thread's heap reports them. */
  extra_mb: number;
  array_buffers: number;
  /** mimalloc: bytes committed by the whole process, and in huge (> 32 MiB class) blocks. */
  committed_mb: number;
  huge_mb: number;
  /** The most numerous kinds of object on this thread's heap (garbage not yet collected included). */
  top: string;
  /** With GROVE_MEM_TRACE_GC=1: this thread's heap and extra bytes after a full collection (what is live). */
  live_heap_mb?: number;
  live_extra_mb?: number;
}

const mib = (n: number) => Math.round((n / (1024 * 1024)) * 10) / 10;

/** VmRSS, VmHWM, RssAnon and RssFile in MiB from /proc/self/status (0 where there is none). */
function procStatus(): { rss: number; hwm: number; anon: number; file: number } {
  try {
    const s = readFileSync("/proc/self/status", "utf8");
    const mb = (k: string) => Math.round((Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? 0) / 1024) * 10) / 10;
    return { rss: mb("VmRSS"), hwm: mb("VmHWM"), anon: mb("RssAnon"), file: mb("RssFile") };
  } catch {
    return { rss: 0, hwm: 0, anon: 0, file: 0 };
  }
}

interface MimallocStats {
  committed?: { current?: number };
  malloc_huge?: { current?: number };
}

/** Sample this thread now. */
export function memSample(thread: string): MemSample {
  const h = heapStats();
  const mi = (h as unknown as { mimalloc?: MimallocStats }).mimalloc;
  const p = procStatus();
  return {
    t: Date.now(),
    pid: process.pid,
    thread,
    rss_mb: p.rss,
    hwm_mb: p.hwm,
    anon_mb: p.anon,
    file_mb: p.file,
    heap_mb: mib(h.heapSize),
    heap_capacity_mb: mib(h.heapCapacity),
    extra_mb: mib(h.extraMemorySize),
    array_buffers: h.objectTypeCounts.ArrayBuffer ?? 0,
    committed_mb: mib(mi?.committed?.current ?? 0),
    huge_mb: mib(mi?.malloc_huge?.current ?? 0),
    top: Object.entries(h.objectTypeCounts)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, n]) => `${k} ${n}`)
      .join(", "),
  };
}

/** With GROVE_MEM_TRACE set, append a sample of this thread every second (the timer does not keep it alive). */
export function startMemTrace(thread: string): void {
  const file = process.env.GROVE_MEM_TRACE;
  if (!file) return;
  const collect = process.env.GROVE_MEM_TRACE_GC === "1";
  const write = () => {
    try {
      const s = memSample(thread);
      if (collect) {
        Bun.gc(true);
        const h = heapStats();
        s.live_heap_mb = mib(h.heapSize);
        s.live_extra_mb = mib(h.extraMemorySize);
      }
      appendFileSync(file, `${JSON.stringify(s)}\n`);
    } catch {
      // a debugging aid: never fails the cell
    }
  };
  write();
  setInterval(write, Number(process.env.GROVE_MEM_TRACE_MS) || 1000).unref?.();
}
