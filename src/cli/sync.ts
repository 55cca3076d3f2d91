/** @module cli/sync — `grove sync`: run a sync round now, wait for it, print what happened. */
import { resolveLayout } from "../core/layout.ts";
import type { SyncReport } from "../sync/round.ts";
import { formatBytes } from "../../views/format.ts";
import { connect } from "./client.ts";
import { CliError, parse, type Command } from "./command.ts";

const usage = `Usage: grove sync [--json]

Run an opp sync round now and wait for it: probe peers, compare inventories, pull and push
chunks (replication factor, favorites first), audit peers, heal, back up manifests.
Prints what happened. Rounds also run on their own every sync_interval_s (default 300).`;

export function summarize(r: SyncReport): string {
  const lines = [
    `peers reached: ${r.reached} of ${r.peers} (${r.routes_probed} routes probed, ${r.benchmarks} benchmarked)`,
    `pushed: ${r.chunks_pushed} chunks, ${formatBytes(r.bytes_pushed)}${r.healed ? ` (${r.healed} healed)` : ""}`,
    `pulled: ${r.chunks_pulled} chunks, ${formatBytes(r.bytes_pulled)}`,
    `released: ${r.released} surplus copies`,
    `audited: ${r.audited} chunks, ${r.audit_failed} failed`,
    `manifest backups pushed: ${r.backups_pushed}`,
  ];
  if (r.restored) lines.push(`restored from the fleet: ${r.restored.manifests} manifests, ${r.restored.versions} versions, ${r.restored.peers} peers`);
  lines.push(r.under_replicated || r.missing ? `at risk: ${r.under_replicated} chunks under the replication factor, ${r.missing} with no copy known` : "every chunk is at its replication factor");
  if (r.other_builds) lines.push(`${r.other_builds} peer(s) run another build`);
  lines.push(`took ${(r.duration_ms / 1000).toFixed(1)} s`);
  for (const e of r.errors) lines.push(`problem: ${e}`);
  return lines.join("\n");
}

export const sync: Command = {
  name: "sync",
  summary: "run a sync round now and print what happened",
  usage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage });
    if (values.help) return console.log(usage), 0;
    if (!values.json && process.stderr.isTTY) process.stderr.write("syncing…\r");
    const r = await connect(resolveLayout()).json<SyncReport | { error: string }>("/api/sync", { method: "POST" });
    if ("error" in r) throw new CliError(r.error);
    console.log(values.json ? JSON.stringify(r, null, 2) : summarize(r));
    return r.errors.length && r.reached === 0 && r.peers > 0 ? 1 : 0;
  },
};
