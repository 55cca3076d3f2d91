/** @module cli/history — `grove history PATH` (a file's versions) and `grove restore PATH --version N` (make one current again). */
import { resolveLayout } from "../core/layout.ts";
import { shellQuote } from "../core/shell-quote.ts";
import type { VersionEntry } from "../store/placement-db.ts";
import { formatBytes, formatTime } from "../core/format.ts";
import { connect, filePath } from "./client.ts";
import { CliError, parse, table, type Command } from "./command.ts";

const historyUsage = `Usage: grove history PATH [--json]

List every version of PATH, newest first: its number, when, size, and deletions. Deleted files
keep their versions; \`grove get PATH --version N\` fetches one, \`grove restore\` brings it back.`;

const restoreUsage = `Usage: grove restore PATH --version N [--json]

Make version N of PATH current again: its content is written back to GROVE_HOME (every chunk
verified) and recorded as a new version, so nothing in the history is lost.`;

interface Meta {
  path: string;
  deleted: boolean;
  current: { version: number } | null;
  versions: VersionEntry[];
}

export const history: Command = {
  name: "history",
  summary: "list a file's versions (deleted files too)",
  usage: historyUsage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" } }, { min: 1, max: 1, usage: historyUsage });
    const m = await connect(resolveLayout()).json<Meta>(filePath(positionals[0]!, "?meta"));
    if (values.json) return (console.log(JSON.stringify(m, null, 2)), 0);
    const cur = m.current?.version;
    console.log(
      table(
        [
          ["VER", "WHEN", "SIZE", ""],
          ...m.versions.map((v) => [
            String(v.version),
            formatTime(v.at),
            v.deleted ? "-" : formatBytes(v.size),
            v.deleted ? "deleted" : v.version === cur ? "current" : "",
          ]),
        ],
        [0, 2],
      ),
    );
    if (m.deleted) console.log(`\n${m.path} is deleted; \`grove restore ${shellQuote(m.path)} --version N\` brings a version back.`);
    return 0;
  },
};

export const restore: Command = {
  name: "restore",
  summary: "make an older version of a file current again",
  usage: restoreUsage,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { version: { type: "string" }, json: { type: "boolean" } },
      { min: 1, max: 1, usage: restoreUsage },
    );
    if (!values.version || !/^\d{1,9}$/.test(values.version))
      throw new CliError(`--version N is required (see \`grove history ${shellQuote(positionals[0]!)}\`)`, 2);
    const r = await connect(resolveLayout()).json<{ path: string; version: number; restored_from: number; changed: boolean }>(
      filePath(positionals[0]!, `?restore=${values.version}`),
      { method: "POST" },
    );
    if (values.json) return (console.log(JSON.stringify(r, null, 2)), 0);
    console.log(
      r.changed
        ? `${r.path}: version ${r.restored_from} restored as version ${r.version}`
        : `${r.path}: version ${r.restored_from} is already the current content (version ${r.version})`,
    );
    return 0;
  },
};
