/**
 * core/piece-release and its users: a piece is freed only when it owns its whole buffer, the
 * bytes copied out of it are intact, and a reader that keeps a piece (a body that outgrew its
 * buffer) does not free it. Over a real Bun.serve listener on loopback: the pieces of a request
 * body are whole buffers (so releasing them does free memory), and bodies read into one reused
 * buffer, three at a time, arrive byte-identical.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { releasePiece } from "../../src/core/piece-release.ts";
import { readAtMost } from "../../src/core/bounded-read.ts";
import { BufferPool } from "../../src/ingest/buffer-pool.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function random(n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

/** A stream of `pieces` (each enqueued as it is: the reader receives these very objects). */
function streamOf(pieces: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const p of pieces) c.enqueue(p);
      c.close();
    },
  });
}

describe("releasePiece", () => {
  test("frees a piece that owns its whole buffer; leaves views, shared and detached buffers alone", () => {
    const whole = new Uint8Array(1024).fill(1);
    releasePiece(whole);
    expect(whole.byteLength).toBe(0);
    expect(whole.buffer.detached).toBe(true);
    releasePiece(whole); // already detached: nothing happens

    const big = new Uint8Array(4096).fill(2);
    const view = big.subarray(1024, 2048);
    releasePiece(view);
    expect(view.byteLength).toBe(1024);
    expect(big.byteLength).toBe(4096);
    const head = big.subarray(0, 1024); // offset 0 but not the whole buffer
    releasePiece(head);
    expect(big[0]).toBe(2);

    const shared = new Uint8Array(new SharedArrayBuffer(64));
    releasePiece(shared);
    expect(shared.byteLength).toBe(64);
  });
});

describe("readAtMost with release", () => {
  test("the pieces copied into the buffer are freed and the bytes are intact; without release they are kept", async () => {
    const src = random(300_000);
    const cut = () => [src.slice(0, 100_000), src.slice(100_000, 250_000), src.slice(250_000)];
    const freed = cut();
    const into = new Uint8Array(512 * 1024);
    const got = await readAtMost(streamOf(freed), 1 << 20, into, true);
    expect(sha(got!)).toBe(sha(src));
    expect(freed.every((p) => p.byteLength === 0)).toBe(true);

    const kept = cut();
    const got2 = await readAtMost(streamOf(kept), 1 << 20, new Uint8Array(512 * 1024), false);
    expect(sha(got2!)).toBe(sha(src));
    expect(kept.map((p) => p.byteLength)).toEqual([100_000, 150_000, 50_000]);
  });

  test("a body that outgrows the buffer keeps the pieces it holds (they are the answer)", async () => {
    const src = random(300_000);
    const pieces = [src.slice(0, 100_000), src.slice(100_000, 250_000), src.slice(250_000)];
    const got = await readAtMost(streamOf(pieces), 1 << 20, new Uint8Array(120_000), true);
    expect(sha(got!)).toBe(sha(src));
    expect(pieces[0]!.byteLength).toBe(0); // copied into the buffer before it was outgrown
    expect(pieces[1]!.byteLength).toBe(150_000);
    expect(pieces[2]!.byteLength).toBe(50_000);
  });

  test("over a real listener: request-body pieces are whole buffers, freed as read; 24 bodies of 4 MiB, 3 at a time, arrive intact", async () => {
    const pool = new BufferPool(4 << 20, 3);
    const seen: Uint8Array[] = [];
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const buf = pool.take();
        // Count what release did: wrap the body's own pieces, unchanged.
        const counted = req.body!.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(p, c) {
              seen.push(p);
              c.enqueue(p);
            },
          }),
        );
        const body = await readAtMost(counted, 8 << 20, buf, true);
        const hash = sha(body!);
        pool.give(buf);
        return new Response(hash);
      },
    });
    try {
      const bodies = [random(4 << 20), random(4 << 20), random(4 << 20)];
      const want = bodies.map(sha);
      let next = 0;
      const wrong: number[] = [];
      await Promise.all(
        bodies.map(async (_, lane) => {
          while (next < 24) {
            const n = next++;
            const r = await fetch(`http://127.0.0.1:${server.port}/`, { method: "PUT", body: bodies[lane] });
            if ((await r.text()) !== want[lane]) wrong.push(n);
          }
        }),
      );
      expect(wrong).toEqual([]);
      expect(seen.length).toBeGreaterThan(24);
      expect(seen.filter((p) => p.byteLength !== 0)).toEqual([]); // Bun's pieces own their buffers: each one was freed
    } finally {
      server.stop(true);
    }
  });
});

describe("BufferPool", () => {
  test("clear frees the idle buffers (one over `keep` is only dropped); take then makes a new one", () => {
    const pool = new BufferPool(1024, 1);
    const a = pool.take();
    const b = pool.take();
    pool.give(a);
    pool.give(b.subarray(10, 20)); // any view of it: the pool already keeps one, so b is dropped
    expect(b.byteLength).toBe(1024);
    expect(pool.idle).toBe(1);
    expect(a.byteLength).toBe(1024);
    const again = pool.take();
    expect(again.buffer).toBe(a.buffer);
    pool.give(again);
    pool.clear();
    expect(a.byteLength).toBe(0);
    expect(pool.take().byteLength).toBe(1024);
  });

  test("a pool unused for idleMs frees its idle buffers; one in use keeps them", async () => {
    const pool = new BufferPool(1024, 4, 80);
    const a = pool.take();
    pool.give(a);
    for (let i = 0; i < 4; i++) {
      await Bun.sleep(40); // used every 40 ms: kept
      pool.give(pool.take());
    }
    expect(pool.idle).toBe(1);
    expect(a.byteLength).toBe(1024);
    await Bun.sleep(200);
    expect(pool.idle).toBe(0);
    expect(a.byteLength).toBe(0);
    expect(pool.take().byteLength).toBe(1024); // a new one after the quiet spell
  });
});
