/**
 * Bench: load. N concurrent clients (default 20) upload and download against cell A for a fixed
 * time (default 60 s) while A syncs with B (R=2, sync_interval_s 5, so rounds run during the
 * load). No error is allowed: every non-2xx answer is counted and printed with its body, as is
 * every transport error and every download whose bytes differ from what was uploaded.
 *
 *   bun bench/load.ts [--clients 20] [--seconds 60] [--min-kb 4] [--max-mb 16] [--sync-interval 5] [--seed N] [--work-dir DIR] [--keep]
 *
 * Each client loops: PUT /api/files/load/cK/fS.bin (half the requests; S is one of 8 slots, so
 * files are also overwritten), GET of a whole file it stored, or GET with a random `Range`
 * (a quarter each). Sizes are log-uniform between --min-kb and --max-mb. Content is a random
 * base with a unique 32-byte head per upload, so no two uploads deduplicate and every byte of a
 * download (ranges included) is checked. All requests carry the API token and go through
 * fetch's keep-alive pool on 127.0.0.1.
 *
 * Output: latency p50/p95/p99 per operation (request start to last body byte), throughput
 * (MB/s up, down, total) and requests/s, sync rounds that ran on A and B during the load, the
 * cells' peak RSS, the errors; then one JSON object as the last stdout line. Exit 1 on any error
 * (a round that reported errors counts too).
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { randomFillSync } from "node:crypto";
import { ROOT, destroyCell, startCell, type TestCell } from "../test/helpers/cell.ts";
import type { SyncReport } from "../src/sync/round.ts";
import { pair, waitSyncIdle } from "./lib/cells.ts";
import { MB, MiB, cleanupOnSignal, makeWorkDir, peakRssMiB, procStatusKb, round, table } from "./lib/measure.ts";
import { seededRandom } from "./lib/soak.ts";

export const name = "load";
export const summary = "20 clients × 60 s of PUT/GET/Range against A while A syncs with B: errors, p50/p95/p99, MB/s, req/s, peak RSS";

export const options = {
  clients: { type: "string" },
  seconds: { type: "string" },
  "min-kb": { type: "string" },
  "max-mb": { type: "string" },
  "sync-interval": { type: "string" },
  seed: { type: "string" },
  "work-dir": { type: "string" },
  keep: { type: "boolean" },
} satisfies ParseArgsConfig["options"];

type Op = "put" | "get" | "get-range";
const OPS: Op[] = ["put", "get", "get-range"];
const SLOTS = 8;
const HEAD = 32;

function say(msg: string): void {
  console.log(`[load] ${msg}`);
}

interface Stored {
  size: number;
  head: Uint8Array;
  sha: string;
}

interface Failure {
  op: Op;
  path: string;
  status: number | null;
  body: string;
}

function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The bytes of an upload: `head` over the first bytes of `base`, `size` long. */
function contentOf(base: Uint8Array, s: Stored): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(s.size);
  out.set(base.subarray(0, s.size));
  out.set(s.head.subarray(0, Math.min(HEAD, s.size)));
  return out;
}

/** Bytes [start, end] of an upload, without building the whole of it. */
function sliceOf(base: Uint8Array, s: Stored, start: number, end: number): Uint8Array {
  const out = base.slice(start, end + 1);
  for (let i = start; i < Math.min(HEAD, end + 1); i++) out[i - start] = s.head[i]!;
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options, allowPositionals: true, strict: false });
  const clients = Number(values.clients ?? 20);
  const seconds = Number(values.seconds ?? 60);
  const minBytes = Math.round(Number(values["min-kb"] ?? 4) * 1024);
  const maxBytes = Math.round(Number(values["max-mb"] ?? 16) * MiB);
  const syncInterval = Number(values["sync-interval"] ?? 5);
  const seed = Number(values.seed ?? Date.now() % 1_000_000);
  if (
    ![clients, seconds, syncInterval, seed].every(Number.isInteger) ||
    clients < 1 ||
    seconds < 1 ||
    syncInterval < 1 ||
    !(minBytes >= 1 && maxBytes >= minBytes)
  ) {
    console.error("load: --clients N, --seconds N, --sync-interval N (integers >= 1), --min-kb <= --max-mb");
    return 2;
  }
  const dir = makeWorkDir("load", values["work-dir"], ROOT, 30 * 1024 ** 3);
  if ("error" in dir) return (console.error(dir.error), 1);
  const { work } = dir;
  const cells: { a?: TestCell; b?: TestCell } = {};
  const cleanup = async () => {
    if (values.keep) {
      await cells.a?.stop().catch(() => {});
      await cells.b?.stop().catch(() => {});
    } else {
      await destroyCell(cells.a).catch(() => {});
      await destroyCell(cells.b).catch(() => {});
      rmSync(work, { recursive: true, force: true });
    }
  };
  const offSignals = cleanupOnSignal("load", cleanup);

  try {
    const config = { replication_factor: 2, sync_interval_s: syncInterval, sync_after_change_s: 1 };
    const [a, b] = await Promise.all([
      startCell({ root: join(work, "cell-a"), config: { ...config, name: "load-a" } }),
      startCell({ root: join(work, "cell-b"), config: { ...config, name: "load-b" } }),
    ]);
    cells.a = a;
    cells.b = b;
    await Promise.all([waitSyncIdle(a), waitSyncIdle(b)]);
    await pair(a, b);
    await waitSyncIdle(b);
    say(
      `${clients} clients × ${seconds} s against A (pid ${a.proc.pid}); B (pid ${b.proc.pid}) paired, R=2, sync_interval_s ${syncInterval}; sizes ${minBytes} B – ${round(maxBytes / MiB, 1)} MiB log-uniform; ${availableParallelism()} cores; seed ${seed}`,
    );

    const base = new Uint8Array(maxBytes);
    randomFillSync(base);
    const rand = seededRandom(seed);
    const sizeOf = () => Math.round(Math.exp(Math.log(minBytes) + rand() * (Math.log(maxBytes) - Math.log(minBytes))));
    const lat: Record<Op, number[]> = { put: [], get: [], "get-range": [] };
    const bytes = { up: 0, down: 0 };
    const failures: Failure[] = [];
    let failuresTotal = 0;
    const fail = (f: Failure) => {
      failuresTotal++;
      if (failures.length < 50) failures.push(f);
    };

    // Sync rounds and RSS while the load runs.
    const rounds = { a: new Map<number, SyncReport>(), b: new Map<number, SyncReport>() };
    const rss = { a: 0, b: 0 };
    let loading = true;
    const watch = (async () => {
      while (loading) {
        for (const [k, c] of [
          ["a", a],
          ["b", b],
        ] as const) {
          const kb = procStatusKb(c.proc.pid)?.VmRSS;
          if (kb) rss[k] = Math.max(rss[k], kb / 1024);
          try {
            const res = await c.api("/api/sync");
            const s = (await res.json()) as { last: SyncReport | null };
            if (s.last) rounds[k].set(s.last.started_at, s.last);
          } catch {}
        }
        await Bun.sleep(500);
      }
    })();

    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    const client = async (id: number) => {
      const mine = new Map<string, Stored>();
      let n = 0;
      while (performance.now() < deadline) {
        const op: Op = mine.size === 0 || rand() < 0.5 ? "put" : rand() < 0.5 ? "get" : "get-range";
        const path = op === "put" ? `load/c${id}/f${n++ % SLOTS}.bin` : [...mine.keys()][Math.floor(rand() * mine.size)]!;
        const url = `/api/files/${path}`;
        const started = performance.now();
        try {
          if (op === "put") {
            const head = new Uint8Array(HEAD);
            randomFillSync(head);
            const s: Stored = { size: sizeOf(), head, sha: "" };
            const body = contentOf(base, s);
            s.sha = new Bun.CryptoHasher("sha256").update(body).digest("hex");
            const res = await a.api(url, { method: "PUT", body });
            const text = await res.text();
            if (!res.ok) {
              fail({ op, path, status: res.status, body: text.slice(0, 500) });
              continue;
            }
            lat.put.push(performance.now() - started);
            bytes.up += s.size;
            mine.set(path, s);
          } else {
            const s = mine.get(path)!;
            let range: [number, number] | null = null;
            const headers: Record<string, string> = {};
            if (op === "get-range") {
              const start = Math.floor(rand() * s.size);
              const end = Math.min(s.size - 1, start + Math.floor(rand() * Math.min(s.size - start, 8 * MiB)));
              range = [start, end];
              headers.range = `bytes=${start}-${end}`;
            }
            const res = await a.api(url, { headers });
            if (res.status !== (range ? 206 : 200)) {
              fail({ op, path, status: res.status, body: (await res.text()).slice(0, 500) });
              continue;
            }
            let got: number;
            let ok: boolean;
            if (range) {
              const buf = new Uint8Array(await res.arrayBuffer());
              got = buf.byteLength;
              ok = Buffer.compare(buf, sliceOf(base, s, range[0], range[1])) === 0;
            } else {
              const h = new Bun.CryptoHasher("sha256");
              got = 0;
              for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
                h.update(piece);
                got += piece.byteLength;
              }
              ok = got === s.size && h.digest("hex") === s.sha;
            }
            if (!ok) {
              fail({
                op,
                path,
                status: res.status,
                body: `content differs (${got} bytes${range ? ` for bytes=${range[0]}-${range[1]}` : ` of ${s.size}`})`,
              });
              continue;
            }
            lat[op].push(performance.now() - started);
            bytes.down += got;
          }
        } catch (e) {
          fail({ op, path, status: null, body: e instanceof Error ? e.message : String(e) });
        }
      }
    };
    await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
    const elapsed = (performance.now() - t0) / 1000;
    loading = false;
    await watch;
    // The rounds that were running when the load stopped finish; they must have gone well too.
    await Promise.all([waitSyncIdle(a, 300_000), waitSyncIdle(b, 300_000)]);
    for (const [k, c] of [
      ["a", a],
      ["b", b],
    ] as const) {
      const s = (await (await c.api("/api/sync")).json()) as { last: SyncReport | null };
      if (s.last) rounds[k].set(s.last.started_at, s.last);
    }
    const peak = { a: peakRssMiB(a.proc.pid), b: peakRssMiB(b.proc.pid) };

    const requests = OPS.reduce((n, o) => n + lat[o].length, 0) + failuresTotal;
    const rows: (string | number | null)[][] = [["operation", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms"]];
    const perOp: Record<
      string,
      { requests: number; p50_ms: number | null; p95_ms: number | null; p99_ms: number | null; max_ms: number | null }
    > = {};
    for (const op of OPS) {
      const xs = lat[op].sort((x, y) => x - y);
      const q = (p: number) => {
        const v = percentile(xs, p);
        return v === null ? null : round(v, 1);
      };
      perOp[op] = {
        requests: xs.length,
        p50_ms: q(50),
        p95_ms: q(95),
        p99_ms: q(99),
        max_ms: xs.length ? round(xs[xs.length - 1]!, 1) : null,
      };
      rows.push([op, xs.length, perOp[op].p50_ms, perOp[op].p95_ms, perOp[op].p99_ms, perOp[op].max_ms]);
    }
    const roundStats = (m: Map<number, SyncReport>) => {
      const rs = [...m.values()];
      return {
        rounds: rs.length,
        chunks_pushed: rs.reduce((n, r) => n + r.chunks_pushed, 0),
        mb_pushed: round(rs.reduce((n, r) => n + r.bytes_pushed, 0) / MB, 1),
        errors: rs.flatMap((r) => r.errors),
      };
    };
    const syncA = roundStats(rounds.a);
    const syncB = roundStats(rounds.b);
    const upMbs = round(bytes.up / MB / elapsed, 1);
    const downMbs = round(bytes.down / MB / elapsed, 1);

    console.log("");
    console.log(
      `load bench: ${clients} clients × ${round(elapsed, 1)} s against cell A on 127.0.0.1 while A syncs with B (R=2, rounds every ${syncInterval} s); MB = 10^6 bytes`,
    );
    console.log(table(rows));
    console.log(
      `throughput: up ${upMbs} MB/s, down ${downMbs} MB/s, total ${round(upMbs + downMbs, 1)} MB/s; ${round(requests / elapsed, 1)} requests/s (${requests} requests)`,
    );
    console.log(
      `sync during the load: A ${syncA.rounds} rounds seen, ${syncA.chunks_pushed} chunks (${syncA.mb_pushed} MB) pushed; B ${syncB.rounds} rounds; round errors: ${syncA.errors.length + syncB.errors.length}`,
    );
    for (const e of [...syncA.errors.map((x) => `A: ${x}`), ...syncB.errors.map((x) => `B: ${x}`)].slice(0, 20))
      console.log(`  round error: ${e}`);
    console.log(`peak RSS (VmHWM): A ${peak.a} MiB, B ${peak.b} MiB (sampled VmRSS max: A ${round(rss.a, 1)}, B ${round(rss.b, 1)} MiB)`);
    console.log(`errors: ${failuresTotal}${failuresTotal ? "" : " (none)"}`);
    for (const f of failures) console.log(`  ${f.op} ${f.path}: ${f.status ?? "no answer"} ${f.body}`);

    const ok = failuresTotal === 0 && syncA.errors.length + syncB.errors.length === 0 && syncA.rounds > 0;
    console.log(
      JSON.stringify({
        bench: "load",
        clients,
        seconds: round(elapsed, 2),
        sync_interval_s: syncInterval,
        seed,
        ok,
        errors: failuresTotal,
        error_samples: failures.slice(0, 10),
        requests,
        requests_per_s: round(requests / elapsed, 1),
        mb_up: round(bytes.up / MB, 1),
        mb_down: round(bytes.down / MB, 1),
        up_mb_s: upMbs,
        down_mb_s: downMbs,
        total_mb_s: round(upMbs + downMbs, 1),
        latency: perOp,
        sync_a: { ...syncA, errors: syncA.errors.length },
        sync_b: { ...syncB, errors: syncB.errors.length },
        cell_a_peak_rss_mb: peak.a,
        cell_b_peak_rss_mb: peak.b,
      }),
    );
    return ok ? 0 : 1;
  } catch (e) {
    console.error(`load: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    for (const [n, c] of [
      ["A", cells.a],
      ["B", cells.b],
    ] as const)
      if (c) console.error(`--- cell ${n} output (tail) ---\n${c.output().slice(-3000)}`);
    return 1;
  } finally {
    offSignals();
    await cleanup();
    if (values.keep) say(`kept ${work}`);
  }
}

if (import.meta.main) process.exit(await run(process.argv.slice(2)));
