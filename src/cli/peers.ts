/** @module cli/peers — `grove peers`: list paired cells; friend/unfriend/favorite/unfavorite/remove one. */
import { resolveLayout } from "../core/layout.ts";
import { displayName } from "../core/unsafe-text.ts";
import type { PeerView } from "../api/types.ts";
import { formatTime } from "../core/format.ts";
import { connect } from "./client.ts";
import { CliError, parse, table, type Command } from "./command.ts";

const usage = `Usage: grove peers [--probe] [--json]
       grove peers friend|unfriend|favorite|unfavorite|remove ID

List the cells this cell is paired with, or change one (a unique id prefix is enough).
--probe measures every route now (latency; throughput when a benchmark is due) before listing.
Friends may share files with you; favorites get your chunks first.`;

const ACTIONS = ["friend", "unfriend", "favorite", "unfavorite", "remove"];

export const peers: Command = {
  name: "peers",
  summary: "list peers, or friend/favorite/remove one",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" }, probe: { type: "boolean" } }, { min: 0, max: 2, usage });
    const client = connect(resolveLayout());
    if (positionals.length) {
      const [action, id] = positionals;
      if (!ACTIONS.includes(action!) || !id) throw new CliError(`expected one of ${ACTIONS.join("|")} and a peer id\n\n${usage}`, 2);
      const r = await client.json<PeerView & { removed?: boolean }>(`/api/peers/${encodeURIComponent(id)}/${action}`, { method: "POST" });
      console.log(values.json ? JSON.stringify(r, null, 2) : `${action}: ${displayName(r.name ?? r.id.slice(0, 8))} (${r.id.slice(0, 8)})`);
      return 0;
    }
    const list = values.probe ? (await client.json<{ peers: PeerView[] }>("/api/peers/probe", { method: "POST" })).peers : await client.json<PeerView[]>("/api/peers");
    if (values.json) return console.log(JSON.stringify(list, null, 2)), 0;
    if (!list.length) return process.stderr.write("no peers yet (pair with `grove invite` here and `grove join TOKEN` there)\n"), 0;
    const flags = (p: PeerView) => [p.friend ? "friend" : "", p.favorite ? "favorite" : ""].filter(Boolean).join(",") || "-";
    const num = (x: number | null, unit: string) => (x === null ? "-" : `${x}${unit}`);
    console.log(
      table(
        [
          ["ID", "NAME", "FLAGS", "BEST ROUTE", "LATENCY", "MB/S", "UPTIME", "LAST SEEN"],
          ...list.map((p) => [p.id.slice(0, 12), displayName(p.name), flags(p), p.best_route ?? "-", num(p.latency_ms, " ms"), num(p.mb_s, ""), num(p.uptime_pct, "%"), formatTime(p.last_seen)]),
        ],
        [4, 5, 6],
      ),
    );
    return 0;
  },
};
