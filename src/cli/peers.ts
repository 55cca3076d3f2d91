/** @module cli/peers — `grove peers`: list paired cells; friend/unfriend/favorite/unfavorite/remove one. */
import { resolveLayout } from "../core/layout.ts";
import type { PeerView } from "../web/api/fleet.ts";
import { formatTime } from "../../views/format.ts";
import { connect } from "./client.ts";
import { CliError, parse, table, type Command } from "./command.ts";

const usage = `Usage: grove peers [--json]
       grove peers friend|unfriend|favorite|unfavorite|remove ID

List the cells this cell is paired with, or change one (a unique id prefix is enough).
Friends may share files with you; favorites get your chunks first.`;

const ACTIONS = ["friend", "unfriend", "favorite", "unfavorite", "remove"];

export const peers: Command = {
  name: "peers",
  summary: "list peers, or friend/favorite/remove one",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 2, usage });
    if (values.help) return console.log(usage), 0;
    const client = connect(resolveLayout());
    if (positionals.length) {
      const [action, id] = positionals;
      if (!ACTIONS.includes(action!) || !id) throw new CliError(`expected one of ${ACTIONS.join("|")} and a peer id\n\n${usage}`, 2);
      const r = await client.json<PeerView & { removed?: boolean }>(`/api/peers/${encodeURIComponent(id)}/${action}`, { method: "POST" });
      console.log(values.json ? JSON.stringify(r, null, 2) : `${action}: ${r.name ?? r.id.slice(0, 8)} (${r.id.slice(0, 8)})`);
      return 0;
    }
    const list = await client.json<PeerView[]>("/api/peers");
    if (values.json) return console.log(JSON.stringify(list, null, 2)), 0;
    if (!list.length) return process.stderr.write("no peers yet (pair with `grove invite` here and `grove join TOKEN` there)\n"), 0;
    const flags = (p: PeerView) => [p.friend ? "friend" : "", p.favorite ? "favorite" : ""].filter(Boolean).join(",") || "-";
    console.log(table([["ID", "NAME", "FLAGS", "BEST ROUTE", "LAST SEEN"], ...list.map((p) => [p.id.slice(0, 12), p.name, flags(p), p.best_route ?? "-", formatTime(p.last_seen)])]));
    return 0;
  },
};
