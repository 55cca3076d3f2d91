/** @module cli/put — `grove put FILE [--as PATH]`: store a file through the running cell. */
import { statSync } from "node:fs";
import { basename } from "node:path";
import { resolveLayout } from "../core/layout.ts";
import { count, formatBytes } from "../core/format.ts";
import { connect, filePath, isLocalCell, localTransfer, readJson } from "./client.ts";
import { resolve } from "node:path";
import { CliError, parse, type Command } from "./command.ts";
import { progress, PROGRESS_THRESHOLD } from "./progress.ts";

const usage = `Usage: grove put FILE [--as PATH] [--json]

Store FILE in the cell: it is chunked, encrypted and recorded as a new version of PATH
(default: FILE's name) in GROVE_HOME. Storing identical content again changes nothing.

Options:
  --as PATH  where the file goes in GROVE_HOME (e.g. Photos/2026/beach.jpg)
  --json     print the result (path, version, manifest) as JSON`;

interface PutResult {
  path: string;
  version: number;
  created: boolean;
  new_chunks: number;
  manifest_hash: string;
  manifest: { total_size: number; chunks: unknown[] };
}

export const put: Command = {
  name: "put",
  summary: "store a file (FILE [--as PATH])",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { as: { type: "string" }, json: { type: "boolean" } }, { min: 1, max: 1, usage });
    const file = positionals[0]!;
    let st;
    try {
      st = statSync(file);
    } catch {
      throw new CliError(`cannot read ${file}: no such file`);
    }
    if (st.isDirectory()) throw new CliError(`${file} is a folder; put stores one file at a time`);
    const dest = values.as ?? basename(file);
    const client = connect(resolveLayout());
    const bar = progress(`put ${dest}`, st.size);
    let r: PutResult;
    if (isLocalCell(client)) {
      // The cell reads the file itself: no bytes through the socket.
      let phase = "";
      r = await localTransfer<PutResult>(client, "/api/local/put", { source: resolve(file), path: dest }, (p) => {
        if (p.phase !== phase) {
          phase = p.phase;
          bar.phase(`${p.phase === "seal" ? "sealing" : "reading"} ${dest}`);
        }
        bar.set(p.done);
      });
    } else {
      let body: BodyInit = Bun.file(file);
      if (st.size >= PROGRESS_THRESHOLD && process.stderr.isTTY) {
        body = Bun.file(file)
          .stream()
          .pipeThrough(
            new TransformStream<Uint8Array, Uint8Array>({
              transform(chunk, ctl) {
                bar.add(chunk.byteLength);
                ctl.enqueue(chunk);
              },
              flush() {
                bar.phase(`sealing ${dest}`);
              },
            }),
          );
      }
      const res = await client.request(filePath(dest), {
        method: "PUT",
        body,
        headers: { "content-type": "application/octet-stream", "content-length": String(st.size) },
      });
      r = (await readJson(res)) as PutResult;
    }
    bar.done();
    if (values.json) return (console.log(JSON.stringify(r, null, 2)), 0);
    const what = r.created ? `stored as version ${r.version}` : `unchanged (version ${r.version} already has this content)`;
    console.log(
      `${r.path}: ${what}, ${formatBytes(r.manifest.total_size)} in ${count(r.manifest.chunks.length, "chunk")} (${r.new_chunks} new)`,
    );
    return 0;
  },
};
