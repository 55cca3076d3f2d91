/** core/lines: lines split across pieces (and inside a UTF-8 character), blank lines, CRLF, a last line without newline. */
import { expect, test } from "bun:test";
import { textLines } from "../../src/core/lines.ts";

async function collect(pieces: (string | Uint8Array)[]): Promise<string[]> {
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of pieces) c.enqueue(typeof p === "string" ? enc.encode(p) : p);
      c.close();
    },
  });
  const out: string[] = [];
  for await (const l of textLines(stream)) out.push(l);
  return out;
}

test("lines come whole, in order, however the bytes are cut", async () => {
  const euro = new TextEncoder().encode("€"); // 3 bytes, cut in the middle below
  expect(await collect(['{"a":1}\n{"b', '":2}\n', "\n  \n", "x\r\n", euro.subarray(0, 1), euro.subarray(1), "\nlast"])).toEqual([
    '{"a":1}',
    '{"b":2}',
    "x",
    "€",
    "last",
  ]);
  expect(await collect([])).toEqual([]);
});
