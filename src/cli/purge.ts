/** @module cli/purge — `grove purge PATH --version N | --all`: drop versions from a file's history for good (after the trash time). */
import { resolveLayout } from "../core/layout.ts";
import { shellQuote } from "../core/shell-quote.ts";
import { count, formatTime } from "../core/format.ts";
import { connect, filePath } from "./client.ts";
import { CliError, parse, type Command } from "./command.ts";
import type { PurgeResult } from "../trash/history.ts";

const usage = `Usage: grove purge PATH (--version N | --all) [--json]

Drop versions of PATH from its history. Only versions that are not current can be purged;
--all drops every version but the current one, or every version of a deleted file (the path is
then gone). Purged versions and the chunks only they used wait in the trash for
trash_retention_s (default 7 days): until then \`grove trash restore PATH\` brings them back.
Then the trash collection removes them here, and the peers keeping those chunks are asked to
delete them too (a signed DeleteRequest, sent at the next sync round): the purge is final.`;

export const purge: Command = {
  name: "purge",
  summary: "drop versions from a file's history for good (after the trash time)",
  usage,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { version: { type: "string" }, all: { type: "boolean" }, json: { type: "boolean" } },
      { min: 1, max: 1, usage },
    );
    if (Boolean(values.all) === (values.version !== undefined)) throw new CliError(`give either --version N or --all\n\n${usage}`, 2);
    if (values.version !== undefined && !/^\d{1,9}$/.test(values.version))
      throw new CliError(`--version takes a version number (see \`grove history ${shellQuote(positionals[0]!)}\`)`, 2);
    const which = values.all ? "all" : values.version!;
    const r = await connect(resolveLayout()).json<PurgeResult>(filePath(positionals[0]!, `?purge=${which}`), { method: "DELETE" });
    if (values.json) return (console.log(JSON.stringify(r, null, 2)), 0);
    if (!r.purged.length) {
      console.log(`${r.path}: nothing to purge (only the current version is left)`);
      return 0;
    }
    const s = r.purged.length === 1 ? "" : "s";
    console.log(`${r.path}: version${s} ${r.purged.join(", ")} purged; ${count(r.trashed_chunks, "chunk")} went to the trash.`);
    console.log(
      `Collected after ${formatTime(r.collect_after)}; until then \`grove trash restore ${shellQuote(r.path)}\` brings ${s ? "them" : "it"} back.`,
    );
    return 0;
  },
};
