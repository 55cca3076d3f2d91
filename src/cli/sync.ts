/** @module cli/sync — `grove sync`: run a sync round now, wait for it, print what happened. */
import { resolveLayout } from "../core/layout.ts";
import { displayText } from "../core/unsafe-text.ts";
import type { RecoveryRecord, SyncProgress, SyncReport } from "../sync/round.ts";
import { describeProgress, restoredLine, summarize } from "../sync/summary.ts";
import { connect, type CellClient } from "./client.ts";
import { CliError, parse, type Command } from "./command.ts";

const usage = `Usage: grove sync [--json]

Run an opp sync round now and wait for it: probe peers, compare inventories, pull and push
chunks (replication factor, favorites first), audit peers, heal, back up manifests.
Prints what happened; on a terminal, a line shows the round's phase and the chunks it moves.
Rounds also run on their own every sync_interval_s (default 300).`;

/** While `round` runs, ask the cell how far it is and redraw one line on stderr. */
async function showProgress(client: CellClient, round: Promise<unknown>): Promise<void> {
  let settled = false;
  void round.finally(() => (settled = true)).catch(() => {});
  // The rate is over the whole phase so far (samples may repeat: the Worker reports every 250 ms).
  let phaseStart = null as { at: number; bytes: number; phase: string } | null;
  process.stderr.write("syncing…\x1b[K\r");
  while (!settled) {
    await Promise.race([round.catch(() => {}), Bun.sleep(250)]);
    if (settled) break;
    const st = await client.json<{ progress: SyncProgress | null }>("/api/sync").catch(() => null);
    const p = st?.progress;
    if (!p || settled) continue;
    const now = performance.now();
    if (phaseStart?.phase !== p.phase) phaseStart = { at: now, bytes: p.bytes_done, phase: p.phase };
    const rate = now - phaseStart.at > 500 ? ((p.bytes_done - phaseStart.bytes) / (now - phaseStart.at)) * 1000 : null;
    process.stderr.write(`\rsync: ${describeProgress(p, rate)}\x1b[K`);
  }
  process.stderr.write("\r\x1b[K");
}

export const sync: Command = {
  name: "sync",
  summary: "run a sync round now and print what happened",
  usage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage });
    const client = connect(resolveLayout());
    const round = client.json<SyncReport | { error: string }>("/api/sync", { method: "POST" });
    if (!values.json && process.stderr.isTTY && !process.env.GROVE_NO_PROGRESS) await showProgress(client, round);
    const r = await round;
    if ("error" in r) throw new CliError(r.error);
    // The summary quotes peers' refusals: no control characters from them reach the terminal.
    console.log(values.json ? JSON.stringify(r, null, 2) : displayText(summarize(r)));
    // A recovered cell's restore ran in an earlier round (the first after `grove start`): its
    // outcome, refusals included, is shown until the cell stops.
    if (!values.json && !r.restored) {
      const st = await client.json<{ recovery?: RecoveryRecord | null }>("/api/sync").catch(() => null);
      const rec = st?.recovery;
      if (rec) {
        console.log(displayText(`earlier, at ${new Date(rec.at).toISOString()}: ${restoredLine(rec.restored)}`));
        for (const e of rec.errors) console.log(displayText(`problem then: ${e}`));
      }
    }
    return r.errors.length && r.reached === 0 && r.peers > 0 ? 1 : 0;
  },
};
