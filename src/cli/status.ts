/** @module cli/status — `grove status`: the running cell's identity, build, storage and sync rounds. */
import { resolveLayout } from "../core/layout.ts";
import { displayName } from "../core/unsafe-text.ts";
import type { ListenInfo } from "../api/types.ts";
import type { CellStatus } from "../api/types.ts";
import { count, formatBytes } from "../core/format.ts";
import { describeProgress } from "../sync/summary.ts";
import { connect } from "./client.ts";
import { parse, type Command } from "./command.ts";

const usage = `Usage: grove status [--json]

Show the running cell: id, name, version and build, uptime, what it stores, its relays, and its
sync rounds (the one running and how far it is, or the last one in brief).`;

/** "5 s", "3 min", "2 h": how long ago, roughly. */
function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

/**
 * The sync line: the round running and how far it is, else the last one in brief, and the
 * interval. `storedChunks` (the cell's chunk count now) lets an empty cell say so instead of
 * claiming every chunk is at the replication factor.
 */
export function syncLine(sync: CellStatus["sync"], now = Date.now(), storedChunks: number | null = null): string {
  if (!sync) return "off (this cell runs no sync rounds)";
  const every = `every ${sync.interval_s} s${sync.after_change_s ? `, and ${sync.after_change_s} s after a file is stored` : ""}; \`grove sync\` runs one now`;
  if (sync.running) return `running: ${sync.progress ? describeProgress(sync.progress) : "starting…"}`;
  if (sync.last_error) return `the last round failed: ${sync.last_error}; ${every}`;
  const r = sync.last;
  if (!r) return `no round has finished since the cell started; ${every}`;
  // What the round left, as of its end (files stored since are not in it).
  const risk = r.missing ? `${r.missing} chunks with no copy known, ` : "";
  const under = r.under_replicated
    ? `${count(r.under_replicated, "chunk")} under the replication factor`
    : "every chunk at the replication factor";
  const errors = r.errors ? `${count(r.errors, "error")} (\`grove sync\` shows them)` : "";
  const left =
    storedChunks === 0 && !risk && !r.under_replicated
      ? `nothing stored yet${errors ? `; ${errors}` : ""}`
      : `it left ${risk}${under}${errors ? `, ${errors}` : ""}`;
  return `last round ${ago(now - r.started_at - r.duration_ms)} ago: ${r.reached} of ${r.peers} peers reached, ${r.chunks_pushed} pushed, ${r.chunks_pulled} pulled; ${left}; ${every}`;
}

/** The recovery round of a recovered cell (restored, refused), or null when there was none since it started. */
export function recoveryLine(sync: CellStatus["sync"], now = Date.now()): string | null {
  const r = sync?.recovery;
  if (!r) return null;
  const refused = r.refused ?? 0;
  return (
    `last recovery round ${ago(now - r.at)} ago: ${r.manifests} manifests, ${r.versions} versions, ${r.peers} peers restored from the fleet` +
    (refused
      ? `; ${refused} backup${refused === 1 ? "" : "s"} refused (failed the authenticity check: forged or damaged; \`grove sync\` names the peers)`
      : "") +
    (r.missing ? `; ${r.missing} manifest${r.missing === 1 ? "" : "s"} not back yet (still recovering)` : "")
  );
}

/** Where the cell listens, as bound. */
export function listeningLine(l: ListenInfo): string {
  const dash = `${l.dashboard.url} (${l.dashboard.public ? "reachable from other machines" : "this machine only"}${l.dashboard.tls ? ", TLS" : ""})`;
  const legacy = l.legacy
    ? `; port ${l.legacy.port} on ${l.legacy.host} still answers peers until ${l.legacy.waiting_for} more reach the peer port`
    : "";
  return `listening dashboard ${dash}, peers ${l.peer.host}:${l.peer.port}${legacy}`;
}

export const status: Command = {
  name: "status",
  summary: "show the running cell's state",
  usage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage });
    const client = connect(resolveLayout());
    const s = await client.json<CellStatus>("/api/status");
    if (values.json) return (console.log(JSON.stringify(s, null, 2)), 0);
    console.log(
      [
        `cell      ${s.name} (${s.id})`,
        `version   ${s.version}  build ${s.build.slice(0, 12)}  ${s.target}${s.build_time ? `  built ${s.build_time}` : ""}`,
        ...(s.update_available
          ? [
              `update    build ${s.update_available.build.slice(0, 12)} (built ${s.update_available.build_time}) offered by ${displayName(s.update_available.peer_name)}: run \`grove update\``,
            ]
          : []),
        `url       ${client.baseUrl}   up ${s.uptime_s}s`,
        ...(s.listening ? [listeningLine(s.listening)] : []),
        `crypto    ${s.crypto}`,
        `stored    ${s.files} files, ${s.chunks} chunks, ${formatBytes(s.stored_bytes)}  (replication factor ${s.replication_factor}; \`grove placement\`)`,
        `for peers ${formatBytes(s.kept_for_peers_bytes)} kept for other cells`,
        `files in  ${s.home}`,
        `state in  ${s.dir}`,
        `watching  ${s.watching ? `${s.watching.roots.join(", ")}  (${s.watching.stored} stored, ${s.watching.deleted} deletions${s.watching.last_error ? `; last problem: ${s.watching.last_error}` : ""})` : "off (config watch_home / watch_dirs)"}`,
        ...(s.relays.length
          ? s.relays.map((r) => `relay     ${r.url}  ${r.state}${r.error ? ` (${r.error})` : ""}`)
          : ['relay     none (config.json "relays": cells behind NAT reach this one through a relay)']),
        `sync      ${syncLine(s.sync, Date.now(), s.chunks)}`,
        ...(recoveryLine(s.sync) ? [`recovery  ${recoveryLine(s.sync)}`] : []),
      ].join("\n"),
    );
    return 0;
  },
};
