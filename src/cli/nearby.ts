/** @module cli/nearby — `grove nearby`: cells seen on the local network (mDNS). */
import { resolveLayout } from "../core/layout.ts";
import { displayName } from "../core/unsafe-text.ts";
import type { NearbyCell } from "../net/mdns.ts";
import { connect } from "./client.ts";
import { parse, table, type Command } from "./command.ts";

const usage = `Usage: grove nearby [--json]

List Grove cells advertising on the local network (mDNS, _grove._tcp). Pairing still needs
an invite: \`grove invite\` on one, \`grove join TOKEN\` on the other.`;

export const nearby: Command = {
  name: "nearby",
  summary: "list cells on the local network",
  usage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage });
    if (values.help) return console.log(usage), 0;
    const r = await connect(resolveLayout()).json<{ mdns: boolean; cells: (NearbyCell & { paired: boolean })[] }>("/api/nearby");
    if (values.json) return console.log(JSON.stringify(r.cells, null, 2)), 0;
    if (!r.mdns) return process.stderr.write('mDNS is off on this cell ("mdns": false in config.json)\n'), 0;
    if (!r.cells.length) return process.stderr.write("no other cells seen on the local network yet\n"), 0;
    console.log(table([["ID", "NAME", "PAIRED", "ADDRESSES"], ...r.cells.map((n) => [displayName(n.id.slice(0, 12)), displayName(n.name), n.paired ? "yes" : "no", displayName(n.addresses.join(" "))])]));
    return 0;
  },
};
