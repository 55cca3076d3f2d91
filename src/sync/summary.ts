/** @module sync/summary — a sync round's report as a few lines of text, and a running round's progress as one (`grove sync`, the Storage tab). */
import type { SyncProgress, SyncReport } from "./round.ts";
import { count, formatBytes } from "../core/format.ts";

/** What a recovery restored, and the backups it refused (each one is among the round's problems). */
export function restoredLine(r: NonNullable<SyncReport["restored"]>): string {
  const refused = r.refused ?? 0;
  return (
    `restored from the fleet: ${r.manifests} manifests, ${r.versions} versions, ${r.peers} peers` +
    (refused ? `; ${count(refused, "backup")} refused and ignored (failed the authenticity check: forged or damaged)` : "") +
    (r.missing ? `; ${count(r.missing, "manifest")} not back yet` : "")
  );
}

export function summarize(r: SyncReport): string {
  const lines = [
    `peers reached: ${r.reached} of ${r.peers} (${count(r.routes_probed, "route")} probed, ${r.benchmarks} benchmarked)${r.unreached?.length ? `; not reached: ${r.unreached.join(", ")}` : ""}`,
    `pushed: ${count(r.chunks_pushed, "chunk")}, ${formatBytes(r.bytes_pushed)}${r.healed ? ` (${r.healed} healed)` : ""}`,
    `pulled: ${count(r.chunks_pulled, "chunk")}, ${formatBytes(r.bytes_pulled)}`,
    `released: ${count(r.released, "surplus copy", "surplus copies")}`,
    `audited: ${count(r.audited, "chunk")}, ${r.audit_failed} failed`,
    `manifest backups pushed: ${r.backups_pushed}${r.backups_deferred ? ` (${r.backups_deferred} waiting: a peer had no room for them lately; asked again later)` : ""}`,
  ];
  if (r.recovering) {
    const why = r.restored?.missing
      ? `${count(r.restored.missing, "manifest")} of the backup index not restored intact yet`
      : "no reachable peer holds a backup index of this cell that opens yet";
    lines.push(
      `recovering: ${why} (asked again every round; manifests are not backed up until it is done; delete recovering.json in GROVE_DIR to give up)`,
    );
  }
  if (r.restored) lines.push(restoredLine(r.restored));
  lines.push(
    r.under_replicated || r.missing
      ? `at risk: ${count(r.under_replicated, "chunk")} under the replication factor, ${r.missing} with no copy known`
      : r.chunks === 0
        ? "nothing stored yet"
        : r.reached < r.peers
          ? `every chunk is at its replication factor, counting copies on ${count(r.peers - r.reached, "peer")} not reached in this round (they count until unseen for peer_lost_after_s)`
          : "every chunk is at its replication factor",
  );
  if (r.other_builds) lines.push(`${r.other_builds} peer(s) run another build`);
  if (r.refused_over_allowance)
    lines.push(
      `refused by peers (this cell is over its bounty allowance there): ${count(r.refused_over_allowance, "chunk")}, tried on the next peer`,
    );
  if (r.bounty_disagreements)
    lines.push(`bounty: ${r.bounty_disagreements} of ${r.bounty_statements} peers' statements disagree with ours (grove bounty shows why)`);
  lines.push(`took ${(r.duration_ms / 1000).toFixed(1)} s`);
  for (const e of r.errors) lines.push(`problem: ${e}`);
  return lines.join("\n");
}

const PHASES: Record<SyncProgress["phase"], string> = {
  peers: "probing peers",
  inventories: "comparing inventories",
  audits: "auditing peers",
  pulling: "pulling chunks",
  pushing: "pushing chunks",
  releasing: "releasing surplus copies",
  backups: "backing up manifests",
  bounty: "exchanging bounty statements",
};

/** A running round in one line: its phase, and for transfers the copies and bytes moved, share and rate. */
export function describeProgress(p: SyncProgress, bytesPerSec: number | null = null): string {
  let line = PHASES[p.phase];
  if (p.phase === "pulling" || p.phase === "pushing") {
    line += ` ${p.done}/${p.total}, ${formatBytes(p.bytes_done)}`;
    if (p.bytes_total) line += ` of ${formatBytes(p.bytes_total)} (${Math.floor((100 * p.bytes_done) / p.bytes_total)}%)`;
    if (bytesPerSec !== null && bytesPerSec > 0) line += `, ${formatBytes(bytesPerSec)}/s`;
  }
  return line + "…";
}
