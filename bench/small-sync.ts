/**
 * Bench: replication of many small files, chunks in batches (POST /peer/sync/chunks) against one
 * by one (a receiver started with GROVE_PEER_NO_BATCH=1 serves as a build before batches), in the
 * same run on this machine.
 *
 *   bun bench/small-sync.ts [--files N] [--min-kb 4] [--max-kb 64]
 *
 * Two senders (A1, A2) get the same N files (sizes spread evenly from min to max KiB) through
 * PUT /api/files (not timed). A1 is paired with B (batches), A2 with Old (one by one),
 * replication factor 2. Timed: one `grove sync` on each sender, in turn, until every chunk is held
 * by its receiver. Printed: seconds, files a second, the ratio, and each receiver's peak RSS
 * (VmHWM). Loopback only.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import { Database } from "bun:sqlite";
import { destroyCell, startCell, type TestCell } from "../test/helpers/cell.ts";
import { pair, syncRound } from "./lib/cells.ts";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "2000" },
    "min-kb": { type: "string", default: "4" },
    "max-kb": { type: "string", default: "64" },
  },
});
const N = Number(values.files);
const minB = Number(values["min-kb"]) * 1024;
const maxB = Number(values["max-kb"]) * 1024;
const config = { replication_factor: 2, sync_interval_s: 3600 };

const vmHwmMiB = (c: TestCell) => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${c.proc.pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : null;
};
const heldCount = (c: TestCell) => {
  const db = new Database(join(c.dir, "placement.db"), { readonly: true });
  try {
    return (db.query("SELECT count(*) AS n FROM held").get() as { n: number }).n;
  } finally {
    db.close();
  }
};

const [A1, A2, B, Old] = await Promise.all([
  startCell({ config }),
  startCell({ config }),
  startCell({ config }),
  startCell({ config, env: { GROVE_PEER_NO_BATCH: "1" } }),
]);
try {
  await pair(A1, B);
  await pair(A2, Old);
  // Warm-up rounds (probes, route benchmark) with nothing to push.
  await syncRound(A1);
  await syncRound(A2);
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const size = Math.round(minB + ((maxB - minB) * i) / Math.max(1, N - 1));
    const body = new Uint8Array(randomBytes(size));
    bytes += size;
    for (const a of [A1, A2]) {
      const r = await a.api(`/api/files/small/d${i % 20}/f${i}.bin`, { method: "PUT", body });
      if (r.status >= 300) throw new Error(`PUT: ${r.status} ${await r.text()}`);
    }
    if (i % 500 === 499) process.stderr.write(`ingested ${i + 1}/${N} on both senders\n`);
  }
  process.stderr.write(
    `ingest of ${N} files (${(bytes / 1e6).toFixed(1)} MB) on both: ${((performance.now() - t0) / 1000).toFixed(1)} s (not timed below)\n`,
  );
  const timed = async (a: TestCell, r: TestCell) => {
    const t = performance.now();
    let pushed = 0;
    for (let round = 0; round < 5 && heldCount(r) < N; round++) pushed += (await syncRound(a)).report.chunks_pushed;
    return { s: (performance.now() - t) / 1000, pushed, held: heldCount(r) };
  };
  const batched = await timed(A1, B);
  const single = await timed(A2, Old);
  const row = (name: string, x: { s: number; pushed: number; held: number }, rss: number | null) =>
    `${name.padEnd(26)} ${x.s.toFixed(2).padStart(7)} s  ${(N / x.s).toFixed(0).padStart(6)} files/s  held ${x.held}  receiver VmHWM ${rss} MiB`;
  console.log(row("batches (B)", batched, vmHwmMiB(B)));
  console.log(row("one by one (Old)", single, vmHwmMiB(Old)));
  console.log(`ratio (one by one ÷ batches): ${(single.s / batched.s).toFixed(2)}×`);
  console.log(
    JSON.stringify({
      files: N,
      bytes,
      batched_s: batched.s,
      single_s: single.s,
      ratio: single.s / batched.s,
      vmhwm_mib: { batched: vmHwmMiB(B), single: vmHwmMiB(Old) },
    }),
  );
} finally {
  await Promise.all([A1, A2, B, Old].map(destroyCell));
}
