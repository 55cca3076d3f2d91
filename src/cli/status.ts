/** @module cli/status — `grove status`: the running cell's identity, build and storage. */
import { resolveLayout } from "../core/layout.ts";
import type { CellStatus } from "../web/api/status.ts";
import { formatBytes } from "../../views/format.ts";
import { connect } from "./client.ts";
import { parse, type Command } from "./command.ts";

const usage = `Usage: grove status [--json]

Show the running cell: id, name, version and build, uptime, what it stores.`;

export const status: Command = {
  name: "status",
  summary: "show the running cell's state",
  usage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage });
    if (values.help) return console.log(usage), 0;
    const client = connect(resolveLayout());
    const s = await client.json<CellStatus>("/api/status");
    if (values.json) return console.log(JSON.stringify(s, null, 2)), 0;
    console.log(
      [
        `cell      ${s.name} (${s.id})`,
        `version   ${s.version}  build ${s.build.slice(0, 12)}  ${s.target}${s.build_time ? `  built ${s.build_time}` : ""}`,
        ...(s.update_available ? [`update    build ${s.update_available.build.slice(0, 12)} (built ${s.update_available.build_time}) offered by ${s.update_available.peer_name}: run \`grove update\``] : []),
        `url       ${client.baseUrl}   up ${s.uptime_s}s`,
        `crypto    ${s.crypto}`,
        `stored    ${s.files} files, ${s.chunks} chunks, ${formatBytes(s.stored_bytes)}  (replication factor ${s.replication_factor}; \`grove placement\`)`,
        `for peers ${formatBytes(s.kept_for_peers_bytes)} kept for other cells`,
        `files in  ${s.home}`,
        `state in  ${s.dir}`,
        `watching  ${s.watching ? `${s.watching.roots.join(", ")}  (${s.watching.stored} stored, ${s.watching.deleted} deletions${s.watching.last_error ? `; last problem: ${s.watching.last_error}` : ""})` : "off (config watch_home / watch_dirs)"}`,
        ...(s.relays.length ? s.relays.map((r) => `relay     ${r.url}  ${r.state}${r.error ? ` (${r.error})` : ""}`) : ["relay     none (config.json \"relays\": cells behind NAT reach this one through a relay)"]),
      ].join("\n"),
    );
    return 0;
  },
};
