/** @module cli/rm — `grove rm PATH`: delete a file to history, on this cell and on all my cells. */
import { resolveLayout } from "../core/layout.ts";
import { shellQuote } from "../core/shell-quote.ts";
import { connect, filePath } from "./client.ts";
import { parse, type Command } from "./command.ts";

const usage = `Usage: grove rm PATH [--json]

Delete PATH. Its versions stay in history (\`grove history PATH\`; \`grove restore PATH --version N\`
brings one back), and its content stays until those versions are purged (\`grove purge\`).
Your other cells delete it too (one tree across your cells), each keeping its history.`;

export const rm: Command = {
  name: "rm",
  summary: "delete a file (its versions stay in history)",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" } }, { min: 1, max: 1, usage });
    const path = positionals[0]!;
    const r = await connect(resolveLayout()).json<{ path: string; version: number | null }>(filePath(path), { method: "DELETE" });
    if (values.json) return (console.log(JSON.stringify(r, null, 2)), 0);
    console.log(
      r.version === null
        ? `${r.path}: deleted from your cells (it was not kept here; its history stays on the cell that stored it)`
        : `${r.path}: deleted (version ${r.version} records it; \`grove history ${shellQuote(r.path)}\` shows the ones before)`,
    );
    return 0;
  },
};
