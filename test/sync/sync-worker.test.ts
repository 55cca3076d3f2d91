/**
 * The sync round runs in a Worker: the cell keeps answering its API while a round moves data.
 * A peer that is full (max_peer_storage_bytes) refuses, and placement moves on to the next peer.
 */
import { hasChunk } from "../helpers/chunks.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, CLI, destroyCell, pair, startCell, type TestCell } from "../helpers/cell.ts";
import { cellIdOf } from "../helpers/friends.ts";
import { pseudoRandom } from "../helpers/vault.ts";
import type { SyncProgress, SyncReport } from "../../src/sync/round.ts";

let a: TestCell, full: TestCell, roomy: TestCell;
const config = { replication_factor: 2, sync_interval_s: 3600 };

beforeAll(async () => {
  [a, full, roomy] = await Promise.all([
    startCell({ config }),
    startCell({ config: { ...config, max_peer_storage_bytes: 100_000 } }),
    startCell({ config }),
  ]);
  for (const joiner of [full, roomy]) {
    const token = (await a.cli(["invite"])).stdout.trim();
    expect((await joiner.cli(["join", token])).code).toBe(0);
  }
  // The full peer is a favorite: it is asked first, refuses, and the next peer gets the chunks.
  const fullId = cellIdOf(full);
  expect((await a.cli(["peers", "favorite", fullId])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await Promise.all([a, full, roomy].map(destroyCell));
});

describe("sync worker", () => {
  test("the API keeps answering while a round pushes 64 MiB; a full peer refuses and the next one takes the chunks", async () => {
    const src = join(a.root, "big.bin");
    writeFileSync(src, pseudoRandom(64 * 1024 * 1024, 3));
    expect((await a.cli(["put", src, "--as", "big.bin"])).code).toBe(0);
    let done = false;
    const round = a.cli(["sync", "--json"]).finally(() => (done = true));
    let answeredDuring = 0;
    const pushing: SyncProgress[] = [];
    while (!done) {
      const r = await a.api("/api/status");
      expect(r.status).toBe(200);
      await r.arrayBuffer();
      // GET /api/sync tells how far the round is.
      const st = (await (await a.api("/api/sync")).json()) as { running: boolean; progress: SyncProgress | null };
      if (st.progress?.phase === "pushing") pushing.push(st.progress);
      if (!done) answeredDuring++;
    }
    const report = JSON.parse((await round).stdout) as SyncReport;
    expect(report.chunks_pushed).toBe(16);
    // Progress while pushing: 16 copies planned, 16 × the chunks' sealed size in bytes, never past them.
    expect(pushing.length).toBeGreaterThan(0);
    for (const p of pushing) {
      expect(p.total).toBe(16);
      expect(p.bytes_total).toBe(16 * (4 * 1024 * 1024 + 16));
      expect(p.done).toBeLessThanOrEqual(16);
      expect(p.bytes_done).toBe(p.done * (4 * 1024 * 1024 + 16));
    }
    expect(((await (await a.api("/api/sync")).json()) as { progress: unknown }).progress).toBeNull();
    // grove status sums the round up.
    const st = (await a.cli(["status"])).stdout;
    expect(st).toMatch(
      /^sync {6}last round \d+ s ago: 2 of 2 peers reached, 16 pushed, 0 pulled; it left every chunk at the replication factor; every 3600 s; `grove sync` runs one now$/m,
    );
    expect(report.under_replicated).toBe(0);
    // Status requests were answered while the round ran (the main thread was not blocked by it).
    expect(answeredDuring).toBeGreaterThan(3);
    const meta = (await (await a.api("/api/files/big.bin?meta")).json()) as { manifest: { chunks: { hash: string }[] } };
    for (const { hash } of meta.manifest.chunks) {
      expect(hasChunk(roomy.dir, hash)).toBe(true);
      expect(hasChunk(full.dir, hash)).toBe(false);
    }
    expect(full.output()).toContain("max_peer_storage_bytes");
  });
});

describe("grove sync on a terminal", () => {
  test("shows the round's phase and the chunks it pushes on one line, then the summary", async () => {
    const src = join(a.root, "bigger.bin");
    writeFileSync(src, pseudoRandom(96 * 1024 * 1024, 4));
    expect((await a.cli(["put", src, "--as", "bigger.bin"])).code).toBe(0);
    // `script` gives the command a pseudo-terminal (stderr is a TTY there).
    const p = Bun.spawn(["script", "-qec", `${BUN} ${CLI} sync`, "/dev/null"], {
      env: { ...process.env, ...a.env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    expect(out).toMatch(/sync: pushing chunks \d+\/24, [\d.]+ [KMG]?i?B of 96 MiB \(\d+%\)/);
    expect(out).toContain("pushed: 24 chunks");
  }, 60_000);
});

describe("a peer with no room for our manifest backups", () => {
  test("refuses them (507) once; later rounds wait instead of sending them again", async () => {
    const cfg = { replication_factor: 2, sync_interval_s: 3600, sync_after_change_s: 0 };
    const [x, z] = await Promise.all([startCell({ config: cfg }), startCell({ config: { ...cfg, max_peer_storage_bytes: 0 } })]);
    try {
      await pair(x, z);
      const src = join(x.root, "m.txt");
      writeFileSync(src, "a manifest to back up\n");
      expect((await x.cli(["put", src, "--as", "m.txt"])).code).toBe(0);
      const backupErrors = (r: SyncReport) => r.errors.filter((e) => e.includes("backing up"));
      const first = JSON.parse((await x.cli(["sync", "--json"])).stdout) as SyncReport;
      expect(first.backups_pushed).toBe(0);
      expect(backupErrors(first).length).toBe(1);
      expect(backupErrors(first)[0]).toContain("max_peer_storage_bytes");
      const second = JSON.parse((await x.cli(["sync", "--json"])).stdout) as SyncReport;
      expect(backupErrors(second)).toEqual([]);
      expect(second.backups_deferred).toBeGreaterThan(0);
      expect((await x.cli(["sync"])).stdout).toContain("waiting: a peer had no room for them lately");
    } finally {
      await Promise.all([destroyCell(x), destroyCell(z)]);
    }
  });
});

describe("a stored file is replicated soon, without waiting for the interval", () => {
  test("sync_after_change_s: a round runs that long after a put", async () => {
    const cfg = { replication_factor: 2, sync_interval_s: 3600, sync_after_change_s: 1 };
    const [x, y] = await Promise.all([startCell({ config: cfg }), startCell({ config: cfg })]);
    try {
      await pair(x, y);
      const src = join(x.root, "soon.txt");
      writeFileSync(src, "replicate me soon\n");
      expect((await x.cli(["put", src, "--as", "soon.txt"])).code).toBe(0);
      // No one asks for a round: the one the put scheduled pushes the file.
      let last: SyncReport | null = null;
      for (let i = 0; i < 100 && !last?.chunks_pushed; i++) {
        await Bun.sleep(100);
        last = ((await (await x.api("/api/sync")).json()) as { last: SyncReport | null }).last;
      }
      expect(last?.chunks_pushed).toBe(1);
      const p = (await (await x.api("/api/placement")).json()) as { files: { copies: number }[] };
      expect(p.files[0]?.copies).toBe(2);
    } finally {
      await Promise.all([destroyCell(x), destroyCell(y)]);
    }
  });
});
