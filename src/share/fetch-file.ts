/**
 * @module share/fetch-file — a received file's plaintext, chunk by chunk, from the sharer or any
 * other cell holding its chunks (POST /peer/share/chunk with the fetch pass). Every chunk must
 * hash to its name and open under the file key before a byte of it is passed on; the first chunk
 * is fetched before the stream is returned, so refusals surface as errors, not broken downloads.
 */
import { GroveError, IntegrityError, errorMessage } from "../core/errors.ts";
import type { CellId } from "../core/types.ts";
import type { CellKeys } from "../crypto/keys.ts";
import type { CipherSuite } from "../crypto/index.ts";
import { callPeerRaw, refusalText, type PeerCaller } from "../net/peer-client.ts";
import type { FetchPass } from "../protocol/grant.ts";
import { openChunk } from "../ingest/chunk-crypto.ts";
import type { Manifest } from "../store/manifest.ts";
import { shortId } from "../core/format.ts";

export interface FetchFileInput {
  caller: PeerCaller;
  suite: CipherSuite;
  /** The file key from the grant. */
  key: Uint8Array;
  manifest: Manifest;
  pass: FetchPass;
  /** Cells to ask, in order of preference (the sharer first). */
  sources: { peer: CellId; url: string }[];
}

export async function fetchFile(i: FetchFileInput): Promise<ReadableStream<Uint8Array>> {
  const chunks = [...i.manifest.chunks].sort((a, b) => a.index - b.index);
  const names = chunks.map((c) => c.hash);
  let preferred = 0;

  const one = async (n: number): Promise<Uint8Array> => {
    const c = chunks[n]!;
    const why: string[] = [];
    for (let k = 0; k < i.sources.length; k++) {
      const s = i.sources[(preferred + k) % i.sources.length]!;
      try {
        const ans = await callPeerRaw(
          i.caller,
          s.url,
          s.peer,
          "POST",
          "/peer/share/chunk",
          { pass: i.pass, chunks: names, hash: c.hash },
          30_000,
        );
        if (ans.status !== 200) throw new Error(refusalText(ans.body));
        const r = openChunk(i.suite, i.key, c.index, ans.body, c.hash);
        if (!r.ok) throw new IntegrityError(`chunk ${c.index} from ${shortId(s.peer)} ${r.reason}`, c.hash, c.index);
        preferred = (preferred + k) % i.sources.length;
        return r.plain;
      } catch (e) {
        why.push(`${shortId(s.peer)}: ${errorMessage(e)}`);
      }
    }
    throw new GroveError(
      `'${i.manifest.filename}': chunk ${c.index} could not be fetched from any cell (${why.join("; ") || "no cell to ask"})`,
      502,
      "unavailable",
    );
  };

  if (chunks.length === 0) return new ReadableStream({ start: (ctl) => ctl.close() });
  const first = await one(0);
  let next = 1;
  return new ReadableStream<Uint8Array>(
    {
      start(ctl) {
        ctl.enqueue(first);
      },
      async pull(ctl) {
        if (next >= chunks.length) return ctl.close();
        try {
          ctl.enqueue(await one(next++));
        } catch (e) {
          ctl.error(e);
        }
      },
    },
    { highWaterMark: 0 },
  );
}
