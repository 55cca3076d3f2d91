/** @module cli/feed — `grove feed [--json]`: files friends shared with you; `grove feed get ID [-o OUT]`: fetch one. */
import { resolveLayout } from "../core/layout.ts";
import type { FeedItem } from "../share/types.ts";
import { formatBytes, formatTime } from "../../views/format.ts";
import { connect, readJson } from "./client.ts";
import { CliError, parse, table, type Command } from "./command.ts";
import { outputPath } from "./get.ts";
import { saveResponse } from "./save-response.ts";

const usage = `Usage: grove feed [--json]
       grove feed get ID [-o OUT]

List the files friends shared with you (from whom, name, type, size, when, state), or fetch
one: its chunks come from the sharer or any cell holding them, every one verified and
decrypted. OUT defaults to the file's name in the current folder.`;

export const feed: Command = {
  name: "feed",
  summary: "files shared with you; feed get ID fetches one",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" }, output: { type: "string", short: "o" } }, { min: 0, max: 2, usage });
    if (values.help) return console.log(usage), 0;
    const client = connect(resolveLayout());
    if (positionals.length) {
      if (positionals[0] !== "get" || positionals.length !== 2) throw new CliError(`expected \`grove feed get ID\`\n\n${usage}`, 2);
      const id = encodeURIComponent(positionals[1]!);
      const item = await client.json<FeedItem>(`/api/feed/${id}`);
      const res = await client.request(`/api/feed/${id}/content`);
      if (!res.ok) await readJson(res);
      const out = outputPath(item.filename, values.output);
      const r = await saveResponse(res, out, `get ${item.filename}`, item.size);
      if ("failed" in r) throw new CliError(`${item.filename}: ${r.failed}; nothing was written to ${out}`);
      if (process.stderr.isTTY) process.stderr.write(`${out}: ${formatBytes(r.bytes)} from ${item.from_name}, every chunk verified\n`);
      return 0;
    }
    const list = await client.json<FeedItem[]>("/api/feed");
    if (values.json) return console.log(JSON.stringify(list, null, 2)), 0;
    if (!list.length) return process.stderr.write("nothing shared with you yet\n"), 0;
    console.log(table([["ID", "FROM", "NAME", "TYPE", "SIZE", "SHARED", "STATE"], ...list.map((f) => [f.id.slice(0, 12), f.from_name, f.filename, f.file_type.split(";")[0]!, formatBytes(f.size), formatTime(f.granted_at), f.state])], [4]));
    return 0;
  },
};
