/** @module cli/ls — `grove ls [DIR]`: list the files the cell stores. */
import { resolveLayout } from "../core/layout.ts";
import type { ListedFile } from "../mine/tree-view.ts";
import type { PeerView } from "../api/types.ts";
import { displayName } from "../core/unsafe-text.ts";
import { formatBytes, formatTime } from "../core/format.ts";
import { connect } from "./client.ts";
import { parse, table, type Command } from "./command.ts";

const usage = `Usage: grove ls [DIR] [--json]

List the current files (all of them, or those under DIR), with size, version and time: the
files of all your cells (one tree). WHERE says "here" when the file's plaintext is on this cell,
else which of your cells holds it (it is fetched from there when opened). --json adds, per file,
\`local\` and \`cells\` (cell ids), and \`conflict_of\` for a conflict copy.`;

export const ls: Command = {
  name: "ls",
  summary: "list stored files",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 1, usage });
    const prefix = positionals[0] ? `?prefix=${encodeURIComponent(positionals[0])}` : "";
    const client = connect(resolveLayout());
    const { files } = await client.json<{ files: ListedFile[] }>(`/api/files${prefix}`);
    if (values.json) return (console.log(JSON.stringify(files, null, 2)), 0);
    if (!files.length)
      return (
        process.stderr.write(positionals[0] ? `no files under ${positionals[0]}\n` : "no files yet (add one with `grove put FILE`)\n"), 0
      );
    const names = new Map<string, string>();
    if (files.some((f) => !f.local)) for (const p of await client.json<PeerView[]>("/api/peers")) names.set(p.id, displayName(p.name));
    const where = (f: ListedFile) => (f.local ? "here" : f.cells.map((id) => names.get(id) ?? id.slice(0, 8)).join(",") || "-");
    console.log(
      table(
        [
          ["SIZE", "VER", "UPDATED", "WHERE", "PATH"],
          ...files.map((f) => [formatBytes(f.size), String(f.version), formatTime(f.updated_at), where(f), f.path]),
        ],
        [0, 1],
      ),
    );
    return 0;
  },
};
