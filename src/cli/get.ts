/**
 * @module cli/get — `grove get PATH [-o OUT]`: fetch a file back from the running cell.
 * The file is written to a temp name and renamed only when every byte arrived verified.
 */
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { resolveLayout } from "../core/layout.ts";
import { formatBytes } from "../core/format.ts";
import { connect, filePath, isLocalCell, localTransfer, readJson, type CellClient } from "./client.ts";
import { resolve as resolvePath } from "node:path";
import { CliError, parse, type Command } from "./command.ts";
import { progress } from "./progress.ts";
import { saveResponse } from "./save-response.ts";

const usage = `Usage: grove get PATH [-o OUT] [--version N]

Fetch PATH from the cell, verifying every chunk. Writes to OUT (default: the file's name in
the current folder; a folder puts it inside; "-" writes to standard output).

Options:
  -o, --output OUT  where to write
  --version N       an older version (see \`grove ls\` / the dashboard's history)
  --sync            fsync the file before returning (default: written and renamed into
                    place complete, flushed by the OS like any copy)`;

/** When a transfer breaks off, ask the cell why (it names the file and the bad chunk). */
async function explain(client: CellClient, path: string, version?: string): Promise<string> {
  try {
    const res = await client.request(filePath(path, `?verify${version ? `&version=${version}` : ""}`));
    const r = (await res.json()) as { problems?: { reason: string }[] };
    if (r.problems?.length) return r.problems[0]!.reason;
  } catch {}
  return "the transfer broke off";
}

/** Where `grove get` writes: OUT, or inside OUT when it is a folder, or the file's name here. */
export function outputPath(path: string, output: string | undefined): string {
  let out = output ?? basename(path);
  if (existsSync(out) && statSync(out).isDirectory()) out = join(out, basename(path));
  if (!existsSync(dirname(out) || ".")) throw new CliError(`folder ${dirname(out)} does not exist`);
  return out;
}

/** The cell writes the file itself (temp + rename), reporting progress; nothing crosses the socket. */
async function getLocal(
  client: CellClient,
  path: string,
  output: string | undefined,
  version: string | undefined,
  sync: boolean,
): Promise<number> {
  const out = outputPath(path, output);
  let bar: ReturnType<typeof progress> | null = null;
  const r = await localTransfer<{ bytes: number }>(
    client,
    "/api/local/get",
    { path, dest: resolvePath(out), ...(version ? { version: Number(version) } : {}), sync },
    (p) => {
      bar ??= progress(`get ${path}`, p.total);
      bar.set(p.done);
    },
  );
  (bar as ReturnType<typeof progress> | null)?.done();
  if (process.stderr.isTTY) process.stderr.write(`${out}: ${formatBytes(r.bytes)} written, every chunk verified\n`);
  return 0;
}

export const get: Command = {
  name: "get",
  summary: "fetch a file (PATH [-o OUT])",
  usage,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { output: { type: "string", short: "o" }, version: { type: "string" }, sync: { type: "boolean" } },
      { min: 1, max: 1, usage },
    );
    const path = positionals[0]!.replace(/^\/+/, "");
    if (values.version !== undefined && !/^\d+$/.test(values.version)) throw new CliError("--version takes a number", 2);
    const client = connect(resolveLayout());
    if (values.output !== "-" && isLocalCell(client)) return getLocal(client, path, values.output, values.version, values.sync === true);
    const res = await client.request(filePath(path, values.version ? `?version=${values.version}` : ""));
    if (!res.ok) await readJson(res);
    const total = Number(res.headers.get("x-grove-length") ?? res.headers.get("content-length") ?? -1);

    if (values.output === "-") {
      let n = 0;
      for await (const piece of res.body! as unknown as AsyncIterable<Uint8Array>) {
        n += piece.byteLength;
        await new Promise<void>((ok, fail) => process.stdout.write(piece, (e) => (e ? fail(e) : ok())));
      }
      if (total >= 0 && n !== total) throw new CliError(`${path}: ${await explain(client, path, values.version)}`);
      return 0;
    }

    const out = outputPath(path, values.output);
    // A copy out of the store, like cp (the stored chunks are the durable copy; --sync forces it).
    const r = await saveResponse(res, out, `get ${path}`, total, { sync: values.sync === true });
    if (!("bytes" in r)) throw new CliError(`${path}: ${await explain(client, path, values.version)}; nothing was written to ${out}`);
    const n = r.bytes;
    if (process.stderr.isTTY) process.stderr.write(`${out}: ${formatBytes(n)} written, every chunk verified\n`);
    return 0;
  },
};
