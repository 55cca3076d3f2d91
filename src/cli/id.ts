/** @module cli/id — `grove id`: print this cell's full id alone. */
import { existsSync, readFileSync } from "node:fs";
import { resolveLayout } from "../core/layout.ts";
import { CliError, parse, type Command } from "./command.ts";
import { shortId } from "../core/format.ts";

const usage = `Usage: grove id [--json]

Print this cell's id (hex of its Ed25519 public key) alone on a line.`;

export const id: Command = {
  name: "id",
  summary: "print this cell's id",
  usage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage });
    const layout = resolveLayout();
    if (!existsSync(layout.nodePub)) throw new CliError(`no cell in ${layout.dir} (run \`grove start\` once to create one)`);
    const cellId = readFileSync(layout.nodePub, "utf8").trim();
    console.log(values.json ? JSON.stringify({ id: cellId, short: shortId(cellId) }) : cellId);
    return 0;
  },
};
