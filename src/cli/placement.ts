/** @module cli/placement — `grove placement`: copies per file against the replication factor, files at risk, what peers keep. */
import { resolveLayout } from "../core/layout.ts";
import type { PlacementReport } from "../sync/placement-report.ts";
import { count, formatBytes } from "../core/format.ts";
import { connect } from "./client.ts";
import { parse, table, type Command } from "./command.ts";

const usage = `Usage: grove placement [--json]

Where your files are: copies of each file (this cell counts) against the replication factor,
the files at risk (fewer copies than wanted), and per peer what it keeps for you and you for it.`;

export const placement: Command = {
  name: "placement",
  summary: "copies per file, files at risk, what each peer keeps",
  usage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage });
    const r = await connect(resolveLayout()).json<PlacementReport>("/api/placement");
    if (values.json) return (console.log(JSON.stringify(r, null, 2)), 0);
    console.log(`replication factor ${r.factor}: ${count(r.totals.files, "file")}, ${r.totals.at_risk} at risk`);
    if (r.files.length) {
      console.log(
        "\n" +
          table(
            [
              ["PATH", "COPIES", "SIZE", "HOLDERS"],
              ...r.files.map((f) => [
                f.path,
                `${f.copies}/${f.desired}${f.copies < f.desired ? " !" : ""}`,
                formatBytes(f.size),
                f.holders.join(", ") || "-",
              ]),
            ],
            [1, 2],
          ),
      );
    }
    if (r.peers.length) {
      console.log(
        "\n" +
          table([
            ["PEER", "NAME", "COUNTS", "KEEPS FOR US", "WE KEEP FOR IT"],
            ...r.peers.map((p) => [
              p.id.slice(0, 12),
              p.name,
              p.counted ? "yes" : "lost",
              `${count(p.holds_for_us.chunks, "chunk")}, ${formatBytes(p.holds_for_us.bytes)}`,
              `${count(p.we_hold_for_it.chunks, "chunk")}, ${formatBytes(p.we_hold_for_it.bytes)} + ${count(p.we_hold_for_it.backups, "backup")}`,
            ]),
          ]),
      );
    }
    return 0;
  },
};
