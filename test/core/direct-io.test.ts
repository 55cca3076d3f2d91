/**
 * core/direct-io: whatever the alignment of a request, the bytes on disk and read back are exactly
 * the ones given; O_DIRECT is used where it can be, and refused file systems fall back.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DIRECT_ALIGN, DirectFile, directIoEnabled } from "../../src/core/direct-io.ts";
import { writeFileStaged } from "../../src/core/atomic.ts";
import { FileWriter } from "../../src/core/file-writer.ts";

const dir = mkdtempSync(join(tmpdir(), "grove-dio-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const fresh = () => join(dir, `f${n++}`);
const random = (len: number) => {
  const u = new Uint8Array(len);
  for (let o = 0; o < len; o += 65536) crypto.getRandomValues(u.subarray(o, Math.min(len, o + 65536)));
  return u;
};

describe("DirectFile writes", () => {
  for (const len of [1, 100, DIRECT_ALIGN, DIRECT_ALIGN + 1, 4 * 1024 * 1024 + 16, 3 * DIRECT_ALIGN - 7]) {
    test(`${len} bytes at offset 0 land exactly (no padding left behind)`, async () => {
      const p = fresh();
      const data = random(len);
      const f = await DirectFile.create(p, 0o600);
      await f.write(data, 0);
      await f.sync();
      await f.close();
      expect(statSync(p).size).toBe(len);
      expect(Buffer.compare(readFileSync(p), Buffer.from(data))).toBe(0);
      expect(statSync(p).mode & 0o777).toBe(0o600);
    });
  }

  test("spareTail: one padded request from the caller's own buffer, zeroed past the data, cut back to size", async () => {
    const p = fresh();
    const raw = random(3 * DIRECT_ALIGN);
    const data = raw.subarray(0, DIRECT_ALIGN + 100);
    const want = Buffer.from(data);
    const f = await DirectFile.create(p);
    await f.write(data, 0, { spareTail: true });
    await f.sync();
    await f.close();
    expect(Buffer.compare(readFileSync(p), want)).toBe(0);
    if (f.direct) expect(raw.subarray(DIRECT_ALIGN + 100, 2 * DIRECT_ALIGN).every((b) => b === 0)).toBe(true);
    const r = await DirectFile.openRead(p);
    const back = new Uint8Array(2 * DIRECT_ALIGN);
    expect(await r.read(back, DIRECT_ALIGN + 100, 0, { spareTail: true })).toBe(DIRECT_ALIGN + 100);
    await r.release();
    expect(Buffer.compare(Buffer.from(back.subarray(0, DIRECT_ALIGN + 100)), want)).toBe(0);
  });

  test("spareTail without room in the buffer falls back to the scratch block", async () => {
    const p = fresh();
    const data = random(DIRECT_ALIGN + 100); // its buffer ends right after the data
    const f = await DirectFile.create(p);
    await f.write(data, 0, { spareTail: true });
    await f.close();
    expect(Buffer.compare(readFileSync(p), Buffer.from(data))).toBe(0);
  });

  test("uses O_DIRECT on this file system when the platform has it", async () => {
    const f = await DirectFile.create(fresh());
    expect(f.direct).toBe(directIoEnabled());
    await f.close();
  });

  test("an unaligned address or offset goes through the ordinary path, bytes intact", async () => {
    const p = fresh();
    const big = random(3 * DIRECT_ALIGN + 10);
    const f = await DirectFile.create(p);
    await f.write(big.subarray(1, 1 + 2 * DIRECT_ALIGN), 0); // odd address
    await f.write(big.subarray(0, 777), 2 * DIRECT_ALIGN); // aligned offset, padded tail
    await f.write(big.subarray(5, 105), 2 * DIRECT_ALIGN + 777); // odd offset, after the padded tail
    await f.close();
    const want = Buffer.concat([big.subarray(1, 1 + 2 * DIRECT_ALIGN), big.subarray(0, 777), big.subarray(5, 105)]);
    expect(Buffer.compare(readFileSync(p), want)).toBe(0);
  });

  test("create refuses an existing file", async () => {
    const p = fresh();
    writeFileSync(p, "x");
    await expect(DirectFile.create(p)).rejects.toMatchObject({ code: "EEXIST" });
    expect(readFileSync(p, "utf8")).toBe("x");
  });

  test("GROVE_DIRECT_IO=0 turns it off", async () => {
    process.env.GROVE_DIRECT_IO = "0";
    try {
      const f = await DirectFile.create(fresh());
      expect(f.direct).toBe(false);
      await f.close();
    } finally {
      delete process.env.GROVE_DIRECT_IO;
    }
  });

  // tmpfs refused O_DIRECT (EINVAL, then the ordinary path) before Linux 6.6 and takes it since.
  test.skipIf(!existsSync("/dev/shm"))("tmpfs: bytes intact, with or without O_DIRECT", async () => {
    const p = join("/dev/shm", `grove-dio-${process.pid}-${n++}`);
    try {
      const data = random(DIRECT_ALIGN + 33);
      const f = await DirectFile.create(p);
      await f.write(data, 0);
      await f.close();
      expect(Buffer.compare(readFileSync(p), Buffer.from(data))).toBe(0);
      const r = await DirectFile.openRead(p);
      const back = new Uint8Array(data.byteLength + 100);
      expect(await r.read(back, back.byteLength, 0)).toBe(data.byteLength);
      await r.release();
      expect(Buffer.compare(Buffer.from(back.subarray(0, data.byteLength)), Buffer.from(data))).toBe(0);
    } finally {
      rmSync(p, { force: true });
    }
  });
});

describe("DirectFile reads", () => {
  const len = 2 * DIRECT_ALIGN + 123;
  const data = random(len);
  const p = join(dir, "read-me");
  writeFileSync(p, data);

  test("whole file, a tail shorter than a block, and a request past the end", async () => {
    const f = await DirectFile.openRead(p);
    expect(await f.size()).toBe(len);
    const buf = new Uint8Array(len + 5000);
    expect(await f.read(buf, len + 5000, 0)).toBe(len);
    expect(Buffer.compare(Buffer.from(buf.subarray(0, len)), Buffer.from(data))).toBe(0);
    const part = new Uint8Array(DIRECT_ALIGN + 50);
    expect(await f.read(part, DIRECT_ALIGN + 50, DIRECT_ALIGN)).toBe(DIRECT_ALIGN + 50);
    expect(Buffer.compare(Buffer.from(part), Buffer.from(data.subarray(DIRECT_ALIGN, 2 * DIRECT_ALIGN + 50)))).toBe(0);
    expect(await f.read(part, 10, len)).toBe(0);
    await f.release();
  });

  test("an unaligned offset or buffer reads the right bytes", async () => {
    const f = await DirectFile.openRead(p);
    const raw = new Uint8Array(DIRECT_ALIGN * 2);
    const odd = raw.subarray(3, 3 + 1000);
    expect(await f.read(odd, 1000, 17)).toBe(1000);
    expect(Buffer.compare(Buffer.from(odd), Buffer.from(data.subarray(17, 1017)))).toBe(0);
    await f.release();
  });
});

test("writeFileStaged: a sealed-chunk-sized write is renamed into place with its exact size", async () => {
  const p = join(dir, "sub", "chunk");
  const data = random(4 * 1024 * 1024 + 16);
  const want = Buffer.from(data);
  const { durable } = await writeFileStaged(p, data, 0o600);
  data.fill(0); // the caller may reuse its buffer once the first step resolves
  await durable;
  expect(Buffer.compare(readFileSync(p), want)).toBe(0);
});

test("FileWriter.createDirect: many small pieces make the same file as they would buffered", async () => {
  const p = fresh();
  const pieces = Array.from({ length: 40 }, (_, i) => random(1000 + i * 4999));
  const w = await FileWriter.createDirect(p, 0o644, 64 * 1024);
  for (const piece of pieces) await w.write(piece);
  await w.close(true);
  expect(Buffer.compare(readFileSync(p), Buffer.concat(pieces))).toBe(0);
});
