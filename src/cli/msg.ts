/** @module cli/msg — `grove msg ID TEXT` (send a message to a peer), `grove msgs [ID] [--json]` (conversations, or one). */
import { resolveLayout } from "../core/layout.ts";
import { displayName } from "../core/unsafe-text.ts";
import type { Conversation, MessageView } from "../message/types.ts";
import { formatTime, shortId } from "../core/format.ts";
import { connect } from "./client.ts";
import { CliError, parse, table, type Command } from "./command.ts";

const usage = `Usage: grove msg ID TEXT… [--json]
       grove msg ID - [--json]          (the text from standard input)

Send a message to a paired cell (ID: its id or a unique prefix). It is sealed end to end to
that cell's key. When the cell cannot be reached now the message is kept (queued) and
delivered after a sync round finds the cell reachable, or as soon as it sends us a message.`;

const listUsage = `Usage: grove msgs [ID] [--limit N] [--json]

Without ID: one line per peer with the last message, unread and queued counts.
With ID: the conversation with that peer (oldest first; the newest N, default 200), each
message with its time, direction (→ sent, ← received) and state (queued, delivered, failed).
Listing a conversation marks what the peer sent as read.`;

const arrow = (m: MessageView) => (m.direction === "out" ? "→" : "←");
const stateText = (m: MessageView) =>
  m.direction === "in" ? (m.read_at === null ? "new" : "") : m.state === "failed" ? `failed: ${displayName(m.error ?? "?")}` : m.state;
/**
 * A message text on one line, safe for the terminal. A text may hold what the protocol lets
 * through (tab, newline, C1 controls, bidi marks and isolates: right-to-left text needs some):
 * newlines are shown as ⏎ and every other control, bidi or invisible character as an escape.
 */
const oneLine = (s: string, max = Infinity) => {
  const flat = displayName(s.replace(/\n/g, " ⏎ "));
  return flat.length > max ? flat.slice(0, max - 1) + "…" : flat;
};

export const msg: Command = {
  name: "msg",
  summary: "send a message to a peer (ID TEXT)",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" } }, { min: 2, max: Infinity, usage });
    const [peer, ...words] = positionals;
    const text = words.length === 1 && words[0] === "-" ? await Bun.stdin.text() : words.join(" ");
    if (!text.trim()) throw new CliError("the message is empty", 2);
    const m = await connect(resolveLayout()).json<MessageView>(`/api/messages/${encodeURIComponent(peer!)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text }),
    });
    if (values.json) return (console.log(JSON.stringify(m, null, 2)), 0);
    const to = `${displayName(m.peer_name)} (${shortId(m.peer)})`;
    if (m.state === "delivered") console.log(`delivered to ${to}`);
    else if (m.state === "queued")
      console.log(
        `queued for ${to}: not delivered yet (${displayName(m.error ?? "unreachable")}); it goes out when ${displayName(m.peer_name)} is reachable`,
      );
    else throw new CliError(`not delivered to ${to}: ${displayName(m.error ?? "failed")}`);
    return 0;
  },
};

export const msgs: Command = {
  name: "msgs",
  summary: "list conversations, or the messages with one peer",
  usage: listUsage,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { json: { type: "boolean" }, limit: { type: "string" } },
      { min: 0, max: 1, usage: listUsage },
    );
    const client = connect(resolveLayout());
    if (positionals.length) {
      if (values.limit !== undefined && !/^\d+$/.test(values.limit)) throw new CliError(`--limit: not a number: ${values.limit}`, 2);
      const q = values.limit ? `?limit=${values.limit}` : "";
      const list = await client.json<MessageView[]>(`/api/messages/${encodeURIComponent(positionals[0]!)}${q}`);
      if (values.json) return (console.log(JSON.stringify(list, null, 2)), 0);
      if (!list.length) return (process.stderr.write("no messages with this peer yet (grove msg ID TEXT)\n"), 0);
      console.log(
        table([
          ["TIME", "", "STATE", "TEXT"],
          ...list.map((m) => [
            formatTime(m.direction === "out" ? m.sent_at : (m.received_at ?? m.sent_at)),
            arrow(m),
            stateText(m),
            oneLine(m.text),
          ]),
        ]),
      );
      return 0;
    }
    if (values.limit !== undefined) throw new CliError("--limit goes with an ID", 2);
    const list = await client.json<Conversation[]>("/api/messages");
    if (values.json) return (console.log(JSON.stringify(list, null, 2)), 0);
    if (!list.length) return (process.stderr.write("no peers and no messages yet (pair with `grove invite` / `grove join`)\n"), 0);
    console.log(
      table(
        [
          ["ID", "NAME", "UNREAD", "QUEUED", "LAST"],
          ...list.map((c) => [
            c.peer.slice(0, 12),
            displayName(c.name) + (c.paired ? "" : " (removed)"),
            String(c.unread),
            String(c.queued),
            c.last ? `${formatTime(c.last.sent_at)} ${arrow(c.last)} ${oneLine(c.last.text, 60)}` : "-",
          ]),
        ],
        [2, 3],
      ),
    );
    return 0;
  },
};
