/** @jsxImportSource hono/jsx */
/**
 * @module views/bounty — the Bounty tab: per peer what it keeps for us and we for it (now and in
 * byte-hours), the balance against the allowance, whether the last signed statements agree (a
 * disagreement is highlighted with its reason), and a server-rendered SVG chart of each peer's
 * balance over time (one line per peer; no script).
 */
import type { BountyHistory, BountyPeer, BountyReport } from "../src/bounty/types.ts";
import { formatBytes, formatTime, signedBytes, shortId } from "../src/core/format.ts";

/** Line colours, one per peer in turn (readable on light and dark backgrounds). */
const COLORS = ["#2f7d4a", "#d1495b", "#3d7dd8", "#e08a1e", "#8e5bd6", "#1b998b", "#c2417f", "#7a8b1f"];

const byteHours = (n: number) => `${formatBytes(Math.round(n))}·h`;
const signedByteHours = (n: number) => `${signedBytes(Math.round(n))}·h`;

function Allowance({ p }: { p: BountyPeer }) {
  if (p.exempt)
    return (
      <span class="exempt" title="never refused for its balance (Settings › Exempt favorites, Exempt friends)">
        exempt ({p.exempt_as})
      </span>
    );
  if (p.over_allowance)
    return (
      <span class="over error" title="its new chunks are refused here until its balance is back within the allowance">
        over: −{formatBytes(p.allowance_bytes)} passed
      </span>
    );
  const room = p.balance_bytes + p.allowance_bytes;
  return (
    <span class="within" title={`it may fall to −${formatBytes(p.allowance_bytes)}`}>
      {formatBytes(room)} left of {formatBytes(p.allowance_bytes)}
    </span>
  );
}

function StatementCell({ p }: { p: BountyPeer }) {
  const s = p.statement;
  if (!s) return <span class="notice">none yet</span>;
  const title = `theirs: keeps ${formatBytes(s.theirs.given_bytes)} for us, says we keep ${formatBytes(s.theirs.received_bytes)} for it · ours: ${formatBytes(s.ours.received_bytes)} / ${formatBytes(s.ours.given_bytes)}`;
  if (s.agree)
    return (
      <span class="agree ok-line" title={title}>
        agree <span class="sub">{formatTime(s.at)}</span>
      </span>
    );
  return (
    <span class="disagree-flag error" title={title}>
      disagree <span class="sub">{formatTime(s.at)}</span>
    </span>
  );
}

function PeersTable({ r }: { r: BountyReport }) {
  if (!r.peers.length) {
    return (
      <section class="card" id="bounty-peers">
        <h2>Peers</h2>
        <p class="empty">
          No peers yet: pair with another cell in the <a href="/peers">Peers</a> tab. The ledger starts with the first sync round.
        </p>
      </section>
    );
  }
  return (
    <section class="card" id="bounty-peers">
      <h2>Peers</h2>
      <div class="table-wrap">
        <table class="bounty">
          <thead>
            <tr>
              <th>Name</th>
              <th>Id</th>
              <th class="num">Keeps for us</th>
              <th class="num">We keep for it</th>
              <th class="num">Relayed for us / for it</th>
              <th class="num">Balance</th>
              <th class="num">Over time</th>
              <th>Allowance</th>
              <th>Statements</th>
            </tr>
          </thead>
          <tbody>
            {r.peers.map((p) => {
              const off = p.statement !== null && !p.statement.agree;
              return (
                <>
                  <tr data-peer={p.peer} class={[off ? "disagree" : "", p.over_allowance ? "over" : ""].filter(Boolean).join(" ")}>
                    <td>{p.name}</td>
                    <td>
                      <code title={p.peer}>{p.peer.slice(0, 12)}</code>
                    </td>
                    <td class="num received">
                      {formatBytes(p.received_bytes)}
                      <span class="sub">{byteHours(p.received_byte_hours)}</span>
                    </td>
                    <td class="num given">
                      {formatBytes(p.given_bytes)}
                      <span class="sub">{byteHours(p.given_byte_hours)}</span>
                    </td>
                    <td class="num relayed">
                      {formatBytes(p.relay_received_bytes)} / {formatBytes(p.relay_given_bytes)}
                    </td>
                    <td class={`num balance ${p.balance_bytes < 0 ? "neg" : "pos"}`}>{signedBytes(p.balance_bytes)}</td>
                    <td class={`num balance-hours ${p.balance_byte_hours < 0 ? "neg" : "pos"}`}>{signedByteHours(p.balance_byte_hours)}</td>
                    <td class="allowance">
                      <Allowance p={p} />
                    </td>
                    <td class="statement">
                      <StatementCell p={p} />
                    </td>
                  </tr>
                  {off ? (
                    <tr class="disagree-reason" data-peer={p.peer}>
                      <td colspan={9} class="error" role="alert">
                        Statements disagree: {p.statement!.reason}
                      </td>
                    </tr>
                  ) : null}
                </>
              );
            })}
          </tbody>
        </table>
      </div>
      <p class="notice">
        Balance = what the peer keeps for this cell − what this cell keeps for it (chunks). A peer whose balance would fall below −
        {formatBytes(r.allowance_bytes)} (the allowance, set in <a href="/settings#set-bounty-allowance">Settings › Bounty allowance</a>) is
        refused new chunks here
        {r.exempt_favorites || r.exempt_friends
          ? `, unless it is a ${[r.exempt_favorites ? "favorite" : "", r.exempt_friends ? "friend" : ""].filter(Boolean).join(" or ")}`
          : ""}
        . Bytes a peer's relay carries for this cell (and this cell's relay for it) count {r.relay_credit_hours} byte-hours per byte in the
        balance over time. Each sync round both sides sign their figures and compare; a difference beyond the tolerance is shown here, never
        merged.
      </p>
    </section>
  );
}

/** A step of 2^k bytes that cuts `span` into at most `n` parts. */
function niceStep(span: number, n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(span / n, 1)));
}

const W = 760;
const H = 280;
const M = { left: 84, right: 16, top: 14, bottom: 38 };

/** The balance of every peer over time: one polyline each, a zero line, labelled axes. */
export function BalanceChart({ history }: { history: BountyHistory[] }) {
  const series = history.filter((h) => h.points.length > 0);
  if (!series.length)
    return (
      <p class="empty" id="bounty-chart-empty">
        No history yet: the balance is recorded at each sync round.
      </p>
    );
  const all = series.flatMap((h) => h.points);
  let t0 = Math.min(...all.map((p) => p.at));
  let t1 = Math.max(...all.map((p) => p.at));
  if (t1 - t0 < 60_000) (t0 -= 30_000), (t1 += 30_000);
  const lo = Math.min(0, ...all.map((p) => p.balance_bytes));
  const hi = Math.max(0, ...all.map((p) => p.balance_bytes));
  const step = niceStep(hi - lo || 1024 ** 2, 4);
  const y0 = Math.floor(lo / step) * step - (lo === 0 && hi === 0 ? step : 0);
  const y1 = Math.ceil(hi / step) * step + (lo === 0 && hi === 0 ? step : 0);
  const yMin = y0 === y1 ? y0 - step : y0;
  const yMax = y0 === y1 ? y1 + step : y1;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (t: number) => M.left + ((t - t0) / (t1 - t0)) * pw;
  const y = (b: number) => M.top + (1 - (b - yMin) / (yMax - yMin)) * ph;
  const yTicks: number[] = [];
  for (let v = yMin; v <= yMax + step / 2; v += step) yTicks.push(v);
  const xTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => t0 + f * (t1 - t0));
  // "2026-11-30 21:55:27 UTC": seconds for a short span, the day for a long one.
  const span = t1 - t0;
  const timeLabel = (t: number) =>
    span <= 2 * 3_600_000 ? formatTime(t).slice(11, 19) : span <= 2 * 86_400_000 ? formatTime(t).slice(5, 16) : formatTime(t).slice(0, 10);
  const fx = (n: number) => n.toFixed(1);
  return (
    <figure class="bounty-chart" id="bounty-chart">
      <svg
        class="chart"
        viewBox={`0 0 ${W} ${H}`}
        width="100%"
        role="img"
        aria-label="Balance with each peer over time"
        xmlns="http://www.w3.org/2000/svg"
      >
        <g class="axes" stroke="currentColor" stroke-opacity="0.35" fill="none">
          <line x1={M.left} y1={M.top} x2={M.left} y2={H - M.bottom} />
          <line x1={M.left} y1={H - M.bottom} x2={W - M.right} y2={H - M.bottom} />
        </g>
        <g class="y-ticks" font-size="11" fill="currentColor" text-anchor="end">
          {yTicks.map((v) => (
            <>
              <line
                x1={M.left}
                x2={W - M.right}
                y1={fx(y(v))}
                y2={fx(y(v))}
                stroke="currentColor"
                stroke-opacity={v === 0 ? "0.6" : "0.1"}
                stroke-dasharray={v === 0 ? "4 3" : undefined}
              />
              <text x={M.left - 6} y={fx(y(v) + 4)}>
                {signedBytes(v)}
              </text>
            </>
          ))}
        </g>
        <g class="x-ticks" font-size="11" fill="currentColor" text-anchor="middle">
          {xTicks.map((t, i) => (
            <>
              <line x1={fx(x(t))} x2={fx(x(t))} y1={H - M.bottom} y2={H - M.bottom + 4} stroke="currentColor" stroke-opacity="0.35" />
              <text x={fx(x(t))} y={H - M.bottom + 17} text-anchor={i === xTicks.length - 1 ? "end" : undefined}>
                {timeLabel(t)}
              </text>
            </>
          ))}
          <text x={M.left + pw / 2} y={H - 4} fill-opacity="0.7">
            time (UTC)
          </text>
        </g>
        <text
          class="y-title"
          font-size="11"
          fill="currentColor"
          fill-opacity="0.7"
          transform={`translate(12 ${M.top + ph / 2}) rotate(-90)`}
          text-anchor="middle"
        >
          balance
        </text>
        {series.map((h, i) => {
          const color = COLORS[i % COLORS.length]!;
          const pts = h.points.map((p) => `${fx(x(p.at))},${fx(y(p.balance_bytes))}`).join(" ");
          const last = h.points[h.points.length - 1]!;
          return (
            <g class="series" data-peer={h.peer}>
              <title>{`${h.name}: ${signedBytes(last.balance_bytes)} at ${formatTime(last.at)}`}</title>
              <polyline points={pts} fill="none" stroke={color} stroke-width="2" stroke-linejoin="round" />
              <circle cx={fx(x(last.at))} cy={fx(y(last.balance_bytes))} r="3" fill={color} />
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul class="legend">
          {series.map((h, i) => (
            <li data-peer={h.peer}>
              <svg class="swatch" width="14" height="10" aria-hidden="true">
                <rect width="14" height="10" rx="2" fill={COLORS[i % COLORS.length]} />
              </svg>{" "}
              {h.name} <code>{shortId(h.peer)}</code>
            </li>
          ))}
        </ul>
        Balance (what the peer keeps for this cell − what this cell keeps for it), recorded at each sync round.
      </figcaption>
    </figure>
  );
}

export function BountyPage(p: { report: BountyReport }) {
  const r = p.report;
  const off = r.peers.filter((x) => x.statement && !x.statement.agree).length;
  return (
    <>
      <h1>Bounty</h1>
      {off ? (
        <p class="error" id="bounty-disagreements" role="alert">
          {off === 1 ? "1 peer's statement disagrees" : `${off} peers' statements disagree`} with this cell's ledger: see below.
        </p>
      ) : null}
      <PeersTable r={r} />
      <section class="card" id="bounty-history">
        <h2>Balance over time</h2>
        <BalanceChart history={r.history} />
      </section>
    </>
  );
}
