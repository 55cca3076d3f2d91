/**
 * @module cell/sync-history — the sync rounds' throughput kept across restarts, for the Storage
 * tab's chart: GROVE_DIR/sync_history.json, rewritten (temp file and rename) after each round.
 *
 * Bounded by age and resolution, so the file stays small however often rounds run: rounds of the
 * last hour as they ran (those within one minute merged), then one point per quarter hour up to a
 * day, then one per two hours up to 7 days; older rounds go. That is at most about 230 points.
 * A file that cannot be read (absent, torn by a crash, written by hand) starts an empty history:
 * the chart is a view, not a record anyone relies on.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileUnsynced } from "../core/atomic.ts";
import { errorMessage } from "../core/errors.ts";
import type { Layout } from "../core/layout.ts";
import { log } from "../core/log.ts";

/** One finished sync round in figures (sync/round-history keeps the last ones in memory in this shape). */
export interface RoundFigures {
  /** When the round started, unix ms. */
  at: number;
  duration_ms: number;
  /** Chunk bytes pushed to peers, and pulled from them. */
  bytes_sent: number;
  bytes_received: number;
  /** Peers that answered, of how many. */
  reached: number;
  peers: number;
}

/** One round, or several rounds close in time merged (their bytes and durations summed). */
export interface HistoryPoint extends RoundFigures {
  /** How many rounds this point holds (1: one round as it ran). */
  rounds: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** How long rounds are kept. */
export const HISTORY_MS = 7 * DAY;

/** Up to `age`, rounds are merged into spans of `width` (aligned on the clock; each width divides the next). */
const TIERS: readonly { age: number; width: number }[] = [
  { age: HOUR, width: MINUTE },
  { age: DAY, width: 15 * MINUTE },
  { age: HISTORY_MS, width: 2 * HOUR },
];

/** The span a point `age` ms old is merged into, or null when it is too old to keep. */
function widthAt(age: number): number | null {
  for (const t of TIERS) if (age < t.age) return t.width;
  return null;
}

/** `b` folded into `a` (a is the earlier): bytes and time summed, the worst reach kept. */
function merge(a: HistoryPoint, b: HistoryPoint): HistoryPoint {
  return {
    at: a.at,
    duration_ms: a.duration_ms + b.duration_ms,
    bytes_sent: a.bytes_sent + b.bytes_sent,
    bytes_received: a.bytes_received + b.bytes_received,
    reached: Math.min(a.reached, b.reached),
    peers: Math.max(a.peers, b.peers),
    rounds: a.rounds + b.rounds,
  };
}

/** `points` (oldest first) brought to the resolution their age allows at `now`, the too old dropped. */
export function compact(points: readonly HistoryPoint[], now: number): HistoryPoint[] {
  const out: HistoryPoint[] = [];
  for (const p of [...points].sort((x, y) => x.at - y.at)) {
    const w = widthAt(now - p.at);
    if (w === null) continue;
    const last = out.at(-1);
    if (last && widthAt(now - last.at) === w && Math.floor(last.at / w) === Math.floor(p.at / w)) out[out.length - 1] = merge(last, p);
    else out.push({ ...p });
  }
  return out;
}

const count = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;

/** A stored point, or null when it is not one (a hand-edited or foreign file). */
function pointOf(v: unknown): HistoryPoint | null {
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  const { at, duration_ms, bytes_sent, bytes_received, reached, peers, rounds } = o;
  if (![at, duration_ms, bytes_sent, bytes_received, reached, peers].every(count) || !count(rounds) || rounds < 1) return null;
  return {
    at: at as number,
    duration_ms: duration_ms as number,
    bytes_sent: bytes_sent as number,
    bytes_received: bytes_received as number,
    reached: reached as number,
    peers: peers as number,
    rounds,
  };
}

/** The history file of the cell in `layout.dir`. */
export function syncHistoryPath(layout: Pick<Layout, "dir">): string {
  return join(layout.dir, "sync_history.json");
}

export class SyncHistory {
  private points: HistoryPoint[];
  /** Writes run one after another, each with the points of its moment. */
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly now: () => number = Date.now,
  ) {
    this.points = compact(this.read(), this.now());
  }

  /** The cell's history (GROVE_DIR/sync_history.json). */
  static open(layout: Pick<Layout, "dir">): SyncHistory {
    return new SyncHistory(syncHistoryPath(layout));
  }

  private read(): HistoryPoint[] {
    let raw: string;
    try {
      raw = readFileSync(this.path, "utf8");
    } catch {
      return []; // none yet
    }
    try {
      const v: unknown = JSON.parse(raw);
      const list = typeof v === "object" && v !== null ? (v as { points?: unknown }).points : null;
      if (!Array.isArray(list)) throw new Error("no points list");
      return list.map(pointOf).filter((p): p is HistoryPoint => p !== null);
    } catch (e) {
      log("warn", `sync history not read, starting a new one: ${errorMessage(e)}`, { path: this.path });
      return [];
    }
  }

  /** Keep one finished round; the file is rewritten (resolves once written; a failed write is logged). */
  add(round: RoundFigures): Promise<void> {
    this.points = compact([...this.points, { ...round, rounds: 1 }], this.now());
    const body = JSON.stringify({ points: this.points });
    this.saving = this.saving.then(() =>
      writeFileUnsynced(this.path, body, 0o600).catch((e) => log("warn", `sync history not saved: ${errorMessage(e)}`)),
    );
    return this.saving;
  }

  /** The rounds kept, oldest first, at the resolution their age allows now (copies). */
  list(): HistoryPoint[] {
    this.points = compact(this.points, this.now());
    return this.points.map((p) => ({ ...p }));
  }
}
