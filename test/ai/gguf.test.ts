// The GGUF header reader (ai/gguf) and the model folder (ai/models), on the fixture's tiny model
// and on broken files. No model is loaded here.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GgufError, readGgufHeader } from "../../src/ai/gguf.ts";
import { checkModelName, ModelDir } from "../../src/ai/models.ts";
import { GroveError } from "../../src/core/errors.ts";
import { encodeGguf, tinyModel, tinyModelParameters, writeBrokenModel, writeTinyModel } from "../fixtures/tiny-gguf.ts";
import { tempRoot } from "../helpers/cell.ts";

let root: string;
let models: string;
beforeAll(() => {
  root = tempRoot("grove-gguf-");
  models = join(root, "models");
  mkdirSync(models);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("the fixture writes the tiny model in milliseconds, deterministically", () => {
  const t0 = performance.now();
  const a = writeTinyModel(join(root, "a.gguf"));
  const ms = performance.now() - t0;
  const b = writeTinyModel(join(root, "b.gguf"));
  const c = writeTinyModel(join(root, "c.gguf"), { seed: 8 });
  expect(ms).toBeLessThan(500);
  expect(statSync(a).size).toBeGreaterThan(400_000);
  expect(statSync(a).size).toBeLessThan(600_000);
  expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
  expect(Buffer.compare(readFileSync(a), readFileSync(c))).not.toBe(0);
});

test("the header of the tiny model says what it is", async () => {
  const info = await readGgufHeader(writeTinyModel(join(root, "tiny.gguf")));
  expect(info).toMatchObject({
    version: 3,
    architecture: "llama",
    name: "grove-tiny",
    context_length: 2048,
    embedding_length: 64,
    block_count: 2,
    head_count: 4,
    vocab_size: 3 + 256 + 48,
    quantization: "F32",
    tensor_count: 3 + 2 * 9,
    has_chat_template: false,
  });
  expect(info.parameters).toBe(tinyModelParameters());
  expect(info.header_bytes % 32).toBe(0);
});

test("without general.file_type the quantization comes from the tensors", async () => {
  const { meta, tensors } = tinyModel({ omit: ["general.file_type", "general.name"] });
  const path = join(root, "no-ftype.gguf");
  writeFileSync(path, encodeGguf(meta, tensors));
  const info = await readGgufHeader(path);
  expect(info.quantization).toBe("F32");
  expect(info.name).toBeNull();
});

test("broken files give one-line errors", async () => {
  const err = async (kind: Parameters<typeof writeBrokenModel>[1]) => {
    const p = writeBrokenModel(join(root, `${kind}.gguf`), kind);
    try {
      await readGgufHeader(p);
    } catch (e) {
      expect(e).toBeInstanceOf(GgufError);
      return (e as Error).message;
    }
    return null;
  };
  expect(await err("not-gguf")).toBe("not a GGUF file (no GGUF magic)");
  expect(await err("truncated")).toMatch(/^truncated: the file has \d+ bytes, its tensors need \d+$/);
  expect(await err("bad-header")).toMatch(/^header ends early/);
  // Missing a key llama.cpp needs is not a header problem: it reads (and aborts llama.cpp later).
  expect(await err("missing-key")).toBeNull();
});

test("a hostile header cannot make the reader allocate without bound", async () => {
  const p = join(root, "huge-string.gguf");
  const b = Buffer.alloc(64);
  b.write("GGUF", 0, "latin1");
  b.writeUInt32LE(3, 4);
  b.writeBigUInt64LE(0n, 8); // tensors
  b.writeBigUInt64LE(1n, 16); // one key
  b.writeBigUInt64LE(2n ** 40n, 24); // its name claims a TiB
  writeFileSync(p, b);
  await expect(readGgufHeader(p)).rejects.toThrow(/string of \d+ bytes|header ends early/);
});

test("the model folder lists good and bad files, ignores the rest", async () => {
  writeTinyModel(join(models, "tiny.gguf"));
  writeBrokenModel(join(models, "cut.gguf"), "truncated");
  writeFileSync(join(models, "notes.txt"), "not a model");
  writeFileSync(join(models, ".tiny.gguf.tmp-123"), "upload in progress");
  const list = await new ModelDir(models).list();
  expect(list.map((m) => m.name)).toEqual(["cut.gguf", "tiny.gguf"]);
  expect(list[0]!.info).toBeNull();
  expect(list[0]!.error).toMatch(/^truncated/);
  expect(list[1]!.error).toBeNull();
  expect(list[1]!.info!.architecture).toBe("llama");
  expect(list[1]!.size).toBe(statSync(join(models, "tiny.gguf")).size);
  expect(await new ModelDir(join(root, "absent")).list()).toEqual([]);
});

test("saving an upload checks the name and the magic, and leaves no temp file", async () => {
  const dir = new ModelDir(models);
  const stream = (bytes: Uint8Array, pieces = 3) =>
    new ReadableStream<Uint8Array>({
      start(ctl) {
        const n = Math.ceil(bytes.byteLength / pieces);
        for (let o = 0; o < bytes.byteLength; o += n) ctl.enqueue(bytes.subarray(o, o + n));
        ctl.close();
      },
    });
  const { meta, tensors } = tinyModel({ seed: 3 });
  const good = encodeGguf(meta, tensors);
  const saved = await dir.save("up.gguf", stream(good), 10_000_000);
  expect(saved).toMatchObject({ name: "up.gguf", size: good.byteLength, error: null });

  const refused = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(GroveError);
      return [(e as GroveError).status, (e as Error).message] as const;
    }
    throw new Error("not refused");
  };
  expect((await refused(dir.save("x.gguf", stream(new TextEncoder().encode("hello world")), 1e6)))[0]).toBe(400);
  expect((await refused(dir.save("big.gguf", stream(good), 1000)))[0]).toBe(413);
  expect((await refused(dir.save("empty.gguf", stream(new Uint8Array(0)), 1000)))[0]).toBe(400);
  for (const bad of ["../x.gguf", "a/b.gguf", "a\\b.gguf", "x.bin", ".hidden.gguf", ".gguf", "x\n.gguf"]) {
    expect(() => checkModelName(bad)).toThrow(GroveError);
  }
  expect(readdirSync(models).filter((n) => n.includes(".tmp-") && n !== ".tiny.gguf.tmp-123")).toEqual([]);
  expect(readdirSync(models)).not.toContain("x.gguf");

  await dir.remove("up.gguf");
  expect((await refused(dir.remove("up.gguf")))[0]).toBe(404);
});
