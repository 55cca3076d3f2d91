/**
 * Bench: bytes on the wire of a sync round between two cells that already agree on 100,000
 * chunks (cheap inventories: a digest, not the list), next to a round right after one new file.
 *
 *   bun bench/inventory.ts [--chunks N] [--files N] [--idle-rounds N] [--work-dir DIR] [--keep]
 *
 * Setup, all on 127.0.0.1:
 *  - a byte-counting TCP proxy (bench/lib/tcp-proxy.ts) in front of cell B; B advertises only the
 *    proxy's address (config `advertise`) from its first start, so A learns that route when the
 *    two pair and every call A makes to B crosses the proxy. B's own calls to A go direct and are
 *    not counted (B holds nothing of its own here; its rounds are not measured).
 *  - A and B pair (invite on A, join on B); one small real file is put on A and A runs a real
 *    round (probe, the route's first 256 KB benchmark, push, manifest backups).
 *  - Both cells stop; synthetic but consistent records are seeded straight into both
 *    placement.db files: on A, FILES manifests owned by A (manifest files written to manifests/,
 *    rows in manifests / manifest_chunks / file_versions) referencing CHUNKS chunk names, a
 *    `chunks` row for each (A holds its own copy) and a `placements` row on B for each; on B a
 *    `held` row for owner A for each. Every chunk is a real file on both cells (random bytes
 *    named by their SHA-256; B's is a hard link to A's), so the default audit (audit_sample 4)
 *    runs unchanged and passes. The chunks are 64 bytes, not 4 MiB: audits and inventories send
 *    names and proofs, never chunk bytes, so the wire figures do not depend on chunk size.
 *  - Both restart; A's start-up round and one more round push the manifest backups B lacks
 *    (FILES manifests + the new index). Then the measured rounds on A, `grove sync` each:
 *    idle rounds (nothing changed), a round after putting one new small file, an idle round after.
 *
 * Bytes are TCP payload through the proxy, both ways (request and status lines, headers, bodies),
 * split by request. The round report's bytes_sent/received (bodies only) are shown beside them.
 * Output: a table, then one JSON object as the last line of stdout.
 */
import { linkSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes, randomFillSync, createHash } from "node:crypto";
import { join } from "node:path";
import { loadavg } from "node:os";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { Database } from "bun:sqlite";
import { ROOT, destroyCell, startCell, type TestCell } from "../test/helpers/cell.ts";
import { canonicalJson } from "../src/core/canonical-json.ts";
import { encryptionInfo, manifestRelPath } from "../src/store/manifest.ts";
import type { SyncReport } from "../src/sync/round.ts";
import { cellId, freePort, grove, pair, placement, syncRound, waitSyncIdle } from "./lib/cells.ts";
import { round, table, cleanupOnSignal, makeWorkDir } from "./lib/measure.ts";
import { CountingProxy, type ProxyCounts } from "./lib/tcp-proxy.ts";

export const name = "inventory";
export const summary = "bytes on the wire of an idle sync round with 100,000 chunks agreed, and after 1 new file";

export const options = {
  chunks: { type: "string" },
  files: { type: "string" },
  "idle-rounds": { type: "string" },
  "work-dir": { type: "string" },
  keep: { type: "boolean" },
} satisfies ParseArgsConfig["options"];

const TARGET_BYTES = 100_000;
const SYNTH_CHUNK_BYTES = 64;

function say(msg: string): void {
  console.log(`[inventory] ${msg}`);
}

interface Measured {
  round: string;
  wire: ProxyCounts;
  report: SyncReport;
  cli_s: number;
}

/** Seed FILES synthetic manifests with CHUNKS chunks in all on A (owner), held by B. */
function seed(a: TestCell, b: TestCell, idA: string, idB: string, nChunks: number, nFiles: number): { manifests: number; chunks: number } {
  const now = Date.now();
  for (const dir of [a.dir, b.dir])
    for (let i = 0; i < 256; i++) mkdirSync(join(dir, "chunks", i.toString(16).padStart(2, "0")), { recursive: true, mode: 0o700 });

  const raw = Buffer.alloc(nChunks * SYNTH_CHUNK_BYTES);
  randomFillSync(raw);
  const hashes: string[] = new Array(nChunks);
  for (let i = 0; i < nChunks; i++) {
    const bytes = raw.subarray(i * SYNTH_CHUNK_BYTES, (i + 1) * SYNTH_CHUNK_BYTES);
    const h = createHash("sha256").update(bytes).digest("hex");
    hashes[i] = h;
    const pa = join(a.dir, "chunks", h.slice(0, 2), h);
    writeFileSync(pa, bytes, { mode: 0o600 });
    linkSync(pa, join(b.dir, "chunks", h.slice(0, 2), h));
  }

  const dbA = new Database(join(a.dir, "placement.db"), { strict: true });
  const dbB = new Database(join(b.dir, "placement.db"), { strict: true });
  try {
    dbA.exec("PRAGMA busy_timeout = 5000");
    dbB.exec("PRAGMA busy_timeout = 5000");
    const insChunk = dbA.query("INSERT INTO chunks (hash, size, stored_at) VALUES (?, ?, ?)");
    const insPlacement = dbA.query("INSERT INTO placements (chunk_hash, cell_id, confirmed_at) VALUES (?, ?, ?)");
    const insManifest = dbA.query(
      "INSERT INTO manifests (manifest_hash, source_path, file_hash, total_size, chunk_count, manifest_file, owner, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const insRef = dbA.query("INSERT INTO manifest_chunks (manifest_hash, idx, chunk_hash) VALUES (?, ?, ?)");
    const insVersion = dbA.query("INSERT INTO file_versions (path, version, manifest_hash, at) VALUES (?, 1, ?, ?)");
    const insHeld = dbB.query("INSERT INTO held (owner, chunk_hash, size, stored_at) VALUES (?, ?, ?, ?)");
    const manifestsDir = join(a.dir, "manifests");
    let next = 0;
    dbA.transaction(() => {
      for (let f = 0; f < nFiles; f++) {
        const count = Math.floor(nChunks / nFiles) + (f < nChunks % nFiles ? 1 : 0);
        const mine = hashes.slice(next, next + count);
        next += count;
        const path = `bench/synthetic/file-${String(f).padStart(6, "0")}.bin`;
        const manifest = {
          format: 1,
          filename: path.split("/").pop()!,
          source_path: path,
          total_size: count * (SYNTH_CHUNK_BYTES - 16),
          file_hash: randomBytes(32).toString("hex"),
          chunks: mine.map((hash, index) => ({ hash, size: SYNTH_CHUNK_BYTES, index })),
          encryption: encryptionInfo(),
          version: 1,
          created_at: new Date(now).toISOString(),
          synced_at: null,
          owner: idA,
        };
        const mhash = createHash("sha256").update(canonicalJson(manifest)).digest("hex");
        const rel = manifestRelPath(path, manifest.file_hash);
        mkdirSync(join(manifestsDir, rel, ".."), { recursive: true, mode: 0o700 });
        writeFileSync(join(manifestsDir, rel), JSON.stringify(manifest, null, 1) + "\n", { mode: 0o600 });
        insManifest.run(mhash, path, manifest.file_hash, manifest.total_size, count, rel, idA, now);
        mine.forEach((h, i) => {
          insChunk.run(h, SYNTH_CHUNK_BYTES, now);
          insRef.run(mhash, i, h);
          insPlacement.run(h, idB, now);
        });
        insVersion.run(path, mhash, now);
      }
    })();
    dbB.transaction(() => {
      for (const h of hashes) insHeld.run(idA, h, SYNTH_CHUNK_BYTES, now);
    })();
    dbA.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    dbB.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    dbA.close();
    dbB.close();
  }
  Bun.spawnSync(["sync"]);
  return { manifests: nFiles, chunks: nChunks };
}

/** The state both sides must agree on: A's placements on B = B's held rows for A. */
function agreement(a: TestCell, b: TestCell, idA: string, idB: string): { a_on_b: number; b_holds: number; equal: boolean } {
  const dbA = new Database(join(a.dir, "placement.db"), { readonly: true });
  const dbB = new Database(join(b.dir, "placement.db"), { readonly: true });
  try {
    const onB = (dbA.query("SELECT chunk_hash FROM placements WHERE cell_id = ? ORDER BY chunk_hash").values(idB) as [string][]).map(
      (r) => r[0],
    );
    const held = (dbB.query("SELECT chunk_hash FROM held WHERE owner = ? ORDER BY chunk_hash").values(idA) as [string][]).map((r) => r[0]);
    return { a_on_b: onB.length, b_holds: held.length, equal: onB.length === held.length && onB.every((h, i) => h === held[i]) };
  } finally {
    dbA.close();
    dbB.close();
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options, allowPositionals: true, strict: false });
  const nChunks = Number(values.chunks ?? 100_000);
  const nFiles = Number(values.files ?? 1000);
  const idleRounds = Number(values["idle-rounds"] ?? 3);
  if (![nChunks, nFiles, idleRounds].every((n) => Number.isInteger(n) && n > 0) || nFiles > nChunks) {
    console.error("inventory: --chunks, --files and --idle-rounds must be positive integers, files <= chunks");
    return 2;
  }
  const dir = makeWorkDir("inventory", values["work-dir"], ROOT);
  if ("error" in dir) return (console.error(dir.error), 1);
  const { work } = dir;

  let a: TestCell | undefined;
  let b: TestCell | undefined;
  let proxy: CountingProxy | undefined;
  const cleanup = async () => {
    await a?.stop().catch(() => {});
    await b?.stop().catch(() => {});
    proxy?.stop();
    if (!values.keep) {
      await destroyCell(a).catch(() => {});
      await destroyCell(b).catch(() => {});
      rmSync(work, { recursive: true, force: true });
    }
    a = b = undefined;
    proxy = undefined;
  };
  const offSignals = cleanupOnSignal("inventory", cleanup);

  try {
    const portA = freePort();
    const portB = freePort();
    proxy = new CountingProxy(freePort(), portB).start();
    const proxyUrl = `http://127.0.0.1:${proxy.port}`;
    const common = { replication_factor: 2, sync_interval_s: 3600 };
    const cfgA = { ...common, name: "bench-a" };
    const cfgB = { ...common, name: "bench-b", advertise: [proxyUrl] };
    const rootA = join(work, "a");
    const rootB = join(work, "b");
    mkdirSync(rootA);
    mkdirSync(rootB);
    const startA = () => startCell({ root: rootA, config: cfgA, listen: { host: "127.0.0.1", port: portA } });
    const startB = () => startCell({ root: rootB, config: cfgB, listen: { host: "127.0.0.1", port: portB } });
    say(
      `load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}; work dir ${work}; A on 127.0.0.1:${portA}; B on 127.0.0.1:${portB}, advertised as ${proxyUrl} (the counting proxy)`,
    );

    b = await startB();
    a = await startA();
    await Promise.all([waitSyncIdle(a), waitSyncIdle(b)]);
    await pair(a, b);
    const [idA, idB] = await Promise.all([cellId(a), cellId(b)]);
    await waitSyncIdle(b);
    say(`paired: A ${idA.slice(0, 8)}, B ${idB.slice(0, 8)}`);

    const measured: Measured[] = [];
    const measure = async (label: string): Promise<Measured> => {
      await Promise.all([waitSyncIdle(a!), waitSyncIdle(b!)]);
      proxy!.reset();
      const r = await syncRound(a!);
      const m = { round: label, wire: proxy!.reset(), report: r.report, cli_s: round(r.seconds, 2) };
      measured.push(m);
      const w = m.wire;
      say(
        `${label}: ${w.up + w.down} bytes on the wire (${w.up} up, ${w.down} down, ${w.connections} new connections), report ${JSON.stringify({ pushed: r.report.chunks_pushed, backups: r.report.backups_pushed, audited: r.report.audited, benchmarks: r.report.benchmarks, errors: r.report.errors.length, ms: r.report.duration_ms })}`,
      );
      if (r.report.errors.length) say(`  round errors: ${r.report.errors.join("; ")}`);
      return m;
    };

    // 1. A real file and a real first round (the route's first benchmark happens here).
    const first = join(work, "first.bin");
    writeFileSync(first, randomBytes(64 * 1024));
    await grove(a, ["put", first, "--as", "bench/real/first.bin"]);
    await measure("first round: 1 real file, first route benchmark");
    const pl = await placement(a);
    const f1 = pl.files.find((f) => f.path === "bench/real/first.bin");
    if (f1?.copies !== 2) throw new Error(`after the first round the real file has ${f1?.copies} copies, not 2`);

    // 2. Seed the synthetic state with both cells stopped.
    await a.stop();
    await b.stop();
    let t = performance.now();
    const seeded = seed(a, b, idA, idB, nChunks, nFiles);
    say(
      `seeded ${seeded.chunks} chunks in ${seeded.manifests} manifests (files on both cells, rows in both placement.db) in ${round((performance.now() - t) / 1000, 1)} s`,
    );
    const agreeBefore = agreement(a, b, idA, idB);
    say(
      `agreement before restart: A records ${agreeBefore.a_on_b} chunks on B, B holds ${agreeBefore.b_holds} for A, same set: ${agreeBefore.equal}`,
    );
    if (!agreeBefore.equal) throw new Error("seeded state is not consistent");

    // 3. Restart (B first so A's start-up round finds it), let the backups catch up.
    proxy.reset();
    t = performance.now();
    b = await startB();
    a = await startA();
    await Promise.all([waitSyncIdle(a), waitSyncIdle(b)]);
    const startup = proxy.reset();
    const startupReport = ((await (await a.api("/api/sync")).json()) as { last: SyncReport }).last;
    measured.push({
      round: "A's start-up round after seeding",
      wire: startup,
      report: startupReport,
      cli_s: round((performance.now() - t) / 1000, 2),
    });
    say(
      `A's start-up round: ${startup.up + startup.down} bytes, ${startupReport.backups_pushed} backups pushed, ${startupReport.duration_ms} ms`,
    );
    let settle = await measure("settling round (backups B still lacks)");
    for (let i = 0; i < 3 && (settle.report.backups_pushed > 0 || settle.report.chunks_pushed > 0); i++)
      settle = await measure("settling round (backups B still lacks)");

    // 4. Idle rounds: nothing changed since the last one.
    for (let i = 1; i <= idleRounds; i++) await measure(`idle round ${i} (${nChunks + 1} chunks agreed)`);

    // 5. One new small file, then a round; then idle again.
    const second = join(work, "second.bin");
    writeFileSync(second, randomBytes(64 * 1024));
    await grove(a, ["put", second, "--as", "bench/real/second.bin"]);
    await measure("round after 1 new file (64 KiB)");
    await measure("idle round after it");

    const agreeAfter = agreement(a, b, idA, idB);
    const pl2 = await placement(a);
    const f2 = pl2.files.find((f) => f.path === "bench/real/second.bin");

    // 6. Report.
    const idle = measured.filter((m) => m.round.startsWith("idle round") && !m.round.includes("after"));
    const idleWire = idle.map((m) => m.wire.up + m.wire.down);
    const idleMax = Math.max(...idleWire);
    const idleMedian = [...idleWire].sort((x, y) => x - y)[Math.floor(idleWire.length / 2)]!;
    const after = measured.find((m) => m.round.startsWith("round after"))!;
    const benchInIdle = idle.some((m) => m.report.benchmarks > 0);
    const rows: (string | number | null)[][] = [
      [
        "round (on A, to B through the proxy)",
        "wire bytes",
        "up",
        "down",
        "conns",
        "body sent+recv",
        "chunks pushed",
        "backups pushed",
        "audited",
        "benchmarks",
        "round ms",
        "CLI s",
      ],
      ...measured.map((m) => [
        m.round,
        m.wire.up + m.wire.down,
        m.wire.up,
        m.wire.down,
        m.wire.connections,
        m.report.bytes_sent + m.report.bytes_received,
        m.report.chunks_pushed,
        m.report.backups_pushed,
        m.report.audited,
        m.report.benchmarks,
        m.report.duration_ms,
        m.cli_s,
      ]),
    ];
    console.log("");
    console.log(
      `inventory bench: ${nChunks} synthetic chunks (+1 real) in ${nFiles} manifests agreed between A and B; bytes = TCP payload through a proxy in front of B, both directions, headers included`,
    );
    console.log(
      "(audit_sample is the default 4: every chunk exists as a 64-byte file on both cells, so audits run and pass; body = the round report's bytes_sent + bytes_received)",
    );
    console.log(table(rows));
    const perRequest = (m: Measured) =>
      Object.entries(m.wire.byRequest)
        .map(([k, v]) => `${k} x${v.requests} ${v.up + v.down} B`)
        .join(", ");
    for (const m of [idle[0]!, after]) console.log(`  ${m.round}: ${perRequest(m)}`);
    console.log(
      `agreement after the run: A records ${agreeAfter.a_on_b} chunks on B, B holds ${agreeAfter.b_holds} for A, same set: ${agreeAfter.equal}; new file copies ${f2?.copies}/2`,
    );
    console.log(
      `route benchmark (256 KB): ran in ${
        measured
          .filter((m) => m.report.benchmarks > 0)
          .map((m) => `"${m.round}"`)
          .join(", ") || "no measured round"
      }; ${benchInIdle ? "ALSO IN AN IDLE ROUND (figure includes it)" : "not in any idle round"}`,
    );
    console.log(
      `target: idle round under ${TARGET_BYTES / 1000} KB on the wire: max ${idleMax} B, median ${idleMedian} B -> ${idleMax < TARGET_BYTES ? "MET" : "NOT MET"}; after 1 new file: ${after.wire.up + after.wire.down} B`,
    );

    const json = {
      bench: "inventory",
      chunks: nChunks + 1,
      synthetic_chunks: nChunks,
      manifests: nFiles + 1,
      audit_sample: 4,
      idle_round_bytes: idleWire,
      idle_round_bytes_max: idleMax,
      idle_round_bytes_median: idleMedian,
      target_bytes: TARGET_BYTES,
      target_met: idleMax < TARGET_BYTES,
      after_new_file_bytes: after.wire.up + after.wire.down,
      benchmark_in_idle_round: benchInIdle,
      consistent_after: agreeAfter.equal && f2?.copies === 2,
      rounds: measured.map((m) => ({
        round: m.round,
        wire_bytes: m.wire.up + m.wire.down,
        up: m.wire.up,
        down: m.wire.down,
        connections: m.wire.connections,
        by_request: m.wire.byRequest,
        body_bytes: m.report.bytes_sent + m.report.bytes_received,
        chunks_pushed: m.report.chunks_pushed,
        backups_pushed: m.report.backups_pushed,
        audited: m.report.audited,
        benchmarks: m.report.benchmarks,
        errors: m.report.errors,
        duration_ms: m.report.duration_ms,
      })),
    };
    console.log(JSON.stringify(json));
    return json.consistent_after ? 0 : 1;
  } catch (e) {
    console.error(`inventory: ${e instanceof Error ? e.message : String(e)}`);
    for (const [n, c] of [
      ["A", a],
      ["B", b],
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
