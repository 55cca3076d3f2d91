// The crypto pool's Workers: made at the first chunk, retired when idle, made again after; results as in-process.
import { expect, test } from "bun:test";
import { selectSuite } from "../../src/crypto/index.ts";
import { sealChunk } from "../../src/ingest/chunk-crypto.ts";
import { WorkerPool } from "../../src/ingest/crypto-pool.ts";
import { pseudoRandom } from "../helpers/vault.ts";

test("Workers start with the first chunk, retire after idleMs, and start again; chunks are those sealed in-process", async () => {
  const suite = selectSuite("auto");
  const pool = new WorkerPool(2, suite, "auto", 300);
  try {
    expect(pool.live).toBe(0); // a cell that never seals a large chunk never pays for them
    const key = pseudoRandom(32, 1);
    const plain = pseudoRandom(256 * 1024, 2);
    const want = sealChunk(suite, key, 3, plain.slice());
    const sealed = await pool.seal(key, 3, plain.slice(), new Uint8Array(plain.byteLength + 16));
    expect(pool.live).toBe(2);
    expect(sealed.hash).toBe(want.hash);
    expect(Buffer.from(sealed.sealed).equals(Buffer.from(want.sealed))).toBe(true);

    // Busy: not retired while work keeps coming within idleMs.
    for (let i = 0; i < 3; i++) {
      await Bun.sleep(150);
      await pool.seal(key, i, plain.slice(), new Uint8Array(plain.byteLength + 16));
      expect(pool.live).toBe(2);
    }
    await Bun.sleep(700);
    expect(pool.live).toBe(0);

    // Made again for the next chunk, which opens what was sealed before.
    const opened = await pool.open(key, 3, sealed.sealed.slice(), new Uint8Array(plain.byteLength), want.hash);
    expect(pool.live).toBe(2);
    expect(opened.result.ok).toBe(true);
    if (opened.result.ok) expect(Buffer.from(opened.result.plain).equals(Buffer.from(plain))).toBe(true);
    const bad = sealed.sealed.slice();
    bad[10]! ^= 1;
    expect((await pool.open(key, 3, bad, new Uint8Array(plain.byteLength), want.hash)).result.ok).toBe(false);
  } finally {
    pool.close();
  }
  expect(pool.live).toBe(0);
});
