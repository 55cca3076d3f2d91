/** @module cli/feed — `grove feed [--json]`: files friends shared with you; `grove feed get ID [-o OUT] [--force]`: fetch one. */
import { existsSync, lstatSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { resolveLayout } from "../core/layout.ts";
import { safeFilename } from "../core/safe-filename.ts";
import { displayName } from "../core/unsafe-text.ts";
import type { FeedItem } from "../share/types.ts";
import { formatBytes, formatTime } from "../core/format.ts";
import { connect, readJson } from "./client.ts";
import { CliError, parse, table, type Command } from "./command.ts";
import { saveResponse } from "./save-response.ts";

const usage = `Usage: grove feed [--json]
       grove feed get ID [-o OUT] [--force]

List the files friends shared with you (from whom, name, type, size, when, state), or fetch
one: its chunks come from the sharer or any cell holding them, every one verified and
decrypted, and the file is written to a temp file beside OUT, fsynced, and put in place whole.

OUT defaults to the file's name in the current folder, made safe, since the sharer chose it:
no folders (/ and \\ become _), no leading dots (".bashrc" is written as "bashrc"), no control,
bidi or invisible characters, nothing Windows refuses, at most 200 bytes. A folder as OUT puts
the file inside it under that name. An existing file is never replaced: the command stops with
exit code 1 and names it (use -o PATH to write elsewhere, or --force).

Options:
  -o, --output OUT  where to write (a file name, or a folder)
  --force           replace OUT when it exists (never a folder)`;

/** Where `grove feed get` writes: OUT, inside OUT when it is a folder, or the item's safe name here. */
export function feedTarget(item: Pick<FeedItem, "id" | "filename">, output: string | undefined): string {
  const name = safeFilename(item.filename, `shared-${item.id.slice(0, 12)}`);
  let out = output ?? name;
  if (output !== undefined && existsSync(output) && statSync(output).isDirectory()) out = join(output, name);
  if (!existsSync(dirname(out) || ".")) throw new CliError(`folder ${displayName(dirname(out))} does not exist`);
  return out;
}

function refuseExisting(out: string): never {
  throw new CliError(
    `${displayName(out)} already exists; it was not replaced. Use -o PATH to write the file elsewhere, or --force to replace it.`,
  );
}

/** Fetch one received file to OUT (never replacing a file unless `force`). */
async function getOne(id: string, output: string | undefined, force: boolean): Promise<number> {
  const client = connect(resolveLayout());
  const item = await client.json<FeedItem>(`/api/feed/${encodeURIComponent(id)}`);
  const out = feedTarget(item, output);
  const existing = lstatSync(out, { throwIfNoEntry: false });
  if (existing?.isDirectory())
    throw new CliError(`${displayName(out)} is a folder; it was not replaced. Use -o PATH to write the file elsewhere.`);
  if (existing && !force) refuseExisting(out);
  const res = await client.request(`/api/feed/${encodeURIComponent(item.id)}/content`);
  if (!res.ok) await readJson(res);
  const name = displayName(item.filename);
  const r = await saveResponse(res, out, `get ${name}`, item.size, { sync: true, replace: force });
  if ("exists" in r) refuseExisting(out);
  if ("failed" in r) throw new CliError(`${name}: ${r.failed}; nothing was written to ${displayName(out)}`);
  if (output === undefined && out !== item.filename)
    process.stderr.write(`written as ${displayName(out)} (the sharer named it "${name}")\n`);
  if (process.stderr.isTTY)
    process.stderr.write(`${displayName(out)}: ${formatBytes(r.bytes)} from ${displayName(item.from_name)}, every chunk verified\n`);
  return 0;
}

export const feed: Command = {
  name: "feed",
  summary: "files shared with you; feed get ID fetches one",
  usage,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { json: { type: "boolean" }, output: { type: "string", short: "o" }, force: { type: "boolean" } },
      { min: 0, max: 2, usage },
    );
    if (positionals.length) {
      if (positionals[0] !== "get" || positionals.length !== 2) throw new CliError(`expected \`grove feed get ID\`\n\n${usage}`, 2);
      return getOne(positionals[1]!, values.output, values.force === true);
    }
    const list = await connect(resolveLayout()).json<FeedItem[]>("/api/feed");
    if (values.json) return (console.log(JSON.stringify(list, null, 2)), 0);
    if (!list.length) return (process.stderr.write("nothing shared with you yet\n"), 0);
    console.log(
      table(
        [
          ["ID", "FROM", "NAME", "TYPE", "SIZE", "SHARED", "STATE"],
          ...list.map((f) => [
            f.id.slice(0, 12),
            displayName(f.from_name),
            displayName(f.filename),
            f.file_type.split(";")[0]!,
            formatBytes(f.size),
            formatTime(f.granted_at),
            f.state,
          ]),
        ],
        [4],
      ),
    );
    return 0;
  },
};
