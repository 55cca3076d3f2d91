/**
 * @module cli/scan — `grove scan [PATH]`: the file watcher looks now at GROVE_HOME and the
 * watched folders (or one folder or file in them) and stores what is new or changed, without
 * waiting for it to settle; prints how many files it stored.
 */
import { basename, isAbsolute, relative, resolve, sep } from "node:path";
import { resolveLayout } from "../core/layout.ts";
import type { ScanResult } from "../ingest/file-watcher.ts";
import type { CellStatus } from "../api/types.ts";
import { connect, type CellClient } from "./client.ts";
import { CliError, parse, type Command } from "./command.ts";

const usage = `Usage: grove scan [PATH] [--json]

Look now for new and changed files in GROVE_HOME and the watched folders (config watch_dirs),
and store them at once: the watcher otherwise stores a file once it has stopped changing
(watch_debounce_ms). Use it when you know your copy is complete, e.g. at the end of a script.
PATH is a folder or file as stored ("photos/2024", or "Documents/x.txt" for a watched folder
Documents), or a path on this machine inside one of those folders ("./photos", "/home/me/Documents").
Without PATH every folder is scanned. Deleted files are not looked for: the watcher records
deletions as they happen. Prints how many files were looked at and stored.`;

/** The stored path of `arg`: as given, or, for a path on this machine (absolute, ./ or ../), relative to the root holding it. */
async function storedPath(client: CellClient, home: string, arg: string): Promise<string> {
  const local = isAbsolute(arg) || arg === "." || arg === ".." || arg.startsWith(`.${sep}`) || arg.startsWith(`..${sep}`);
  if (!local) return arg;
  const abs = resolve(arg);
  const st = await client.json<CellStatus>("/api/status");
  const roots = st.watching?.roots ?? [];
  for (const root of roots) {
    const rel = relative(root, abs);
    if (rel.startsWith("..") || isAbsolute(rel)) continue;
    const prefix = resolve(root) === resolve(home) ? "" : basename(root);
    const parts = [prefix, ...rel.split(sep)].filter(Boolean);
    if (!parts.length) throw new CliError(`${arg} is GROVE_HOME itself: run \`grove scan\` without PATH to scan every folder`);
    return parts.join("/");
  }
  throw new CliError(`${abs} is not in GROVE_HOME or a watched folder (${roots.join(", ") || "the watcher is off"})`);
}

export const scan: Command = {
  name: "scan",
  summary: "store new and changed files in GROVE_HOME and watched folders now",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 1, usage });
    const layout = resolveLayout();
    const client = connect(layout);
    const path = positionals[0] === undefined ? undefined : await storedPath(client, layout.home, positionals[0]);
    if (!values.json && process.stderr.isTTY && !process.env.GROVE_NO_PROGRESS) process.stderr.write("scanning…\r");
    const r = await client.json<ScanResult | { error: string }>("/api/scan", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(path === undefined ? {} : { path }),
    });
    if (!values.json && process.stderr.isTTY) process.stderr.write("\x1b[K");
    if ("error" in r) throw new CliError(r.error);
    if (values.json) console.log(JSON.stringify(r, null, 2));
    else {
      const where = path === undefined ? "every watched folder" : path;
      console.log(
        `scanned ${where}: ${r.looked} file${r.looked === 1 ? "" : "s"} looked at, ${r.stored} stored${r.failed ? `, ${r.failed} failed (see \`grove status\` and the cell's log)` : ""}`,
      );
    }
    return r.failed ? 1 : 0;
  },
};
