/**
 * @module cli/fsck — `grove fsck [--repair] [--json]`: check every manifest, chunk and placement
 * record (sync/fsck). With a running cell the check runs there and can ask peers and repair from
 * them; with none, it runs here on the cell's folder, local checks only.
 */
import { resolveLayout } from "../core/layout.ts";
import type { FsckReport } from "../sync/fsck.ts";
import { formatBytes } from "../core/format.ts";
import { connect } from "./client.ts";
import { CliError, parse, type Command } from "./command.ts";

const usage = `Usage: grove fsck [--repair] [--json]

Check this cell's data: every manifest (present, hashing to its name), every chunk of every
version (present, named by its SHA-256, its Poly1305 tag verifying), the chunks kept for other
cells, and (with a running cell) the placement records against what each reachable peer holds.

  --repair   fix what can be fixed: damaged or missing chunks and manifests are fetched again
             from peers and verified, records are corrected
  --json     the report as JSON

Exit code 0 when everything is sound (or was repaired), 1 when a problem remains.
Without a running cell the check runs on GROVE_DIR directly (no peers: nothing is fetched).`;

function print(r: FsckReport, offline: boolean): void {
  console.log(
    `checked ${r.manifests} manifests, ${r.chunks_checked} chunk references, ${r.held_checked} chunks kept for other cells; asked ${r.peers_asked} peers${offline ? " (offline: no peers)" : ""}`,
  );
  for (const u of r.peers_unreachable) console.log(`  peer not reached: ${u}`);
  for (const p of r.problems)
    console.log(`${p.repaired ? "repaired" : "PROBLEM "}  ${p.kind.padEnd(20)} ${p.detail}${p.repair ? `  -> ${p.repair}` : ""}`);
  if (r.unreferenced_chunks)
    console.log(
      `note: ${r.unreferenced_chunks} chunk files (${formatBytes(r.unreferenced_bytes)}) are referenced by nothing (left for garbage collection)`,
    );
  console.log(
    r.problems.length === 0
      ? `no problems (${(r.ms / 1000).toFixed(1)} s)`
      : `${r.problems.length} problems, ${r.repaired} repaired, ${r.unrepaired} remaining${r.unrepaired && !r.repair ? " (run `grove fsck --repair`)" : ""}`,
  );
}

export const fsckCmd: Command = {
  name: "fsck",
  summary: "check (and --repair) every manifest, chunk and placement record",
  usage,
  async run(argv) {
    const { values } = parse(argv, { repair: { type: "boolean" }, json: { type: "boolean" } }, { min: 0, max: 0, usage });
    const layout = resolveLayout();
    const repair = values.repair === true;
    let report: FsckReport;
    let offline = false;
    try {
      const r = await connect(layout).json<FsckReport | { error: string }>("/api/fsck", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ repair }),
      });
      if ("error" in r) throw new CliError(r.error);
      report = r;
    } catch (e) {
      if (!(e instanceof CliError) || !/no cell is running/.test(e.message)) throw e;
      offline = true;
      // Loaded only offline: every command imports this module (src/cli.ts), and a cell is most of the program.
      const [{ openCell }, { fsck }] = await Promise.all([import("../cell/cell.ts"), import("../sync/fsck.ts")]);
      const { cell } = openCell(layout);
      try {
        report = await fsck(cell, { repair, peers: null });
      } finally {
        cell.close();
      }
    }
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else print(report, offline);
    return report.unrepaired ? 1 : 0;
  },
};
