/**
 * @module cli/get — `grove get PATH [-o OUT]`: fetch a file back from the running cell.
 * The file is written to a temp name and renamed only when every byte arrived verified.
 */
import { existsSync, statSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { tempPathFor } from "../core/atomic.ts";
import { resolveLayout } from "../core/layout.ts";
import { formatBytes } from "../../views/format.ts";
import { connect, filePath, readJson, type CellClient } from "./client.ts";
import { CliError, parse, type Command } from "./command.ts";
import { progress } from "./progress.ts";

const usage = `Usage: grove get PATH [-o OUT] [--version N]

Fetch PATH from the cell, verifying every chunk. Writes to OUT (default: the file's name in
the current folder; a folder puts it inside; "-" writes to standard output).

Options:
  -o, --output OUT  where to write
  --version N       an older version (see \`grove ls\` / the dashboard's history)`;

/** When a transfer breaks off, ask the cell why (it names the file and the bad chunk). */
async function explain(client: CellClient, path: string, version?: string): Promise<string> {
  try {
    const res = await client.request(filePath(path, `?verify${version ? `&version=${version}` : ""}`));
    const r = (await res.json()) as { problems?: { reason: string }[] };
    if (r.problems?.length) return r.problems[0]!.reason;
  } catch {}
  return "the transfer broke off";
}

export const get: Command = {
  name: "get",
  summary: "fetch a file (PATH [-o OUT])",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { output: { type: "string", short: "o" }, version: { type: "string" } }, { min: 1, max: 1, usage });
    if (values.help) return console.log(usage), 0;
    const path = positionals[0]!.replace(/^\/+/, "");
    if (values.version !== undefined && !/^\d+$/.test(values.version)) throw new CliError("--version takes a number", 2);
    const client = connect(resolveLayout());
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

    let out = values.output ?? basename(path);
    if (existsSync(out) && statSync(out).isDirectory()) out = join(out, basename(path));
    if (!existsSync(dirname(out) || ".")) throw new CliError(`folder ${dirname(out)} does not exist`);
    const tmp = tempPathFor(out);
    const fh = await open(tmp, "wx", 0o644);
    const bar = progress(`get ${path}`, total);
    let n = 0;
    let failed: string | null = null;
    try {
      for await (const piece of res.body! as unknown as AsyncIterable<Uint8Array>) {
        let off = 0;
        while (off < piece.byteLength) off += (await fh.write(piece, off, piece.byteLength - off)).bytesWritten;
        n += piece.byteLength;
        bar.add(piece.byteLength);
      }
    } catch (e) {
      failed = (e as Error).message;
    }
    if (!failed && total >= 0 && n !== total) failed = "short";
    if (failed) {
      await fh.close();
      await unlink(tmp).catch(() => {});
      throw new CliError(`${path}: ${await explain(client, path, values.version)}; nothing was written to ${out}`);
    }
    await fh.sync();
    await fh.close();
    await rename(tmp, out);
    bar.done();
    if (process.stderr.isTTY) process.stderr.write(`${out}: ${formatBytes(n)} written, every chunk verified\n`);
    return 0;
  },
};
