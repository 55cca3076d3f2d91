/** @module cli/sync — `grove sync`: run a sync round now, wait for it, print what happened. */
import { resolveLayout } from "../core/layout.ts";
import type { SyncReport } from "../sync/round.ts";
import { summarize } from "../sync/summary.ts";
import { connect } from "./client.ts";
import { CliError, parse, type Command } from "./command.ts";

const usage = `Usage: grove sync [--json]

Run an opp sync round now and wait for it: probe peers, compare inventories, pull and push
chunks (replication factor, favorites first), audit peers, heal, back up manifests.
Prints what happened. Rounds also run on their own every sync_interval_s (default 300).`;

export const sync: Command = {
  name: "sync",
  summary: "run a sync round now and print what happened",
  usage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage });
    if (values.help) return console.log(usage), 0;
    if (!values.json && process.stderr.isTTY) process.stderr.write("syncing…\r");
    const r = await connect(resolveLayout()).json<SyncReport | { error: string }>("/api/sync", { method: "POST" });
    if ("error" in r) throw new CliError(r.error);
    console.log(values.json ? JSON.stringify(r, null, 2) : summarize(r));
    return r.errors.length && r.reached === 0 && r.peers > 0 ? 1 : 0;
  },
};
