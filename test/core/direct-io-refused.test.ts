/**
 * core/direct-io on a file system that refuses O_DIRECT: ramfs answers EINVAL (after creating the
 * file). Every DirectFile path must fall back to ordinary I/O with the bytes intact, and a real
 * cell whose GROVE_DIR and GROVE_HOME live there must store and return files. Needs root (mount);
 * skipped otherwise.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, constants } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DirectFile } from "../../src/core/direct-io.ts";
import { writeFileStaged } from "../../src/core/atomic.ts";
import { ChunkStore } from "../../src/store/chunk-store.ts";
import type { ChunkHash } from "../../src/core/types.ts";
import { destroyCell, startCell, type TestCell } from "../helpers/cell.ts";

const O_DIRECT = (constants as Record<string, number>).O_DIRECT;
const isRoot = process.getuid?.() === 0;
const mnt = mkdtempSync(join(tmpdir(), "grove-ramfs-"));

/** Mount ramfs on `mnt`; true when it worked and O_DIRECT is refused there (what this file tests). */
function mountRamfs(): boolean {
  if (!isRoot || process.platform !== "linux" || !O_DIRECT) return false;
  if (Bun.spawnSync(["mount", "-t", "ramfs", "-o", "mode=700", "grove-test-ramfs", mnt]).exitCode !== 0) return false;
  try {
    openSync(join(mnt, "probe"), constants.O_WRONLY | constants.O_CREAT | O_DIRECT, 0o600);
    return false; // this kernel's ramfs takes O_DIRECT: nothing here would be refused
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EINVAL";
  }
}

const refuses = mountRamfs();
if (!refuses)
  console.log(
    `direct-io-refused: skipped (${!isRoot ? "not root: cannot mount ramfs" : "ramfs could not be mounted, or takes O_DIRECT here"})`,
  );
afterAll(() => {
  Bun.spawnSync(["umount", mnt]);
  rmSync(mnt, { recursive: true, force: true });
});

const random = (len: number) => {
  const u = new Uint8Array(len);
  for (let o = 0; o < len; o += 65536) crypto.getRandomValues(u.subarray(o, Math.min(len, o + 65536)));
  return u;
};

describe.skipIf(!refuses)("O_DIRECT refused (ramfs, EINVAL)", () => {
  let n = 0;
  const fresh = () => join(mnt, `f${n++}`);

  test("create falls back to an ordinary descriptor on the file Linux already made; bytes and sizes exact", async () => {
    for (const len of [1, 4096, 4097, 4 * 1024 * 1024 + 16]) {
      const p = fresh();
      const data = random(len);
      const f = await DirectFile.create(p, 0o600);
      expect(f.direct).toBe(false);
      await f.write(data, 0, { spareTail: true });
      await f.sync();
      await f.close();
      expect(statSync(p).size).toBe(len);
      expect(statSync(p).mode & 0o777).toBe(0o600);
      expect(Buffer.compare(readFileSync(p), Buffer.from(data))).toBe(0);
    }
  });

  test("create still refuses a file that exists", async () => {
    const p = fresh();
    writeFileSync(p, "keep me");
    await expect(DirectFile.create(p)).rejects.toThrow();
    expect(readFileSync(p, "utf8")).toBe("keep me");
  });

  test("openRead falls back; a whole read and a read past the end are exact", async () => {
    const p = fresh();
    const data = random(3 * 4096 + 5);
    writeFileSync(p, data);
    const f = await DirectFile.openRead(p);
    expect(f.direct).toBe(false);
    const buf = new Uint8Array(8 * 4096);
    const got = await f.read(buf, buf.byteLength, 0);
    await f.release();
    expect(got).toBe(data.byteLength);
    expect(Buffer.compare(buf.subarray(0, got), Buffer.from(data))).toBe(0);
  });

  test("writeFileStaged and the chunk store: stored, renamed into place, read back", async () => {
    const p = fresh();
    const data = random(4 * 1024 * 1024 + 16);
    const { durable } = await writeFileStaged(p, data, 0o600);
    await durable;
    expect(Buffer.compare(readFileSync(p), Buffer.from(data))).toBe(0);

    const store = new ChunkStore(join(mnt, "chunks"));
    mkdirSync(store.root, { recursive: true });
    const hash = new Bun.CryptoHasher("sha256").update(data).digest("hex") as ChunkHash;
    const put = await store.putStaged(hash, data, {});
    await put.durable;
    expect(put.wrote).toBe(true);
    const back = await store.readInto(hash, new Uint8Array(4 * 1024 * 1024 + 4096));
    expect(Buffer.compare(back, Buffer.from(data))).toBe(0);
  });

  describe("a real cell with GROVE_DIR and GROVE_HOME on ramfs", () => {
    let cell: TestCell;
    beforeAll(async () => {
      const root = join(mnt, "cell");
      mkdirSync(root);
      cell = await startCell({ root, config: { mdns: false } });
    }, 60_000);
    afterAll(() => destroyCell(cell));

    test("grove put (local and over HTTP) and grove get -o return identical bytes", async () => {
      const src = join(mnt, "src.bin");
      const data = random(9 * 1024 * 1024 + 123); // three chunks, the last one short
      writeFileSync(src, data);
      const put = await cell.cli(["put", src, "--as", "a/src.bin"]);
      expect(put.stderr).toBe("");
      expect(put.code).toBe(0);
      expect(Buffer.compare(readFileSync(join(cell.home, "a/src.bin")), Buffer.from(data))).toBe(0);
      const out = join(mnt, "out.bin");
      const get = await cell.cli(["get", "a/src.bin", "-o", out]);
      expect(get.code).toBe(0);
      expect(Buffer.compare(readFileSync(out), Buffer.from(data))).toBe(0);

      const res = await fetch(`${cell.url}/api/files/b/http.bin`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${cell.token}` },
        body: data,
      });
      expect(res.status).toBe(201); // created
      const back = await fetch(`${cell.url}/api/files/b/http.bin`, { headers: { Authorization: `Bearer ${cell.token}` } });
      expect(Buffer.compare(Buffer.from(await back.arrayBuffer()), Buffer.from(data))).toBe(0);
    });
  });
});
