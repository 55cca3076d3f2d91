/** @jsxImportSource hono/jsx */
/**
 * @module views/charts — the Storage tab's two small charts, as inline SVG drawn on the server
 * (no script, no library): the bytes the sync rounds of the last days moved (kept across restarts
 * by cell/sync-history, older rounds merged by time), and what each peer keeps for
 * this cell and this cell for it. Each is an `svg` with role="img" and an aria-label saying what
 * it shows in words, plus a caption; every bar has a `title` with its figures (shown on hover).
 * Bars are placed in percentages of the width and text keeps its size, so they fit a phone screen.
 */
import type { RoundPoint } from "../src/sync/round-history.ts";
import type { PeerPlacement } from "../src/sync/placement-report.ts";
import { formatBytes, formatTime, relativeTime } from "../src/core/format.ts";

const SENT = "#2f7d4a";
const RECEIVED = "#3b6fb6";
const fx = (n: number) => n.toFixed(1);

/** A swatch and a word, for the captions. */
function Key({ color, label }: { color: string; label: string }) {
  return (
    <li>
      <svg class="swatch" width="14" height="10" aria-hidden="true">
        <rect width="14" height="10" rx="2" fill={color} />
      </svg>{" "}
      {label}
    </li>
  );
}

/**
 * The charts have no viewBox: bars are placed in percentages of the width and text keeps its
 * size, so labels read the same on a phone and on a wide screen.
 */
const pct = (n: number) => `${n.toFixed(2)}%`;

const TH = 170;
/** Plot area, px from the top: a line of text above it, the time labels below. */
const PLOT_TOP = 22;
const PLOT_BOTTOM = TH - 24;

/** A bar of the throughput chart: one round, or `rounds` rounds close in time merged (cell/sync-history). */
export type ChartRound = RoundPoint & { rounds?: number };

/** What a bar's hover says: when, what moved, how fast, how many peers were reached. */
function barTitle(p: ChartRound, moved: number): string {
  const n = p.rounds ?? 1;
  const rate = p.duration_ms > 0 ? `, ${formatBytes((moved * 1000) / p.duration_ms)}/s` : "";
  const what = `sent ${formatBytes(p.bytes_sent)}, received ${formatBytes(p.bytes_received)} in ${(p.duration_ms / 1000).toFixed(1)} s${rate}`;
  return n === 1
    ? `${formatTime(p.at)}: ${what}; ${p.reached} of ${p.peers} peers reached`
    : `${n} rounds from ${formatTime(p.at)}: ${what}; at least ${p.reached} of ${p.peers} peers reached in each`;
}

/** Bytes sent (and received, stacked above) by each round kept, oldest on the left. */
export function ThroughputChart({ rounds, now = Date.now() }: { rounds: ChartRound[]; now?: number }) {
  if (!rounds.length)
    return (
      <p class="empty" id="throughput-empty">
        No sync round in the last 7 days: the chart fills as rounds run.
      </p>
    );
  const moved = (p: RoundPoint) => p.bytes_sent + p.bytes_received;
  const max = Math.max(...rounds.map(moved));
  const top = max > 0 ? max : 1;
  const ph = PLOT_BOTTOM - PLOT_TOP;
  const slot = 100 / rounds.length;
  const bar = Math.min(slot * 0.7, 6);
  const y = (b: number) => PLOT_BOTTOM - (b / top) * ph;
  const total = rounds.reduce((n, p) => n + moved(p), 0);
  const count = rounds.reduce((n, p) => n + (p.rounds ?? 1), 0);
  const merged = count > rounds.length;
  const unit = merged ? "bar" : "round";
  const first = rounds[0]!;
  const last = rounds[rounds.length - 1]!;
  const label =
    `Bytes moved by the last ${count} sync round${count === 1 ? "" : "s"}: ${formatBytes(total)} in all, ` +
    `at most ${formatBytes(max)} in one ${unit}; the latest moved ${formatBytes(moved(last))}.`;
  return (
    <figure class="chart-box" id="throughput-chart">
      <svg class="chart" width="100%" height={TH} role="img" aria-label={label} xmlns="http://www.w3.org/2000/svg">
        <g font-size="12" fill="currentColor" fill-opacity="0.8">
          <text x="0" y="13">
            {max > 0 ? `${formatBytes(max)} per ${unit} at most` : "nothing moved"}
          </text>
          <text x="0" y={TH - 6}>
            {relativeTime(first.at, now)}
          </text>
          <text x="100%" y={TH - 6} text-anchor="end">
            {relativeTime(last.at, now)}
          </text>
        </g>
        <g stroke="currentColor" stroke-opacity="0.35">
          <line x1="0" y1={PLOT_TOP} x2="100%" y2={PLOT_TOP} stroke-dasharray="3 3" stroke-opacity="0.2" />
          <line x1="0" y1={PLOT_BOTTOM} x2="100%" y2={PLOT_BOTTOM} />
        </g>
        {rounds.map((p, i) => {
          const x = pct(slot * i + (slot - bar) / 2);
          const sentTop = y(p.bytes_sent);
          const bothTop = y(moved(p));
          return (
            <g class="round-bar" data-at={p.at} data-rounds={p.rounds ?? 1}>
              <title>{barTitle(p, moved(p))}</title>
              {/* The whole slot, faint, so a round that moved nothing is there too (and hovering it shows its figures). */}
              <rect x={x} y={PLOT_TOP} width={pct(bar)} height={ph} fill="currentColor" fill-opacity="0.05" />
              {p.bytes_sent > 0 ? <rect x={x} y={fx(sentTop)} width={pct(bar)} height={fx(PLOT_BOTTOM - sentTop)} fill={SENT} /> : null}
              {p.bytes_received > 0 ? <rect x={x} y={fx(bothTop)} width={pct(bar)} height={fx(sentTop - bothTop)} fill={RECEIVED} /> : null}
            </g>
          );
        })}
      </svg>
      <figcaption>
        Sync throughput over the last 7 days (kept across restarts): the bytes each round moved, oldest on the left
        {merged ? "; older rounds are grouped, by quarter hour after an hour and by two hours after a day" : ""}.
        <ul class="legend">
          <Key color={SENT} label="sent to peers" />
          <Key color={RECEIVED} label="received from peers" />
        </ul>
      </figcaption>
    </figure>
  );
}

const ROW = 46;
/** Where the bars start and how wide they may be, in % of the width; the figures follow them. */
const BAR_X = 34;
const BAR_W = 44;

/** Per peer: what it keeps for this cell (upper bar) and what this cell keeps for it (lower bar). */
export function HeldChart({ peers }: { peers: PeerPlacement[] }) {
  if (!peers.length) return null;
  const forUs = (p: PeerPlacement) => p.holds_for_us.bytes;
  const forIt = (p: PeerPlacement) => p.we_hold_for_it.bytes + p.we_hold_for_it.backup_bytes;
  const max = Math.max(1, ...peers.map(forUs), ...peers.map(forIt));
  const w = (b: number) => (b > 0 ? Math.max(0.5, (b / max) * BAR_W) : 0);
  const H = peers.length * ROW + 4;
  const label = `Bytes held per peer: ${peers
    .map((p) => `${p.name} keeps ${formatBytes(forUs(p))} for this cell, this cell keeps ${formatBytes(forIt(p))} for it`)
    .join("; ")}.`;
  const name = (s: string) => (s.length > 14 ? `${s.slice(0, 13)}…` : s);
  return (
    <figure class="chart-box" id="held-chart">
      <svg class="chart" width="100%" height={H} role="img" aria-label={label} xmlns="http://www.w3.org/2000/svg">
        {peers.map((p, i) => {
          const top = i * ROW + 4;
          return (
            <g class="held-row" data-peer={p.id} font-size="12" fill="currentColor">
              <title>{`${p.name}: keeps ${formatBytes(forUs(p))} for this cell; this cell keeps ${formatBytes(forIt(p))} for it`}</title>
              <text x="0" y={top + 24} font-size="13">
                {name(p.name)}
              </text>
              <rect x={pct(BAR_X)} y={top + 4} width={pct(BAR_W)} height="15" fill="currentColor" fill-opacity="0.06" />
              <rect x={pct(BAR_X)} y={top + 4} width={pct(w(forUs(p)))} height="15" fill={SENT} />
              <text x={pct(BAR_X + BAR_W + 2)} y={top + 16}>
                {formatBytes(forUs(p))}
              </text>
              <rect x={pct(BAR_X)} y={top + 22} width={pct(BAR_W)} height="15" fill="currentColor" fill-opacity="0.06" />
              <rect x={pct(BAR_X)} y={top + 22} width={pct(w(forIt(p)))} height="15" fill={RECEIVED} />
              <text x={pct(BAR_X + BAR_W + 2)} y={top + 34}>
                {formatBytes(forIt(p))}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>
        Bytes held, per peer.
        <ul class="legend">
          <Key color={SENT} label="it keeps for this cell" />
          <Key color={RECEIVED} label="this cell keeps for it" />
        </ul>
      </figcaption>
    </figure>
  );
}
