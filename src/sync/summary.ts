/** @module sync/summary — a sync round's report as a few lines of text (`grove sync`, the Storage tab). */
import type { SyncReport } from "./round.ts";
import { formatBytes } from "../../views/format.ts";

export function summarize(r: SyncReport): string {
  const lines = [
    `peers reached: ${r.reached} of ${r.peers} (${r.routes_probed} routes probed, ${r.benchmarks} benchmarked)${r.unreached?.length ? `; not reached: ${r.unreached.join(", ")}` : ""}`,
    `pushed: ${r.chunks_pushed} chunks, ${formatBytes(r.bytes_pushed)}${r.healed ? ` (${r.healed} healed)` : ""}`,
    `pulled: ${r.chunks_pulled} chunks, ${formatBytes(r.bytes_pulled)}`,
    `released: ${r.released} surplus copies`,
    `audited: ${r.audited} chunks, ${r.audit_failed} failed`,
    `manifest backups pushed: ${r.backups_pushed}`,
  ];
  if (r.recovering) lines.push("recovering: no reachable peer holds this cell's backup index yet (manifests are not backed up until it is restored; delete recovering.json in GROVE_DIR to give up)");
  if (r.restored) lines.push(`restored from the fleet: ${r.restored.manifests} manifests, ${r.restored.versions} versions, ${r.restored.peers} peers`);
  lines.push(r.under_replicated || r.missing ? `at risk: ${r.under_replicated} chunks under the replication factor, ${r.missing} with no copy known` : "every chunk is at its replication factor");
  if (r.other_builds) lines.push(`${r.other_builds} peer(s) run another build`);
  lines.push(`took ${(r.duration_ms / 1000).toFixed(1)} s`);
  for (const e of r.errors) lines.push(`problem: ${e}`);
  return lines.join("\n");
}
