// The native and portable implementations must produce byte-identical chunks (same names, same bytes),
// and each must open what the other sealed.
import { KeyRing } from "../../src/crypto/key-ring.ts";
import { afterAll, expect, test } from "bun:test";
import { portableSuite, nativeSuiteIfAvailable } from "../../src/crypto/index.ts";
import { nativeEd25519IfAvailable, portableEd25519 } from "../../src/crypto/ed25519.ts";
import { sealChunk, openChunk } from "../../src/ingest/chunk-crypto.ts";
import { InlinePool } from "../../src/ingest/crypto-pool.ts";
import { ingest } from "../../src/ingest/ingest.ts";
import { safePath } from "../../src/ingest/home-path.ts";
import { CHUNK_SIZE } from "../../src/core/types.ts";
import { openTempCell, pseudoRandom, streamOf } from "../helpers/vault.ts";

const native = nativeSuiteIfAvailable();

test.skipIf(!native)("native and portable seal byte-identical chunks and open each other's", () => {
  const key = pseudoRandom(32, 5);
  const cases: [number, Uint8Array][] = [
    [0, new Uint8Array(0)],
    [1, pseudoRandom(1, 2)],
    [2, pseudoRandom(CHUNK_SIZE, 3)],
    [2 ** 32 + 5, pseudoRandom(100_003, 4)], // index above 32 bits exercises the full 96-bit nonce
  ];
  for (const [index, plain] of cases) {
    const a = sealChunk(portableSuite, key, index, plain);
    const b = sealChunk(native!, key, index, plain);
    expect(b.hash).toBe(a.hash);
    expect(Buffer.compare(a.sealed, b.sealed)).toBe(0);
    const opened = openChunk(native!, key, index, a.sealed, a.hash);
    expect(opened.ok && Buffer.compare(opened.plain, plain) === 0).toBe(true);
    const back = openChunk(portableSuite, key, index, b.sealed, b.hash);
    expect(back.ok && Buffer.compare(back.plain, plain) === 0).toBe(true);
  }
});

const nativeSigs = nativeEd25519IfAvailable();

test.skipIf(!nativeSigs)("native and portable Ed25519 give identical keys and signatures, and verify each other's", () => {
  for (let i = 0; i < 40; i++) {
    const seed = pseudoRandom(32, 100 + i);
    // Views at odd offsets into larger buffers: the native binding is handed (buffer, offset, length).
    const room = pseudoRandom(7 + i * 37 + 11, 200 + i);
    const message = room.subarray(7, 7 + i * 37);
    const pub = portableEd25519.publicKey(seed);
    expect(Buffer.compare(nativeSigs!.publicKey(seed), pub)).toBe(0);
    const a = portableEd25519.sign(seed, message);
    const b = nativeSigs!.sign(seed, message);
    expect(Buffer.compare(a, b)).toBe(0);
    const sigBox = new Uint8Array(64 + 3);
    sigBox.set(a, 3);
    const pubBox = new Uint8Array(32 + 5);
    pubBox.set(pub, 5);
    expect(nativeSigs!.verify(sigBox.subarray(3), message, pubBox.subarray(5))).toBe(true);
    expect(portableEd25519.verify(b, message, pub)).toBe(true);
    const other = message.length ? Uint8Array.from(message, (x, j) => (j === 0 ? x ^ 1 : x)) : new Uint8Array([1]);
    expect(nativeSigs!.verify(a, other, pub)).toBe(false);
    expect(portableEd25519.verify(b, other, pub)).toBe(false);
  }
});

const cells: ReturnType<typeof openTempCell>[] = [];
afterAll(() => cells.forEach((c) => c.destroy()));

test.skipIf(!native)("a whole file ingested with each implementation gives the same manifest chunks", async () => {
  const data = pseudoRandom(2 * CHUNK_SIZE + 999, 8);
  const results = [];
  for (const suite of [portableSuite, native!]) {
    const c = openTempCell();
    cells.push(c);
    // Same master key in both (as after a recovery), different implementations.
    const vault = { ...c.vault, keys: KeyRing.alone(cells[0]!.keys.id, cells[0]!.keys.masterKey), suite, pool: new InlinePool(suite) };
    results.push(await ingest(vault, safePath("same.bin"), streamOf(data), { maxBytes: 1 << 30 }));
  }
  expect(results[1]!.manifest.chunks).toEqual(results[0]!.manifest.chunks);
  expect(results[1]!.manifest.file_hash).toBe(results[0]!.manifest.file_hash);
});
