/**
 * @module core/lines — the lines of a byte stream, as they arrive: NDJSON answers (/api/chat,
 * /api/local/*), the model host's stdin and stdout. Blank lines are skipped; a last line without
 * its newline is still given.
 */

/** Each non-blank line of `stream` (UTF-8, without its line end), in order. */
export async function* textLines(stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let rest = "";
  for await (const piece of stream as AsyncIterable<Uint8Array>) {
    rest += dec.decode(piece, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl).replace(/\r$/, "");
      rest = rest.slice(nl + 1);
      if (line.trim()) yield line;
    }
  }
  rest += dec.decode();
  if (rest.trim()) yield rest;
}
