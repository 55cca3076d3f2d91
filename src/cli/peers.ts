/** @module cli/peers — `grove peers`: list paired cells; friend (request or accept)/accept/unfriend/favorite/unfavorite/remove one. */
import { resolveLayout } from "../core/layout.ts";
import { displayName } from "../core/unsafe-text.ts";
import type { PeerActionResult, PeerAfterAction, PeerView } from "../api/types.ts";
import { formatTime, shortId } from "../core/format.ts";
import { connect } from "./client.ts";
import { CliError, parse, table, type Command } from "./command.ts";

const usage = `Usage: grove peers [--probe] [--json]
       grove peers friend|accept|unfriend|favorite|unfavorite|remove ID
       grove peers remove --mine ID

List the cells this cell is paired with, or change one (a unique id prefix is enough).
--probe measures every route now (latency; throughput when a benchmark is due) before listing.

Friendship is a request the other cell accepts. \`friend ID\` asks cell ID to be friends (it
sees "asks to be friends" in its \`grove peers\`); there, \`accept\` (or \`friend\`) with this
cell's id accepts, and both are friends. \`unfriend ID\` ends it, withdraws a request or declines
one, on both sides.
A cell that cannot be reached now is told after each sync round that reaches it. Friends share
files with each other and may ask each other's models; favorites get your chunks first.

\`remove --mine ID\` removes one of your own cells (lost, stolen, retired): your other cells stop
syncing with it and refuse it, and files stored from then on are sealed under a new key it never
had. It can still read what it held before (docs/threat-model.md, "A cell of mine, stolen").`;

const ACTIONS = ["friend", "accept", "unfriend", "favorite", "unfavorite", "remove"];

/** The FLAGS column: where the friendship stands, "(unsent)" while the other cell has not heard of a change. */
export function peerFlags(p: Pick<PeerView, "friendship" | "friendship_notice" | "favorite"> & { mine?: boolean }): string {
  const friendship = { none: "", requested: "requested", asked: "asks to be friends", friends: "friend" }[p.friendship];
  const unsent = p.friendship_notice ? (friendship ? " (unsent)" : "unfriended (unsent)") : "";
  return [p.mine ? "mine" : "", friendship + unsent, p.favorite ? "favorite" : ""].filter(Boolean).join(", ") || "-";
}

/** What a friendship action did, in a line or two. */
function friendshipText(action: string, r: PeerAfterAction): string {
  const who = `${displayName(r.name)} (${shortId(r.id)})`;
  const told = r.told;
  if (told?.old_build) return displayName(told.error ?? `${r.name}'s build predates friend requests`);
  const later =
    told && !told.delivered
      ? `\n${who} has not heard of it yet (${displayName(told.error ?? "unreachable")}); it is told after each sync round that reaches it.`
      : "";
  if (action === "unfriend") return `not friends with ${who}${r.friendship === "none" ? "" : ` (now: ${r.friendship})`}.${later}`;
  if (r.friendship === "friends") return `friends with ${who}: you can share files with each other.${later}`;
  if (r.friendship === "requested")
    return `asked ${who} to be friends: it sees the request in \`grove peers\` and accepts it there; files can be shared once it has.${later}`;
  return `${action}: ${who}: ${r.friendship}${later}`;
}

export const peers: Command = {
  name: "peers",
  summary: "list peers, or friend/accept/unfriend/favorite/remove one",
  usage,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { json: { type: "boolean" }, probe: { type: "boolean" }, mine: { type: "boolean" } },
      { min: 0, max: 2, usage },
    );
    const client = connect(resolveLayout());
    if (positionals.length) {
      const [action, id] = positionals;
      if (!ACTIONS.includes(action!) || !id) throw new CliError(`expected one of ${ACTIONS.join("|")} and a peer id\n\n${usage}`, 2);
      if (values.mine) {
        if (action !== "remove") throw new CliError(`--mine goes with remove only\n\n${usage}`, 2);
        const all = await client.json<PeerView[]>("/api/peers");
        const hit = all.filter((p) => p.id.startsWith(id.toLowerCase()));
        if (hit.length === 1 && !hit[0]!.mine)
          throw new CliError(`${displayName(hit[0]!.name)} (${shortId(hit[0]!.id)}) is not one of your cells: remove it without --mine`);
      }
      const r = await client.json<PeerActionResult>(`/api/peers/${encodeURIComponent(id)}/${action}`, { method: "POST" });
      if (values.json) return (console.log(JSON.stringify(r, null, 2)), 0);
      if ("removed" in r)
        console.log(
          values.mine
            ? `removed ${shortId(r.id)} from your cells: your other cells refuse it, and files stored from now on use a key it never had`
            : `remove: ${shortId(r.id)}`,
        );
      else if (r.told) console.log(friendshipText(action!, r));
      else console.log(`${action}: ${displayName(r.name)} (${shortId(r.id)})`);
      return 0;
    }
    const list = values.probe
      ? (await client.json<{ peers: PeerView[] }>("/api/peers/probe", { method: "POST" })).peers
      : await client.json<PeerView[]>("/api/peers");
    if (values.json) return (console.log(JSON.stringify(list, null, 2)), 0);
    if (!list.length) return (process.stderr.write("no peers yet (pair with `grove invite` here and `grove join TOKEN` there)\n"), 0);
    const num = (x: number | null, unit: string) => (x === null ? "-" : `${x}${unit}`);
    console.log(
      table(
        [
          ["ID", "NAME", "FLAGS", "BEST ROUTE", "LATENCY", "MB/S", "UPTIME", "LAST SEEN"],
          ...list.map((p) => [
            p.id.slice(0, 12),
            displayName(p.name),
            peerFlags(p),
            p.best_route ?? "-",
            num(p.latency_ms, " ms"),
            num(p.mb_s, ""),
            num(p.uptime_pct, "%"),
            formatTime(p.last_seen),
          ]),
        ],
        [4, 5, 6],
      ),
    );
    for (const p of list.filter((x) => x.friendship === "asked")) {
      process.stderr.write(
        `${displayName(p.name)} (${shortId(p.id)}) asks to be friends: \`grove peers accept ${shortId(p.id)}\` accepts, \`grove peers unfriend ${shortId(p.id)}\` declines\n`,
      );
    }
    return 0;
  },
};
