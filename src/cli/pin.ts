/** @module cli/pin — `grove pin PATH` / `grove unpin PATH`: which files of your cells this cell keeps in GROVE_HOME. */
import { resolveLayout } from "../core/layout.ts";
import { connect } from "./client.ts";
import { parse, type Command } from "./command.ts";

const pinUsage = `Usage: grove pin PATH [--json]

Keep PATH (a file, or a folder and everything in it) in this cell's GROVE_HOME: its files are
written here now (fetched from your cells that hold them) and kept up to date as they change. For
a cell with "home_mode": "on-demand", which otherwise lists your cells' files and fetches each
when it is opened. "grove pin /" pins everything.`;

const unpinUsage = `Usage: grove unpin PATH [--json]

Stop keeping PATH in this cell's GROVE_HOME ("home_mode": "on-demand"): the files there that
another of your cells stored leave GROVE_HOME and are fetched again when opened. Files this cell
stored itself stay (unpinning never drops the only copy).`;

const pathArg = (p: string) => (p === "/" || p === "." ? "" : p.replace(/^\/+/, ""));

export const pin: Command = {
  name: "pin",
  summary: "keep a file or folder of your cells in GROVE_HOME",
  usage: pinUsage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" } }, { min: 1, max: 1, usage: pinUsage });
    const r = await connect(resolveLayout()).json<{ path: string; files: number; written: number; failed: number }>("/api/pins", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: pathArg(positionals[0]!) }),
    });
    if (values.json) return (console.log(JSON.stringify(r, null, 2)), 0);
    const what = r.path || "everything";
    console.log(
      `pinned ${what}: ${r.files} file${r.files === 1 ? "" : "s"}, ${r.written} written into GROVE_HOME now${r.failed ? `, ${r.failed} not (no cell of yours that holds them answered: they follow when one does)` : ""}`,
    );
    return r.failed ? 1 : 0;
  },
};

export const unpin: Command = {
  name: "unpin",
  summary: "stop keeping a file or folder of your cells in GROVE_HOME",
  usage: unpinUsage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" } }, { min: 1, max: 1, usage: unpinUsage });
    const r = await connect(resolveLayout()).json<{ path: string; dropped: number; kept: number }>("/api/pins/remove", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: pathArg(positionals[0]!) }),
    });
    if (values.json) return (console.log(JSON.stringify(r, null, 2)), 0);
    console.log(
      `unpinned ${r.path || "everything"}: ${r.dropped} file${r.dropped === 1 ? "" : "s"} left GROVE_HOME (opened on demand from now on)${r.kept ? `; ${r.kept} stored by this cell stay` : ""}`,
    );
    return 0;
  },
};
