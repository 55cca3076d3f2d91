/**
 * Crash-kill soak on two real cells (bench/soak.ts runs many cycles, test/cell/crash-soak.test.ts
 * a handful). Cells A and B (test/helpers/cell.ts: real `grove start` processes on 127.0.0.1,
 * fixed ports) are paired, friends both ways, replication factor 2, trash_retention_s 0 (the
 * trash collection removes purged chunks at once, every second), rounds only on demand.
 *
 * One cycle: pick an operation, start it, SIGKILL a cell at a random moment within the
 * operation's typical duration (the median of calibration runs before the cycles), restart that
 * cell on the same GROVE_DIR and port, then check:
 *   - the state the crash left: `grove fsck --json` offline on the killed cell's GROVE_DIR, before
 *     the restart (its start-up round could mend things otherwise);
 *   - leftovers: temp files from before the kill (`.grove-upload-*` in GROVE_HOME, anything in
 *     GROVE_DIR/tmp, `.*.tmp-*` in chunks/, manifests/, grants/, models/ and GROVE_DIR) right after
 *     the restart and after one round on each cell; none may be left after the round;
 *   - the peer still syncs: one round on A and one on B, each reaching its peer;
 *   - `grove fsck --json` on each cell after the round: chunk_*, manifest_* and held_* problems
 *     (here and offline) are fatal; placement_* (a copy pushed but not recorded, or recorded but
 *     gone) must be fixed by `grove fsck --repair`, after which fsck must be clean;
 *   - every put acknowledged before the kill (the ledger: path and SHA-256) is still gettable,
 *     byte-identical; an unacknowledged put is either absent or complete; an acknowledged delete
 *     stays deleted; an acknowledged share is still fetched byte-identical through the feed.
 *
 * Operations: put (large and small; through the CLI, `grove put`, and PUT /api/files), sync (a
 * fresh file is put first so the round has chunks to push; the syncing cell or its peer is
 * killed), share (POST /api/shares to the friend, who fetches it via GET /api/feed/ID/content;
 * either is killed), delete (DELETE /api/files, then `grove purge --all` and a trash collection
 * when this build has `grove purge`; files whose content another file shares are picked first,
 * so the collection must keep chunks still in use).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, copyFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { startCell, type TestCell } from "../../test/helpers/cell.ts";
import type { FsckReport, ProblemKind } from "../../src/sync/fsck.ts";
import type { SyncReport } from "../../src/sync/round.ts";
import type { ShareView } from "../../src/share/types.ts";
import { freePort, pair, waitSyncIdle } from "./cells.ts";
import { sha256File, table, writeRandomFile } from "./measure.ts";

export type OpKind = "put-cli-large" | "put-cli-small" | "put-http-large" | "put-http-small" | "sync" | "share" | "delete";
export const ALL_OPS: readonly OpKind[] = ["put-cli-large", "put-cli-small", "put-http-large", "put-http-small", "sync", "share", "delete"];

/** Problems a crash must never cause. */
export const FATAL_KINDS: readonly ProblemKind[] = [
  "chunk_corrupt",
  "chunk_missing",
  "manifest_unknown",
  "manifest_missing",
  "manifest_corrupt",
  "held_missing",
  "held_corrupt",
];

type Side = "A" | "B";
const other = (s: Side): Side => (s === "A" ? "B" : "A");

export interface SoakOptions {
  /** A folder for the cells and the source files (removed by stop() unless kept). */
  work: string;
  seed: number;
  /** Byte ranges [min, max] of large and small files. */
  large: [number, number];
  small: [number, number];
  /** One line per event worth telling (calibration, findings). */
  say: (line: string) => void;
  /** Longest a single operation may take before the cycle fails (ms). */
  opTimeoutMs?: number;
  /** Runs of each operation, without a kill, before the cycles (default 3). */
  calibrationRuns?: number;
}

interface Node {
  side: Side;
  root: string;
  port: number;
  cell: TestCell;
  id: string;
}

interface Entry {
  side: Side;
  path: string;
  sha: string;
  size: number;
  src: string;
}

/** What the timed (and killed) part of an operation reports. */
interface Outcome {
  acked: boolean;
  error?: string;
  /** share: the grant id once POST /api/shares answered. */
  grant?: string;
  /** share: what the friend received, when the fetch finished. */
  fetched?: string;
}

interface Prepared {
  actor: Side;
  victims: Side[];
  label: string;
  /** Set-up that is not timed nor killed (e.g. a file for the round to push). */
  before?(): Promise<void>;
  run(): Promise<Outcome>;
  /** Checks after the restart and the round (op-specific); returns findings. */
  after(o: Outcome, r: CycleResult): Promise<void>;
}

export interface CycleResult {
  n: number;
  op: OpKind;
  actor: Side;
  victim: Side;
  delay_ms: number;
  /** Whether the kill came while the operation ran, or after it had finished. */
  kill: "during" | "after" | "none";
  acked: boolean;
  op_ms: number;
  restart_ms: number;
  /** fsck problems seen (before any repair), by kind. */
  problems: Partial<Record<ProblemKind, number>>;
  fatal: number;
  /** placement_* problems fsck --repair fixed / did not fix. */
  repaired: number;
  unrepaired: number;
  unreferenced_chunks: number;
  lost: string[];
  corrupt_files: string[];
  corrupt_chunks: number;
  orphans_at_start: string[];
  orphans_after_round: string[];
  /** What the restarted cell's start-up sweep (cell/leftovers) cleared: temp files, uploads finished. */
  swept: { removed: number; finished: number };
  peer_synced: boolean;
  sync_errors: string[];
  home_missing: string[];
  notes: string[];
  ledger: number;
  ok: boolean;
}

/** mulberry32: a small seeded generator, so a run can be repeated with --seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CONFIG = { replication_factor: 2, sync_interval_s: 3600, sync_after_change_s: 0, trash_retention_s: 0 };

async function hashBody(res: Response): Promise<{ sha: string; bytes: number }> {
  const h = new Bun.CryptoHasher("sha256");
  let bytes = 0;
  for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
    h.update(piece);
    bytes += piece.byteLength;
  }
  return { sha: h.digest("hex"), bytes };
}

/**
 * Temp files a killed cell may leave: GROVE_HOME uploads, the spool, and atomic-write temps.
 * With `before` (ms since the epoch), only those last modified earlier: a running cell's own
 * short-lived temp files (a state file being replaced) are not leftovers.
 */
export function leftovers(cell: { dir: string; home: string }, before = Infinity): string[] {
  const out: string[] = [];
  const walk = (dir: string, match: (name: string) => boolean, deep: boolean) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (deep) walk(p, match, deep);
      } else if (match(e.name)) {
        try {
          if (statSync(p).mtimeMs < before) out.push(p);
        } catch {} // gone meanwhile: it was a running write's
      }
    }
  };
  const atomicTemp = (n: string) => /^\..+\.tmp-[0-9a-f]+$/.test(n);
  walk(cell.home, (n) => n.startsWith(".grove-upload-"), true);
  walk(join(cell.dir, "tmp"), () => true, true);
  walk(join(cell.dir, "chunks"), atomicTemp, true);
  walk(join(cell.dir, "manifests"), atomicTemp, true);
  walk(join(cell.dir, "grants"), atomicTemp, false);
  walk(join(cell.dir, "models"), atomicTemp, false);
  walk(cell.dir, atomicTemp, false);
  return out.map((p) => (p.startsWith(cell.dir) ? `GROVE_DIR/${relative(cell.dir, p)}` : `GROVE_HOME/${relative(cell.home, p)}`));
}

export class SoakRig {
  readonly nodes = {} as Record<Side, Node>;
  /** Acknowledged puts: `${side}:${path}` -> entry. */
  readonly ledger = new Map<string, Entry>();
  /** Durations (ms) of the calibration runs. */
  private samples = new Map<OpKind, number[]>();
  /** The typical duration of each operation: the median of its samples. */
  get typical(): Map<OpKind, number> {
    const out = new Map<OpKind, number>();
    for (const [op, xs] of this.samples) out.set(op, [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
    return out;
  }
  hasPurge = false;
  private rand: () => number;
  private seq = 0;
  private srcDir: string;

  private constructor(private opts: SoakOptions) {
    this.rand = seededRandom(opts.seed);
    this.srcDir = join(opts.work, "src");
    mkdirSync(this.srcDir, { recursive: true });
  }

  /** Start A and B, pair them, make them friends, and see whether `grove purge` exists. */
  static async start(opts: SoakOptions): Promise<SoakRig> {
    const rig = new SoakRig(opts);
    for (const side of ["A", "B"] as Side[]) {
      const root = join(opts.work, `cell-${side.toLowerCase()}`);
      mkdirSync(root, { recursive: true });
      const port = freePort();
      const cell = await startCell({
        root,
        config: { ...CONFIG, name: `soak-${side.toLowerCase()}` },
        listen: { host: "127.0.0.1", port },
      });
      rig.nodes[side] = { side, root, port, cell, id: "" };
    }
    const { A, B } = rig.nodes;
    await Promise.all([waitSyncIdle(A.cell), waitSyncIdle(B.cell)]);
    await pair(A.cell, B.cell);
    for (const n of [A, B]) n.id = (await n.cell.cli(["id"])).stdout.trim();
    // A asks, then B's `friend` accepts (on builds before friend requests: a flag on each side).
    for (const n of [A, B]) {
      const r = await n.cell.cli(["peers", "friend", rig.nodes[other(n.side)].id]);
      if (r.code !== 0) throw new Error(`grove peers friend failed: ${r.stderr}`);
    }
    await waitSyncIdle(B.cell);
    rig.hasPurge = (await A.cell.cli(["purge", "--help"])).code === 0;
    return rig;
  }

  /** Stop both cells (SIGTERM); with `remove`, delete the work folder. */
  async stop(remove: boolean): Promise<void> {
    for (const n of Object.values(this.nodes)) await n.cell?.stop().catch(() => {});
    if (remove) rmSync(this.opts.work, { recursive: true, force: true });
  }

  /** The tail of both cells' output (for a failure report). */
  outputs(): string {
    return Object.values(this.nodes)
      .map((n) => `--- cell ${n.side} (pid ${n.cell.proc.pid}) output, tail ---\n${n.cell.output().slice(-4000)}`)
      .join("\n");
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  private between([lo, hi]: [number, number]): number {
    return Math.round(lo + this.rand() * (hi - lo));
  }

  private api(side: Side, path: string, init: RequestInit = {}): Promise<Response> {
    return this.nodes[side].cell.api(path, init);
  }

  private entries(side?: Side): Entry[] {
    return [...this.ledger.values()].filter((e) => !side || e.side === side);
  }

  /** A new source file of `bytes` random bytes, or (`dedup`) a copy of an entry's content. */
  private source(bytes: number, dedupFrom?: Entry): { src: string; sha: string; size: number } {
    const src = join(this.srcDir, `f${++this.seq}.bin`);
    if (dedupFrom) {
      copyFileSync(dedupFrom.src, src);
      return { src, sha: dedupFrom.sha, size: dedupFrom.size };
    }
    return { src, sha: writeRandomFile(src, bytes), size: bytes };
  }

  /** Put `src` as `path` on `side` through the HTTP API (not killed): used to prepare. */
  private async putHttp(side: Side, path: string, src: string): Promise<boolean> {
    const res = await this.api(side, `/api/files/${encodeURI(path)}`, { method: "PUT", body: Bun.file(src) });
    await res.text();
    return res.ok;
  }

  private prepare(n: number, op: OpKind): Prepared {
    if (op.startsWith("put-")) return this.preparePut(n, op);
    if (op === "sync") return this.prepareSync(n);
    if (op === "share") return this.prepareShare();
    return this.prepareDelete();
  }

  private preparePut(n: number, op: OpKind): Prepared {
    const side: Side = this.pick(["A", "B"]);
    const large = op.endsWith("large");
    const twins = this.entries(side).filter((e) => (large ? e.size > this.opts.small[1] : e.size <= this.opts.small[1]));
    const dedup = twins.length > 0 && this.rand() < 0.25 ? this.pick(twins) : undefined;
    const { src, sha, size } = this.source(this.between(large ? this.opts.large : this.opts.small), dedup);
    const path = `soak/${n}-${op}.bin`;
    const entry: Entry = { side, path, sha, size, src };
    const viaCli = op.startsWith("put-cli");
    return {
      actor: side,
      victims: [side],
      label: `${path} (${size} B${dedup ? `, same content as ${dedup.path}` : ""}) on ${side}`,
      run: async () => {
        if (viaCli) {
          const r = await this.nodes[side].cell.cli(["put", src, "--as", path, "--json"]);
          return r.code === 0 ? { acked: true } : { acked: false, error: r.stderr.trim().split("\n").pop() };
        }
        const res = await this.api(side, `/api/files/${encodeURI(path)}`, { method: "PUT", body: Bun.file(src) });
        const body = await res.text();
        return res.ok ? { acked: true } : { acked: false, error: `${res.status} ${body.slice(0, 200)}` };
      },
      after: async (o, r) => {
        if (o.acked) {
          this.ledger.set(`${side}:${path}`, entry);
          return;
        }
        // Not acknowledged: absent, or complete (it finished just before the kill).
        const res = await this.api(side, `/api/files/${encodeURI(path)}`);
        if (res.status === 404) return void (await res.text());
        if (!res.ok) return void r.notes.push(`unacknowledged put ${path}: GET answered ${res.status} ${(await res.text()).slice(0, 200)}`);
        const got = await hashBody(res);
        if (got.sha !== sha) r.corrupt_files.push(`${side}:${path} (unacknowledged put, present with other content: ${got.bytes} B)`);
        else {
          r.notes.push(`unacknowledged put ${path} had completed: kept`);
          this.ledger.set(`${side}:${path}`, entry);
        }
      },
    };
  }

  private prepareSync(n: number): Prepared {
    const side: Side = this.pick(["A", "B"]);
    const fresh = this.source(this.between(this.opts.large));
    const path = `soak/${n}-sync.bin`;
    return {
      actor: side,
      victims: [side, other(side)],
      label: `round on ${side} with ${path} (${fresh.size} B) to push`,
      run: async () => {
        const res = await this.api(side, "/api/sync", { method: "POST" });
        const body = await res.text();
        if (!res.ok) return { acked: false, error: `${res.status} ${body.slice(0, 200)}` };
        const rep = JSON.parse(body) as SyncReport;
        return { acked: true, error: rep.errors.length ? rep.errors.join("; ") : undefined };
      },
      before: async () => {
        if (!(await this.putHttp(side, path, fresh.src))) throw new Error(`could not put ${path} before the round`);
        this.ledger.set(`${side}:${path}`, { side, path, sha: fresh.sha, size: fresh.size, src: fresh.src });
      },
      after: async () => {},
    };
  }

  private prepareShare(): Prepared {
    const sides = (["A", "B"] as Side[]).filter((s) => this.entries(s).length > 0);
    if (!sides.length) throw new Error("share: no file stored yet");
    const sharer = this.pick(sides);
    const friend = other(sharer);
    const e = this.pick(this.entries(sharer));
    const check = async (grant: string): Promise<string> => {
      const res = await this.api(friend, `/api/feed/${grant}/content`);
      if (!res.ok) throw new Error(`feed ${grant.slice(0, 12)} on ${friend}: ${res.status} ${(await res.text()).slice(0, 200)}`);
      return (await hashBody(res)).sha;
    };
    return {
      actor: sharer,
      victims: [sharer, friend],
      label: `${e.path} (${e.size} B) from ${sharer} to ${friend}, fetched via the feed`,
      run: async () => {
        const out: Outcome = { acked: false };
        const res = await this.api(sharer, "/api/shares", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ path: e.path, with: this.nodes[friend].id }),
        });
        const body = await res.text();
        if (!res.ok) return { acked: false, error: `share: ${res.status} ${body.slice(0, 200)}` };
        const view = JSON.parse(body) as ShareView;
        out.grant = view.id;
        if (!view.delivered) return { ...out, error: `share not delivered: ${view.delivery_error}` };
        try {
          out.fetched = await check(view.id);
          out.acked = true;
        } catch (err) {
          out.error = (err as Error).message;
        }
        return out;
      },
      after: async (o, r) => {
        if (o.fetched && o.fetched !== e.sha) r.corrupt_files.push(`${friend}: feed copy of ${sharer}:${e.path} differs`);
        if (!o.grant) return;
        // The grant was made: after the restart and a round, the friend gets the file.
        const deadline = Date.now() + 15_000;
        for (;;) {
          const res = await this.api(friend, `/api/feed/${o.grant}`);
          await res.text();
          if (res.ok) break;
          if (Date.now() > deadline) return void r.notes.push(`grant ${o.grant.slice(0, 12)} never reached ${friend}'s feed`);
          await this.api(sharer, "/api/sync", { method: "POST" }).then((x) => x.text());
          await Bun.sleep(200);
        }
        try {
          const sha = await check(o.grant);
          if (sha !== e.sha) r.corrupt_files.push(`${friend}: feed copy of ${sharer}:${e.path} differs after the restart`);
        } catch (err) {
          r.lost.push(`${friend}: feed ${o.grant.slice(0, 12)} (${sharer}:${e.path}): ${(err as Error).message}`);
        }
      },
    };
  }

  private prepareDelete(): Prepared {
    const sides = (["A", "B"] as Side[]).filter((s) => this.entries(s).length > 1);
    if (!sides.length) throw new Error("delete: fewer than two files stored");
    const side = this.pick(sides);
    const mine = this.entries(side);
    // Prefer a file whose content another file on this cell shares: its chunks must survive.
    const twinned = mine.filter((e) => mine.some((x) => x !== e && x.sha === e.sha));
    const e = this.pick(twinned.length ? twinned : mine);
    const key = `${side}:${e.path}`;
    this.ledger.delete(key);
    const grove = (args: string[]) => this.nodes[side].cell.cli(args);
    return {
      actor: side,
      victims: [side],
      label: `${e.path} (${e.size} B) on ${side}${twinned.length ? " (its content is shared by another file)" : ""}${this.hasPurge ? ", purged, trash collected" : ""}`,
      run: async () => {
        const res = await this.api(side, `/api/files/${encodeURI(e.path)}`, { method: "DELETE" });
        const body = await res.text();
        if (!res.ok) return { acked: false, error: `delete: ${res.status} ${body.slice(0, 200)}` };
        if (!this.hasPurge) return { acked: true };
        const p = await grove(["purge", e.path, "--all", "--json"]);
        if (p.code !== 0) return { acked: true, error: `purge: ${p.stderr.trim()}` };
        const t = await grove(["trash", "collect", "--json"]);
        if (t.code !== 0) return { acked: true, error: `trash collect: ${t.stderr.trim()}` };
        return { acked: true };
      },
      after: async (o, r) => {
        const res = await this.api(side, `/api/files/${encodeURI(e.path)}`);
        if (res.status === 404) return void (await res.text());
        if (o.acked) {
          await res.text();
          r.notes.push(`acknowledged delete of ${e.path} undone (GET ${res.status})`);
          return;
        }
        if (!res.ok) return void r.lost.push(`${key}: GET ${res.status} ${(await res.text()).slice(0, 200)}`);
        const got = await hashBody(res);
        if (got.sha !== e.sha) r.corrupt_files.push(`${key} (delete not acknowledged, content differs)`);
        else this.ledger.set(key, e);
      },
    };
  }

  /** Run each operation (three times by default) without a kill, timing it: the typical durations kills aim into. */
  async calibrate(ops: readonly OpKind[]): Promise<Map<OpKind, number>> {
    // puts first (they fill the ledger), then the rest in the given order
    const order = [...ops.filter((o) => o.startsWith("put-")), ...ops.filter((o) => !o.startsWith("put-"))];
    let n = 0;
    for (let run = 0; run < (this.opts.calibrationRuns ?? 3); run++) {
      for (const op of order) {
        const p = this.prepare(-++n, op);
        await p.before?.();
        const t0 = performance.now();
        const o = await p.run();
        const ms = performance.now() - t0;
        if (!o.acked) throw new Error(`calibration: ${op} failed: ${o.error}`);
        const r = this.emptyResult(0, op, p.actor);
        await p.after(o, r);
        if (r.lost.length || r.corrupt_files.length) throw new Error(`calibration: ${op}: ${[...r.lost, ...r.corrupt_files].join("; ")}`);
        this.sample(op, ms);
        this.opts.say(`calibration: ${op.padEnd(15)} ${String(Math.round(ms)).padStart(5)} ms  ${p.label}`);
      }
    }
    this.opts.say(`typical durations (ms): ${[...this.typical].map(([k, v]) => `${k} ${Math.round(v)}`).join(", ")}`);
    if (this.hasPurge) this.opts.say("`grove purge` is present: delete cycles purge and run the trash collection");
    else this.opts.say("no `grove purge` in this build: delete cycles only delete");
    return this.typical;
  }

  private sample(op: OpKind, ms: number): void {
    const xs = this.samples.get(op) ?? [];
    xs.push(ms);
    this.samples.set(op, xs);
  }

  private emptyResult(n: number, op: OpKind, actor: Side): CycleResult {
    return {
      n,
      op,
      actor,
      victim: actor,
      delay_ms: 0,
      kill: "none",
      acked: false,
      op_ms: 0,
      restart_ms: 0,
      problems: {},
      fatal: 0,
      repaired: 0,
      unrepaired: 0,
      unreferenced_chunks: 0,
      lost: [],
      corrupt_files: [],
      corrupt_chunks: 0,
      orphans_at_start: [],
      orphans_after_round: [],
      swept: { removed: 0, finished: 0 },
      peer_synced: false,
      sync_errors: [],
      home_missing: [],
      notes: [],
      ledger: 0,
      ok: false,
    };
  }

  /** Restart `side` on its GROVE_DIR and port. */
  private async restart(side: Side): Promise<number> {
    const n = this.nodes[side];
    const t0 = performance.now();
    n.cell = await startCell({
      root: n.root,
      config: { ...CONFIG, name: `soak-${side.toLowerCase()}` },
      listen: { host: "127.0.0.1", port: n.port },
    });
    return performance.now() - t0;
  }

  private async fsck(side: Side, repair = false): Promise<FsckReport> {
    const r = await this.nodes[side].cell.cli(["fsck", "--json", ...(repair ? ["--repair"] : [])]);
    try {
      return JSON.parse(r.stdout) as FsckReport;
    } catch {
      throw new Error(`grove fsck on ${side} printed no report (exit ${r.code}): ${r.stderr.slice(0, 500)}`);
    }
  }

  /** Add fsck's problems to the cycle's counts; fatal ones are noted. */
  private count(r: CycleResult, rep: FsckReport, where: string): void {
    for (const pr of rep.problems) {
      r.problems[pr.kind] = (r.problems[pr.kind] ?? 0) + 1;
      if (!FATAL_KINDS.includes(pr.kind)) continue;
      r.fatal++;
      if (pr.kind === "chunk_corrupt" || pr.kind === "held_corrupt") r.corrupt_chunks++;
      r.notes.push(`${where}: ${pr.kind} ${pr.detail}`);
    }
  }

  /** One cycle: operation, kill, restart, checks. */
  async cycle(n: number, op: OpKind): Promise<CycleResult> {
    const p = this.prepare(n, op);
    await p.before?.();
    const r = this.emptyResult(n, op, p.actor);
    r.victim = this.pick(p.victims);
    const typical = this.typical.get(op) ?? 1000;
    r.delay_ms = Math.round(this.rand() * typical);
    const victim = this.nodes[r.victim];

    // The operation, and the kill at the chosen moment (or right after it, when it was quicker).
    const t0 = performance.now();
    let finished = false;
    const timeout = this.opts.opTimeoutMs ?? 120_000;
    const running = Promise.race([
      p.run().catch((e: unknown) => ({ acked: false, error: (e as Error).message }) as Outcome),
      Bun.sleep(timeout).then(() => ({ acked: false, error: `no answer within ${timeout / 1000} s` }) as Outcome),
    ]).then((o) => {
      finished = true;
      r.op_ms = Math.round(performance.now() - t0);
      return o;
    });
    await Promise.race([Bun.sleep(r.delay_ms), running]);
    r.kill = finished ? "after" : "during";
    const killedAt = Date.now();
    victim.cell.proc.kill("SIGKILL");
    await victim.cell.proc.exited;
    const outcome = await running;
    r.acked = outcome.acked;

    // The state the crash left, before a restart or a round can mend anything: fsck offline.
    this.count(r, await this.fsck(r.victim), `${r.victim} fsck offline (before the restart)`);

    r.restart_ms = Math.round(await this.restart(r.victim));
    r.orphans_at_start = leftovers(victim.cell, killedAt);
    const swept = /cleared what an interrupted run left removed=(\d+) bytes=\d+ finished=(\d+)/.exec(victim.cell.output());
    if (swept) r.swept = { removed: Number(swept[1]), finished: Number(swept[2]) };
    await Promise.all([waitSyncIdle(this.nodes.A.cell), waitSyncIdle(this.nodes.B.cell)]);

    // One round on each cell: each must reach its peer.
    r.peer_synced = true;
    for (const side of ["A", "B"] as Side[]) {
      const res = await this.api(side, "/api/sync", { method: "POST" });
      const body = await res.text();
      if (!res.ok) {
        r.peer_synced = false;
        r.sync_errors.push(`${side}: POST /api/sync ${res.status} ${body.slice(0, 200)}`);
        continue;
      }
      const rep = JSON.parse(body) as SyncReport;
      if (rep.reached < 1 || rep.reached !== rep.peers) r.peer_synced = false;
      for (const e of rep.errors) r.sync_errors.push(`${side}: ${e}`);
    }
    for (const side of ["A", "B"] as Side[])
      r.orphans_after_round.push(...leftovers(this.nodes[side].cell, killedAt).map((x) => `${side}: ${x}`));

    // fsck on each cell, with its peer; placement records must be fixed by --repair.
    for (const side of ["A", "B"] as Side[]) {
      const rep = await this.fsck(side);
      r.unreferenced_chunks += rep.unreferenced_chunks;
      this.count(r, rep, `${side} fsck`);
      const fixable = rep.problems.filter((x) => !FATAL_KINDS.includes(x.kind));
      if (fixable.length) {
        await this.fsck(side, true);
        const again = await this.fsck(side);
        const left = again.problems.filter((x) => !FATAL_KINDS.includes(x.kind)).length;
        r.repaired += Math.max(0, fixable.length - left);
        r.unrepaired += left;
        for (const x of again.problems.filter((y) => !FATAL_KINDS.includes(y.kind)))
          r.notes.push(`${side} fsck after --repair: ${x.kind} ${x.detail}`);
      }
    }

    await p.after(outcome, r);

    // The ledger: every acknowledged put, byte-identical (and its GROVE_HOME copy, reported).
    for (const [key, e] of this.ledger) {
      const res = await this.api(e.side, `/api/files/${encodeURI(e.path)}`);
      if (!res.ok) {
        r.lost.push(`${key}: GET ${res.status} ${(await res.text()).slice(0, 200)}`);
        continue;
      }
      const got = await hashBody(res);
      if (got.sha !== e.sha)
        r.corrupt_files.push(`${key}: ${got.bytes} B, SHA-256 ${got.sha.slice(0, 12)} instead of ${e.sha.slice(0, 12)}`);
      const home = join(this.nodes[e.side].cell.home, ...e.path.split("/"));
      if (!existsSync(home) || statSync(home).size !== e.size || sha256File(home) !== e.sha) r.home_missing.push(key);
    }
    r.ledger = this.ledger.size;
    if (outcome.error && r.notes.length < 20) r.notes.push(`operation: ${outcome.error.slice(0, 300)}`);
    r.ok =
      r.fatal === 0 &&
      r.unrepaired === 0 &&
      r.lost.length === 0 &&
      r.corrupt_files.length === 0 &&
      r.orphans_after_round.length === 0 &&
      r.peer_synced;
    return r;
  }
}

/** The order of operations for `cycles` cycles: shuffled blocks of `ops`, so each gets its share. */
export function schedule(ops: readonly OpKind[], cycles: number, rand: () => number): OpKind[] {
  const out: OpKind[] = [];
  while (out.length < cycles) {
    const block = [...ops];
    for (let i = block.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [block[i], block[j]] = [block[j]!, block[i]!];
    }
    out.push(...block);
  }
  return out.slice(0, cycles);
}

/** One line per cycle. */
export function cycleLine(r: CycleResult): string {
  const probs =
    Object.entries(r.problems)
      .map(([k, v]) => `${k}=${v}`)
      .join(",") || "none";
  const parts = [
    `#${String(r.n).padStart(3)} ${r.op.padEnd(14)} on ${r.actor}, kill ${r.victim} at ${r.delay_ms} ms (${r.kill}, op ${r.op_ms} ms, ${r.acked ? "acked" : "not acked"})`,
    `restart ${r.restart_ms} ms`,
    `fsck ${probs}${r.repaired ? ` (${r.repaired} repaired)` : ""}`,
    `ledger ${r.ledger}: lost ${r.lost.length}, corrupt ${r.corrupt_files.length}`,
    `swept at start ${r.swept.removed}${r.swept.finished ? ` (+${r.swept.finished} uploads finished)` : ""}, left ${r.orphans_at_start.length}/${r.orphans_after_round.length}`,
    `sync ${r.peer_synced ? "ok" : "FAILED"}`,
    r.ok ? "ok" : "FAIL",
  ];
  return parts.join(" | ");
}

export interface SoakSummary {
  cycles: number;
  kills: Record<string, { kills: number; during: number; after: number; acked: number }>;
  kills_by_victim: Record<Side, number>;
  fsck_problems: Partial<Record<ProblemKind, number>>;
  placement_repaired: number;
  unrepaired: number;
  fatal: number;
  lost_files: number;
  corrupt_files: number;
  corrupt_chunks: number;
  orphans_at_start: number;
  orphans_after_round: number;
  swept_at_start: number;
  uploads_finished_at_start: number;
  sync_failures: number;
  home_copies_missing: number;
  unreferenced_chunks_max: number;
  failed_cycles: number[];
  ok: boolean;
}

export function summarize(results: readonly CycleResult[]): SoakSummary {
  const kills: SoakSummary["kills"] = {};
  const s: SoakSummary = {
    cycles: results.length,
    kills,
    kills_by_victim: { A: 0, B: 0 },
    fsck_problems: {},
    placement_repaired: 0,
    unrepaired: 0,
    fatal: 0,
    lost_files: 0,
    corrupt_files: 0,
    corrupt_chunks: 0,
    orphans_at_start: 0,
    orphans_after_round: 0,
    swept_at_start: 0,
    uploads_finished_at_start: 0,
    sync_failures: 0,
    home_copies_missing: 0,
    unreferenced_chunks_max: 0,
    failed_cycles: [],
    ok: true,
  };
  for (const r of results) {
    const k = (kills[r.op] ??= { kills: 0, during: 0, after: 0, acked: 0 });
    k.kills++;
    if (r.kill === "during") k.during++;
    if (r.kill === "after") k.after++;
    if (r.acked) k.acked++;
    s.kills_by_victim[r.victim]++;
    for (const [kind, v] of Object.entries(r.problems))
      s.fsck_problems[kind as ProblemKind] = (s.fsck_problems[kind as ProblemKind] ?? 0) + v;
    s.placement_repaired += r.repaired;
    s.unrepaired += r.unrepaired;
    s.fatal += r.fatal;
    s.lost_files += r.lost.length;
    s.corrupt_files += r.corrupt_files.length;
    s.corrupt_chunks += r.corrupt_chunks;
    s.orphans_at_start += r.orphans_at_start.length;
    s.orphans_after_round += r.orphans_after_round.length;
    s.swept_at_start += r.swept.removed;
    s.uploads_finished_at_start += r.swept.finished;
    if (!r.peer_synced) s.sync_failures++;
    s.home_copies_missing = Math.max(s.home_copies_missing, r.home_missing.length);
    s.unreferenced_chunks_max = Math.max(s.unreferenced_chunks_max, r.unreferenced_chunks);
    if (!r.ok) s.failed_cycles.push(r.n);
  }
  s.ok = s.failed_cycles.length === 0;
  return s;
}

export function summaryTable(s: SoakSummary): string {
  const ops = Object.keys(s.kills).sort();
  const rows: (string | number)[][] = [["operation", "kills", "during", "after", "acked"]];
  for (const op of ops) {
    const k = s.kills[op]!;
    rows.push([op, k.kills, k.during, k.after, k.acked]);
  }
  rows.push([
    "all",
    s.cycles,
    ops.reduce((n, o) => n + s.kills[o]!.during, 0),
    ops.reduce((n, o) => n + s.kills[o]!.after, 0),
    ops.reduce((n, o) => n + s.kills[o]!.acked, 0),
  ]);
  const probs =
    Object.entries(s.fsck_problems)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ") || "none";
  const facts: (string | number)[][] = [
    ["check", "value", "must be"],
    ["cycles", s.cycles, ""],
    ["kills of A / B", `${s.kills_by_victim.A} / ${s.kills_by_victim.B}`, ""],
    ["fsck problems by kind (before repair)", probs, "no chunk_*/manifest_*/held_*"],
    ["placement records fixed by fsck --repair", s.placement_repaired, ""],
    ["problems left after --repair", s.unrepaired + s.fatal, 0],
    ["lost files", s.lost_files, 0],
    ["files with other content", s.corrupt_files, 0],
    ["corrupt chunks", s.corrupt_chunks, 0],
    ["temp files the start-up sweep removed", s.swept_at_start, ""],
    ["uploads the start-up sweep finished (rename)", s.uploads_finished_at_start, ""],
    ["temp files right after restart", s.orphans_at_start, 0],
    ["temp files after restart + one round", s.orphans_after_round, 0],
    ["rounds that did not reach the peer", s.sync_failures, 0],
    ["GROVE_HOME copies missing (max over cycles)", s.home_copies_missing, 0],
    ["unreferenced chunk files (max; GC removes them)", s.unreferenced_chunks_max, ""],
    ["failed cycles", s.failed_cycles.length ? s.failed_cycles.join(",") : "none", "none"],
  ];
  return `${table(rows)}\n\n${table(facts)}`;
}
