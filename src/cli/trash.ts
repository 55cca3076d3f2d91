/**
 * @module cli/trash — `grove trash [--json]` (what waits for collection, and when),
 * `grove trash restore PATH` (purged versions back into the history while they wait) and
 * `grove trash collect` (a collection pass now).
 */
import { resolveLayout } from "../core/layout.ts";
import { shellQuote } from "../core/shell-quote.ts";
import { count, formatBytes, formatTime } from "../core/format.ts";
import type { TrashListing } from "../trash/listing.ts";
import type { TrashRestoreResult } from "../trash/history.ts";
import type { CollectReport } from "../trash/collector.ts";
import { connect } from "./client.ts";
import { CliError, parse, table, type Command } from "./command.ts";

const usage = `Usage: grove trash [--json]
       grove trash restore PATH [--json]
       grove trash collect [--json]

What waits in the trash, and when the trash collection removes it (config trash_retention_s,
default 7 days):
  - versions purged from a file's history (\`grove purge\`, or older than version_retention_s);
  - this cell's chunks that no version (nor an active share) needs any more; the peers keeping
    them are asked to delete them too (a signed DeleteRequest at each sync round until they
    acknowledge);
  - chunks this cell keeps for other cells whose owner asked to delete them.

restore PATH  put every purged version of PATH still in the trash back into its history (the
              current version does not change). Once collected, a purge is final.
collect       run the collection now (it also runs on its own, at least hourly).`;

function show(t: TrashListing): void {
  if (!t.versions.length && !t.chunks.length && !t.held.length) {
    console.log("The trash is empty.");
    return;
  }
  if (t.versions.length) {
    console.log(
      table([
        ["PATH", "VER", "SIZE", "PURGED", "COLLECTED AFTER"],
        ...t.versions.map((v) => [
          v.path,
          String(v.version),
          v.deleted ? "deleted" : formatBytes(v.size),
          formatTime(v.purged_at),
          formatTime(v.collect_after),
        ]),
      ]),
    );
    console.log("");
  }
  const first = (xs: { collect_after: number }[]) => formatTime(Math.min(...xs.map((x) => x.collect_after)));
  if (t.chunks.length) {
    const local = t.chunks.filter((c) => c.local).length;
    const onPeers = t.chunks.filter((c) => c.peers > 0).length;
    console.log(
      `Own chunks: ${count(t.chunks.length, "chunk")} (${formatBytes(t.totals.chunk_bytes)} here, ${local} with a local copy, ${onPeers} still on peers); first collected after ${first(t.chunks)}.`,
    );
  }
  if (t.held.length) {
    const owners = new Set(t.held.map((h) => h.owner)).size;
    console.log(
      `Kept for others: ${count(t.held.length, "chunk")} (${formatBytes(t.totals.held_bytes)}) of ${count(owners, "cell")} deleted by their owner; first collected after ${first(t.held)}.`,
    );
  }
  console.log(`\nTrash time: ${t.trash_retention_s} s.`);
}

export const trash: Command = {
  name: "trash",
  summary: "what waits in the trash (purged versions, deleted chunks); restore, collect",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 2, usage });
    const client = connect(resolveLayout());
    const [sub, arg] = positionals;
    if (sub === undefined) {
      const t = await client.json<TrashListing>("/api/trash");
      if (values.json) return (console.log(JSON.stringify(t, null, 2)), 0);
      show(t);
      return 0;
    }
    if (sub === "restore") {
      if (!arg) throw new CliError(`restore takes the file's PATH\n\n${usage}`, 2);
      const r = await client.json<TrashRestoreResult>("/api/trash/restore", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ path: arg }),
      });
      if (values.json) return (console.log(JSON.stringify(r, null, 2)), 0);
      console.log(
        `${r.path}: version${r.restored.length === 1 ? "" : "s"} ${r.restored.join(", ")} back in the history (\`grove history ${shellQuote(r.path)}\`)`,
      );
      return 0;
    }
    if (sub === "collect") {
      if (arg) throw new CliError(`collect takes no argument\n\n${usage}`, 2);
      const r = await client.json<CollectReport>("/api/trash/collect", { method: "POST" });
      if (values.json) return (console.log(JSON.stringify(r, null, 2)), 0);
      if (r.skipped)
        console.log(
          `Nothing collected: ${r.skipped === "busy" ? "an upload is running" : "this cell is recovering its manifests"}; try again shortly.`,
        );
      else
        console.log(
          `Collected: ${count(r.versions_collected, "purged version")}, ${count(r.chunks_collected, "own chunk")}, ${count(r.held_collected, "chunk")} kept for others, ${count(r.orphans_removed, "leftover file")}; ${formatBytes(r.bytes_freed)} freed.`,
        );
      return 0;
    }
    throw new CliError(`unknown trash command '${sub}'\n\n${usage}`, 2);
  },
};
