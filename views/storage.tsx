/** @jsxImportSource hono/jsx */
/**
 * @module views/storage — the Storage tab: replication factor, copies per file against it, the
 * files at risk (and a warning naming any holder of our copies that did not answer), what each
 * peer keeps for us and we for it, the last sync round in sentences with a "Sync now" button
 * (htmx swaps in the new state; without JS it is a plain POST + redirect), and two charts: the
 * bytes recent rounds moved, and the bytes held per peer (views/charts).
 */
import type { FilePlacement, PeerPlacement, PlacementReport } from "../src/sync/placement-report.ts";
import { count, formatBytes, formatTime, shortId } from "../src/core/format.ts";
import type { SyncProgress, SyncReport } from "../src/sync/round.ts";
import { describeProgress } from "../src/sync/summary.ts";
import { RoundSummary, roundProblems } from "./round-summary.tsx";
import { HeldChart, ThroughputChart, type ChartRound } from "./charts.tsx";
import { humanProblem } from "./human-error.ts";
import { When } from "./when.tsx";

/** Rows shown per table; the rest are counted (the CLI's `grove placement` lists them all). */
const MAX_ROWS = 500;

export interface SyncState {
  /** False when this cell runs no sync Worker (the button is then off). */
  available: boolean;
  running: boolean;
  /** How far the running round is (null between rounds, or before its first report). */
  progress: SyncProgress | null;
  /** The last round that finished since the cell started. */
  last: SyncReport | null;
  /** Set when the most recent round failed as a whole. */
  lastError: string | null;
  intervalS: number;
  /** The rounds of the last days, oldest first, older ones merged (the throughput chart; cell/sync-history). */
  history: ChartRound[];
}

export interface StorageState {
  report: PlacementReport;
  sync: SyncState;
  lostAfterS: number;
  csrf?: string;
  /** Set when the body polls for a round still running (after "Sync now" or on load). */
  notice?: string;
}

function duration(s: number): string {
  if (s % 86400 === 0) return `${s / 86400} day${s === 86400 ? "" : "s"}`;
  if (s % 3600 === 0) return `${s / 3600} hour${s === 3600 ? "" : "s"}`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

function holderName(h: string): string {
  return h === "self" ? "this cell" : h;
}

function Copies({ f }: { f: FilePlacement }) {
  const under = f.copies < f.desired;
  return (
    <span
      class={under ? "copies under" : "copies ok"}
      title={under ? `${f.desired - f.copies} copy/copies short of the replication factor` : "at the replication factor"}
    >
      {f.copies}/{f.desired}
      {under ? <span class="flag"> under</span> : null}
    </span>
  );
}

/** Cells holding every chunk; chunks spread over several peers add copies no single cell has whole. */
function Holders({ f }: { f: FilePlacement }) {
  if (f.copies === 0) return <span class="error">no copy known</span>;
  const spread = f.copies > f.holders.length ? "chunks spread over several cells" : null;
  if (!f.holders.length) return <>{spread}</>;
  return (
    <>
      {f.holders.map(holderName).join(", ")}
      {spread ? <span class="sub">+ {spread}</span> : null}
    </>
  );
}

function More({ n, of }: { n: number; of: number }) {
  return n > of ? <p class="notice">… and {n - of} more, not listed here to keep the page quick.</p> : null;
}

function Summary({ r }: { r: PlacementReport }) {
  const t = r.totals;
  const share = t.max_peer_storage_bytes > 0 ? Math.min(100, (100 * t.held_for_others_bytes) / t.max_peer_storage_bytes) : 0;
  return (
    <section class="card" id="storage-summary">
      <dl class="facts">
        <dt>Replication factor</dt>
        <dd id="replication-factor">
          <strong>{r.factor}</strong> — each file should be on{" "}
          {r.factor === 1 ? "this cell only" : `${r.factor} cells (this one and ${r.factor - 1} peer${r.factor === 2 ? "" : "s"})`}
        </dd>
        <dt>Files</dt>
        <dd>
          {t.files} · {t.at_risk ? <span class="error">{t.at_risk} at risk</span> : "none at risk"}
        </dd>
        <dt>Kept for others</dt>
        <dd id="held-for-others">
          {t.max_peer_storage_bytes > 0 ? (
            <>
              {formatBytes(t.held_for_others_bytes)} of {formatBytes(t.max_peer_storage_bytes)} allowed (
              {share < 1 && t.held_for_others_bytes > 0 ? "<1" : Math.round(share)}%)
              <meter
                class="held"
                min={0}
                max={t.max_peer_storage_bytes}
                high={t.max_peer_storage_bytes * 0.9}
                value={t.held_for_others_bytes}
              ></meter>
            </>
          ) : (
            <>
              {formatBytes(t.held_for_others_bytes)} — this cell takes no data from peers (its storage allowance for them is 0: see{" "}
              <a href="/settings#set-storage">Settings › Room for other cells</a>)
            </>
          )}
        </dd>
      </dl>
    </section>
  );
}

export function SyncPanel({
  s,
  csrf,
  notice,
  names,
}: {
  s: SyncState;
  csrf?: string;
  notice?: string;
  names: ReadonlyMap<string, string>;
}) {
  const problems = s.last ? roundProblems(s.last.errors, names) : [];
  return (
    <section class="card" id="sync-panel">
      <h2>Sync</h2>
      {!s.available ? (
        <p class="notice">Sync is not running in this cell.</p>
      ) : (
        <>
          {s.last ? (
            <div id="last-round">
              <p>
                Last round: <When ms={s.last.started_at} />
                {problems.length ? (
                  <span class="error">
                    {" "}
                    · {problems.length} problem{problems.length === 1 ? "" : "s"}
                  </span>
                ) : null}
              </p>
              <RoundSummary r={s.last} />
              {problems.length ? (
                <ul class="sync-errors error">
                  {problems.slice(0, 20).map((e) => (
                    <li>{e}</li>
                  ))}
                  {problems.length > 20 ? <li>… and {problems.length - 20} more (the cell's log lists them all)</li> : null}
                </ul>
              ) : null}
            </div>
          ) : (
            <p class="notice" id="last-round">
              No sync round has finished since this cell started.
            </p>
          )}
          {s.lastError ? (
            <p class="error" id="sync-failed" role="alert">
              The most recent round failed. {humanProblem(s.lastError, "a peer")}
            </p>
          ) : null}
          {notice ? <p class="notice">{notice}</p> : null}
          <p class="notice">Rounds also run on their own every {duration(s.intervalS)}.</p>
        </>
      )}
      <form
        method="post"
        action="/storage/sync"
        class="sync-form"
        hx-post="/storage/sync"
        hx-target="#storage"
        hx-swap="outerHTML"
        hx-indicator="#sync-indicator"
        hx-disabled-elt="#sync-button"
      >
        {csrf ? <input type="hidden" name="_csrf" value={csrf} /> : null}
        <button type="submit" id="sync-button" disabled={!s.available || s.running}>
          {s.running ? "Syncing…" : "Sync now"}
        </button>
        <span
          id="sync-indicator"
          class={s.running ? "sync-indicator busy" : "sync-indicator htmx-indicator"}
          role="status"
          aria-live="polite"
        >
          <span class="spinner" aria-hidden="true"></span> Syncing:{" "}
          {s.running && s.progress ? describeProgress(s.progress) : "probing peers, comparing inventories, placing chunks…"}
          {s.running && s.progress && s.progress.total > 0 ? (
            <progress
              id="sync-progress"
              value={s.progress.bytes_total ? s.progress.bytes_done : s.progress.done}
              max={s.progress.bytes_total || s.progress.total}
            ></progress>
          ) : null}
        </span>
      </form>
      {s.running ? (
        // A round is under way: fetch the whole tab again in a moment (this element comes back
        // while it still runs, so polling stops by itself). Without JS: reload the page.
        <div hx-get="/storage/body" hx-trigger="load delay:2s" hx-target="#storage" hx-swap="outerHTML">
          <noscript>
            <p class="notice">A round is running: reload this page to see its result.</p>
          </noscript>
        </div>
      ) : null}
    </section>
  );
}

/**
 * Peers holding our copies that were not heard from lately: not in the last sync round (their
 * last_seen is older than its start), or not for over two sync intervals. Their copies still count
 * (until peer_lost_after_s), but the person should know they rest on a cell that is away.
 */
export function awayHolders(r: PlacementReport, intervalS: number, now = Date.now(), lastRoundAt: number | null = null): PeerPlacement[] {
  return r.peers.filter(
    (p) =>
      p.counted &&
      p.holds_for_us.chunks > 0 &&
      (p.last_seen === null || now - p.last_seen > 2 * intervalS * 1000 || (lastRoundAt !== null && p.last_seen < lastRoundAt)),
  );
}

/** The warning naming holders that are away, with when each was last seen and what to do. */
function AwayWarning({ away, factor, atRisk, lostAfterS }: { away: PeerPlacement[]; factor: number; atRisk: number; lostAfterS: number }) {
  const one = away.length === 1;
  return (
    <p class="warn" id="away-holders" role="status">
      {atRisk === 0 ? `Every file has its ${factor} cop${factor === 1 ? "y" : "ies"} on record, but some ` : "Some copies "}
      rest on {one ? "a cell" : "cells"} that did not answer lately:{" "}
      {away.map((p, i) => (
        <>
          {i ? ", " : ""}
          <strong class="away-name">{p.name}</strong> (last seen {p.last_seen === null ? "never" : <When ms={p.last_seen} />})
        </>
      ))}
      . Their copies count until {one ? "it has" : "they have"} been away for {duration(lostAfterS)}; then this cell places them elsewhere.
      Start {one ? "that cell" : "those cells"} again or check {one ? "its" : "their"} network if you can.
    </p>
  );
}

function AtRisk({ r, away, lostAfterS }: { r: PlacementReport; away: PeerPlacement[]; lostAfterS: number }) {
  return (
    <section class="card" id="at-risk">
      <h2>At risk</h2>
      {away.length ? <AwayWarning away={away} factor={r.factor} atRisk={r.at_risk.length} lostAfterS={lostAfterS} /> : null}
      {r.at_risk.length === 0 && away.length ? null : r.at_risk.length === 0 ? (
        <p class="ok-line">
          {r.files.length
            ? `Nothing at risk: every file has its ${r.factor} cop${r.factor === 1 ? "y" : "ies"}.`
            : "Nothing at risk (no files yet)."}
        </p>
      ) : (
        <>
          <p class="error">
            {r.at_risk.length} file{r.at_risk.length === 1 ? " has" : "s have"} fewer copies than the replication factor.{" "}
            {r.peers.some((p) => p.counted)
              ? "Sync now to place more copies."
              : r.peers.length
                ? "No peer counts right now: its copies return when it is seen again."
                : "Pair with another cell in the Peers tab to place copies."}
          </p>
          <div class="table-wrap">
            <table class="at-risk">
              <thead>
                <tr>
                  <th>Path</th>
                  <th class="num">Copies</th>
                  <th>Held by</th>
                </tr>
              </thead>
              <tbody>
                {r.at_risk.slice(0, MAX_ROWS).map((f) => (
                  <tr data-path={f.path}>
                    <td>
                      <a href={`/files/detail?path=${encodeURIComponent(f.path)}`}>{f.path}</a>
                    </td>
                    <td class="num">
                      <Copies f={f} />
                    </td>
                    <td>
                      <Holders f={f} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <More n={r.at_risk.length} of={MAX_ROWS} />
        </>
      )}
    </section>
  );
}

function FilesTable({ r }: { r: PlacementReport }) {
  return (
    <section class="card" id="placement-files">
      <h2>Files</h2>
      {r.files.length === 0 ? (
        <p class="empty">
          No files yet. Add some in the <a href="/files">Files</a> tab; their copies show here.
        </p>
      ) : (
        <>
          <div class="table-wrap">
            <table class="placement">
              <thead>
                <tr>
                  <th>Path</th>
                  <th class="num">Copies</th>
                  <th>Held by</th>
                  <th class="num">Size</th>
                </tr>
              </thead>
              <tbody>
                {r.files.slice(0, MAX_ROWS).map((f) => (
                  <tr data-path={f.path} class={f.copies < f.desired ? "under" : ""}>
                    <td>
                      <a href={`/files/detail?path=${encodeURIComponent(f.path)}`}>{f.path}</a>
                    </td>
                    <td class="num">
                      <Copies f={f} />
                    </td>
                    <td class="holders">
                      <Holders f={f} />
                    </td>
                    <td class="num">{formatBytes(f.size)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <More n={r.files.length} of={MAX_ROWS} />
        </>
      )}
    </section>
  );
}

function PeerStatus({ p, lostAfterS }: { p: PeerPlacement; lostAfterS: number }) {
  if (p.counted)
    return (
      <span class="counts" title={`last seen ${formatTime(p.last_seen)}`}>
        counts
      </span>
    );
  if (p.last_seen === null)
    return (
      <span class="lost" title="its copies count once it answers">
        not seen yet
      </span>
    );
  return (
    <span class="lost" title={`last seen ${formatTime(p.last_seen)}`}>
      lost (not seen for over {duration(lostAfterS)}): its copies do not count
    </span>
  );
}

function PeersTable({ r, lostAfterS }: { r: PlacementReport; lostAfterS: number }) {
  return (
    <section class="card" id="peer-storage">
      <h2>Peers</h2>
      {r.peers.length === 0 ? (
        <p class="empty">
          No peers yet: pair with another cell in the <a href="/peers">Peers</a> tab. Until then every file has only this cell's copy.
        </p>
      ) : (
        <>
          <div class="table-wrap">
            <table class="peer-storage">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Id</th>
                  <th>Status</th>
                  <th>Last seen</th>
                  <th class="num">Keeps for us</th>
                  <th class="num">We keep for it</th>
                </tr>
              </thead>
              <tbody>
                {r.peers.map((p) => (
                  <tr data-peer={p.id}>
                    <td>{p.name}</td>
                    <td>
                      <code title={p.id}>{p.id.slice(0, 12)}</code>
                    </td>
                    <td>
                      <PeerStatus p={p} lostAfterS={lostAfterS} />
                    </td>
                    <td class="last-seen">{p.last_seen === null ? "never" : <When ms={p.last_seen} />}</td>
                    <td class="num keeps-for-us">
                      {count(p.holds_for_us.chunks, "chunk")} · {formatBytes(p.holds_for_us.bytes)}
                    </td>
                    <td class="num we-keep">
                      {count(p.we_hold_for_it.chunks, "chunk")} · {formatBytes(p.we_hold_for_it.bytes)}
                      {p.we_hold_for_it.backups ? (
                        <span class="sub">
                          + {p.we_hold_for_it.backups} backup{p.we_hold_for_it.backups === 1 ? "" : "s"} ·{" "}
                          {formatBytes(p.we_hold_for_it.backup_bytes)}
                        </span>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p class="notice">
            A peer's copies count while it was seen within the last {duration(lostAfterS)} (set in{" "}
            <a href="/settings#set-peer-lost">Settings › A peer is lost after</a>).
          </p>
        </>
      )}
    </section>
  );
}

/** The two charts: what recent rounds moved, and what each peer holds. */
function Charts({ s, r }: { s: SyncState; r: PlacementReport }) {
  if (!s.available && !r.peers.length) return null;
  return (
    <section class="card" id="storage-charts">
      <h2>Activity</h2>
      {s.available ? <ThroughputChart rounds={s.history} /> : null}
      <HeldChart peers={r.peers} />
    </section>
  );
}

/** Peer names by the 8-character id a round's problem lines start with. */
function namesById(r: PlacementReport): Map<string, string> {
  return new Map(r.peers.map((p) => [shortId(p.id), p.name]));
}

/** Everything under the heading: swapped whole by "Sync now" and while a round runs. */
export function StorageBody(p: StorageState) {
  const away = awayHolders(p.report, p.sync.intervalS, Date.now(), p.sync.last?.started_at ?? null);
  return (
    <div id="storage">
      <Summary r={p.report} />
      <AtRisk r={p.report} away={away} lostAfterS={p.lostAfterS} />
      <SyncPanel s={p.sync} csrf={p.csrf} notice={p.notice} names={namesById(p.report)} />
      <Charts s={p.sync} r={p.report} />
      <FilesTable r={p.report} />
      <PeersTable r={p.report} lostAfterS={p.lostAfterS} />
    </div>
  );
}

export function StoragePage(p: StorageState) {
  return (
    <>
      <h1>Storage</h1>
      <StorageBody report={p.report} sync={p.sync} lostAfterS={p.lostAfterS} csrf={p.csrf} notice={p.notice} />
    </>
  );
}
