/** @module cli/save-response — write a streamed download to OUT: temp file, renamed into place only when every byte arrived. */
import { rename, unlink } from "node:fs/promises";
import { tempPathFor } from "../core/atomic.ts";
import { FileWriter } from "../core/file-writer.ts";
import { progress } from "./progress.ts";

/**
 * Stream `res`'s body to `out` through a temp file. Returns the byte count, or the reason it
 * failed (a broken stream, or fewer bytes than `total`); on failure nothing is left at `out`.
 */
export async function saveResponse(res: Response, out: string, label: string, total: number, sync = false): Promise<{ bytes: number } | { failed: string }> {
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
  // Like cp: renamed into place complete, not fsynced unless asked.
  await w.close(sync);
  await rename(tmp, out);
  bar.done();
  return { bytes: n };
}
