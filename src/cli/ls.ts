/** @module cli/ls — `grove ls [DIR]`: list the files the cell stores. */
import { resolveLayout } from "../core/layout.ts";
import type { FileEntry } from "../store/placement-db.ts";
import { formatBytes, formatTime } from "../core/format.ts";
import { connect } from "./client.ts";
import { parse, table, type Command } from "./command.ts";

const usage = `Usage: grove ls [DIR] [--json]

List the current files (all of them, or those under DIR), with size, version and time.`;

export const ls: Command = {
  name: "ls",
  summary: "list stored files",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 1, usage });
    const prefix = positionals[0] ? `?prefix=${encodeURIComponent(positionals[0])}` : "";
    const { files } = await connect(resolveLayout()).json<{ files: FileEntry[] }>(`/api/files${prefix}`);
    if (values.json) return (console.log(JSON.stringify(files, null, 2)), 0);
    if (!files.length)
      return (
        process.stderr.write(positionals[0] ? `no files under ${positionals[0]}\n` : "no files yet (add one with `grove put FILE`)\n"), 0
      );
    console.log(
      table(
        [
          ["SIZE", "VER", "UPDATED", "PATH"],
          ...files.map((f) => [formatBytes(f.size), String(f.version), formatTime(f.updated_at), f.path]),
        ],
        [0, 1],
      ),
    );
    return 0;
  },
};
