/** Test helper: an in-process cell (real files, real SQLite) in a temporary folder. */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { resolveLayout } from "../../src/core/layout.ts";
import { openCell, type Cell } from "../../src/cell/cell.ts";
import { tempRoot } from "./cell.ts";

export function openTempCell(): Cell & { root: string; destroy(): void } {
  const root = tempRoot("grove-vault-");
  const layout = resolveLayout({ GROVE_DIR: join(root, "dir"), GROVE_HOME: join(root, "home") });
  const { cell } = openCell(layout);
  return Object.assign(cell, {
    root,
    destroy() {
      cell.close();
      rmSync(root, { recursive: true, force: true });
    },
  });
}

/** Deterministic pseudo-random bytes (xorshift), so failures are reproducible. */
export function pseudoRandom(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
    out[i + 1] = x >>> 8;
    out[i + 2] = x >>> 16;
    out[i + 3] = x >>> 24;
  }
  return out;
}

export function streamOf(data: Uint8Array, piece = 65536): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= data.byteLength) return c.close();
      c.enqueue(data.slice(off, off + piece));
      off += piece;
    },
  });
}

export async function readAll(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}
