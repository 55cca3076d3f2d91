/** @module cli/save-response — write a streamed download to OUT: temp file beside it, put in place only when every byte arrived. */
import { unlink } from "node:fs/promises";
import { tempPathFor } from "../core/atomic.ts";
import { FileWriter } from "../core/file-writer.ts";
import { publishFile } from "../core/publish-file.ts";
import { progress } from "./progress.ts";

export interface SaveOptions {
  /** fsync the file (and its folder) before it counts as written. */
  sync?: boolean;
  /** Replace an existing OUT (default); false: never replace, answer `{exists: true}` instead. */
  replace?: boolean;
}

export type SaveResult = { bytes: number } | { failed: string } | { exists: true };

/**
 * Stream `res`'s body to `out` through a temp file in OUT's folder. Returns the byte count, the
 * reason it failed (a broken stream, or fewer bytes than `total`), or `exists` when `replace`
 * is false and OUT appeared meanwhile; unless written, nothing is left at `out` or beside it.
 */
export async function saveResponse(res: Response, out: string, label: string, total: number, opts: SaveOptions = {}): Promise<SaveResult> {
  const tmp = tempPathFor(out);
  const w = await FileWriter.open(tmp, "wx", 0o644);
  const bar = progress(label, total);
  let n = 0;
  let failed: string | null = null;
  try {
    for await (const piece of res.body! as unknown as AsyncIterable<Uint8Array>) {
      await w.write(piece);
      n += piece.byteLength;
      bar.add(piece.byteLength);
    }
  } catch (e) {
    failed = (e as Error).message;
  }
  if (!failed && total >= 0 && n !== total) failed = `short transfer (${n} of ${total} bytes)`;
  if (failed) {
    await w.abort();
    await unlink(tmp).catch(() => {});
    return { failed };
  }
  // Like cp: put in place complete, not fsynced unless asked.
  try {
    await w.close(opts.sync === true);
    if ((await publishFile(tmp, out, { replace: opts.replace !== false, sync: opts.sync === true })) === "exists") return { exists: true };
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  bar.done();
  return { bytes: n };
}
