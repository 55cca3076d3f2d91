/** @module cli/nearby — `grove nearby`: cells seen on the local network (mDNS). */
import { resolveLayout, type Layout } from "../core/layout.ts";
import { loadConfig } from "../config/config.ts";
import { displayName } from "../core/unsafe-text.ts";
import type { NearbyCell } from "../net/mdns.ts";
import { connect } from "./client.ts";
import { parse, table, type Command } from "./command.ts";

const usage = `Usage: grove nearby [--json]

List Grove cells advertising on the local network (mDNS, _grove._tcp). Pairing still needs
an invite: \`grove invite\` on one, \`grove join TOKEN\` on the other.

mDNS is off when config.json has "mdns": false (setting it to true turns it on in the running
cell), or when the cell was started with GROVE_MDNS=0 in its environment (tests and containers do
this; the cell must then be restarted without it).`;

/** Why mDNS is off, when the cell says (GET /api/nearby `mdns_off`): its config, or GROVE_MDNS=0. */
export type MdnsOff = "config" | "environment";

/**
 * Why the running cell has mDNS off, as one line. The cell turns it off for one of two reasons
 * (cli/start): "mdns": false in config.json, or GROVE_MDNS=0 in its environment. The cell's
 * answer names it when it can (`told`); else the config file says which, unless it was changed
 * since the cell started.
 */
export function mdnsOffReason(layout: Layout, told: MdnsOff | null = null): string {
  let configured: boolean | null = told === "config" ? false : null;
  if (told === null) {
    try {
      configured = loadConfig(layout.config).config.mdns;
    } catch {
      // An unreadable config.json: the cell would not start with it now; say what is certain.
    }
  }
  if (configured === false)
    return `mDNS is off on this cell: "mdns" is false in ${layout.config} (set it to true: the running cell takes it)`;
  if (told === "environment")
    return "mDNS is off on this cell: it was started with GROVE_MDNS=0 in its environment: restart the cell without it";
  if (configured === true) {
    return `mDNS is off on this cell: it was started with GROVE_MDNS=0 in its environment (${layout.config} has "mdns": true, unless it was changed since): restart the cell without GROVE_MDNS=0`;
  }
  return `mDNS is off on this cell: "mdns" is false in ${layout.config}, or the cell was started with GROVE_MDNS=0 in its environment`;
}

export const nearby: Command = {
  name: "nearby",
  summary: "list cells on the local network",
  usage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage });
    const layout = resolveLayout();
    const r = await connect(layout).json<{ mdns: boolean; mdns_off?: MdnsOff | null; cells: (NearbyCell & { paired: boolean })[] }>(
      "/api/nearby",
    );
    if (!r.mdns) process.stderr.write(mdnsOffReason(layout, r.mdns_off ?? null) + "\n");
    if (values.json) return (console.log(JSON.stringify(r.cells, null, 2)), 0);
    if (!r.mdns) return 0;
    if (!r.cells.length) return (process.stderr.write("no other cells seen on the local network yet\n"), 0);
    console.log(
      table([
        ["ID", "NAME", "PAIRED", "ADDRESSES"],
        ...r.cells.map((n) => [
          displayName(n.id.slice(0, 12)),
          displayName(n.name),
          n.paired ? "yes" : "no",
          displayName(n.addresses.join(" ")),
        ]),
      ]),
    );
    return 0;
  },
};
