/**
 * @module cli/update — `grove update [--check] [--json] [--no-wait]`: ask peers for a newer
 * build signed by a trusted release key and install it (through POST /api/update), then wait
 * for the cell to come back under the new build — or report that it was rolled back.
 */
import { resolveLayout } from "../core/layout.ts";
import { displayName } from "../core/unsafe-text.ts";
import type { UpdateCheck, UpdateStarted } from "../update/updater.ts";
import type { UpdateRecord } from "../update/update-state.ts";
import type { CellStatus } from "../api/types.ts";
import { connect, localTransfer } from "./client.ts";
import { CliError, parse, type Command } from "./command.ts";
import { progress, type Progress } from "./progress.ts";
import { shortId } from "../core/format.ts";

const usage = `Usage: grove update [--check] [--json] [--no-wait]

Update this cell to the newest build its peers offer for its platform. Only builds signed by a
key in config.json "trusted_release_keys" are accepted; the download is checked against its
signature (size, sha256), test-started, then swapped in atomically and the cell restarts. A
build that does not come up is rolled back. Only a compiled grove can update itself.

Options:
  --check     only ask the peers and say what is available (nothing is installed)
  --json      print JSON
  --no-wait   return once the new build is swapped in, without waiting for the restart`;

const WAIT_MS = 60_000;

export const update: Command = {
  name: "update",
  summary: "update this cell to a newer signed build from a peer",
  usage,
  async run(argv) {
    const { values } = parse(
      argv,
      { check: { type: "boolean" }, json: { type: "boolean" }, "no-wait": { type: "boolean" } },
      { min: 0, max: 0, usage },
    );
    const layout = resolveLayout();
    const client = connect(layout);
    if (values.check) {
      const c = await client.json<UpdateCheck>("/api/update", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ check: true }),
      });
      if (values.json) return (console.log(JSON.stringify(c, null, 2)), 0);
      console.log(describeCheck(c));
      return 0;
    }
    let bar: Progress | null = null;
    const started = await localTransfer<UpdateStarted>(client, "/api/update", {}, (p) => {
      if (p.phase !== "download") return;
      bar ??= progress("downloading", p.total);
      bar.set(p.done);
    });
    (bar as Progress | null)?.done();
    if (values["no-wait"]) {
      if (values.json) console.log(JSON.stringify(started, null, 2));
      else console.log(`build ${started.to.slice(0, 12)} (built ${started.build_time}) swapped in; the cell is restarting`);
      return 0;
    }
    if (!values.json) process.stderr.write(`build ${started.to.slice(0, 12)} swapped in; waiting for the cell to restart…\n`);
    const outcome = await waitForRestart(started);
    if (outcome.state === "rolled-back")
      throw new CliError(
        `build ${started.to.slice(0, 12)} did not come up and was rolled back: ${outcome.reason}; build ${started.from.slice(0, 12)} runs again`,
      );
    if (values.json)
      console.log(JSON.stringify({ state: "updated", from: started.from, to: started.to, build_time: started.build_time }, null, 2));
    else console.log(`updated: build ${started.from.slice(0, 12)} → ${started.to.slice(0, 12)} (built ${started.build_time})`);
    return 0;
  },
};

/** Poll the cell until it runs `to`, or its update.json says the swap was rolled back. */
async function waitForRestart(s: UpdateStarted): Promise<{ state: "updated" } | { state: "rolled-back"; reason: string }> {
  const deadline = Date.now() + WAIT_MS;
  await Bun.sleep(500); // the cell stops a moment after answering
  while (Date.now() < deadline) {
    try {
      const client = connect(resolveLayout()); // the port may change with a restart
      const u = await client.json<{ last: UpdateRecord | null }>("/api/update");
      if (u.last?.to === s.to && u.last.state === "rolled-back") return { state: "rolled-back", reason: u.last.reason ?? "unknown" };
      const st = await client.json<CellStatus>("/api/status");
      if (st.build === s.to) return { state: "updated" };
    } catch {
      // restarting: not answering for a moment
    }
    await Bun.sleep(250);
  }
  throw new CliError(
    `the cell has not come back as build ${s.to.slice(0, 12)} within ${WAIT_MS / 1000} s; see \`grove status\` and the cell's log`,
  );
}

function describeCheck(c: UpdateCheck): string {
  const lines: string[] = [];
  const cur = `build ${c.current.build.slice(0, 12)}${c.current.build_time ? ` (built ${c.current.build_time})` : ""} for ${c.current.target}`;
  if (c.note) lines.push(`${c.note}; this cell runs ${cur}`);
  else if (c.available)
    lines.push(
      `update available: build ${c.available.build.slice(0, 12)} (built ${c.available.build_time}) from ${displayName(c.available.peer_name)} (${shortId(c.available.peer)}); this cell runs ${cur}. Run \`grove update\` to install it.`,
    );
  else lines.push(`up to date: ${cur} (${c.asked} peer${c.asked === 1 ? "" : "s"} asked)`);
  for (const r of c.refused) lines.push(`refused: ${displayName(r.peer_name)} (${shortId(r.peer)}) offers ${displayName(r.reason)}`);
  return lines.join("\n");
}
