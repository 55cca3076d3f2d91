/**
 * @module ai/gguf — reads the header of a GGUF model file (metadata and tensor infos, never the
 * weights) to describe a model without loading it: architecture, context and embedding length,
 * block count, parameters, quantization, and whether the file is as long as its tensors need.
 *
 * GGUF v2/v3 (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 metadata count;
 * metadata = string key, u32 type, value; strings are a u64 length + UTF-8; arrays are an element
 * type, a u64 count and the elements; then per tensor: name, u32 dims, u64 × dims (innermost
 * first), u32 ggml type, u64 offset into the data section, which starts at the next multiple
 * of `general.alignment` (default 32). Sizes are bounded so a hostile header cannot make the
 * reader allocate or loop without end.
 */
import { open, type FileHandle } from "node:fs/promises";

/** What the header says about a model. Lengths are null when the file does not say. */
export interface GgufInfo {
  version: number;
  architecture: string | null;
  /** `general.name`, when set. */
  name: string | null;
  context_length: number | null;
  embedding_length: number | null;
  block_count: number | null;
  head_count: number | null;
  vocab_size: number | null;
  /** Sum of every tensor's element count (exact for the file; "7B" and such are this, rounded). */
  parameters: number;
  /** `general.file_type` by name (e.g. "Q4_K_M"), else the ggml type most of the weights use. */
  quantization: string | null;
  tensor_count: number;
  has_chat_template: boolean;
  /** Bytes of header before the tensor data. */
  header_bytes: number;
}

/** The file is not a readable GGUF model; `message` is one line for a listing or an API error. */
export class GgufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GgufError";
  }
}

export const GGUF_MAGIC = "GGUF";

const MAX_HEADER_BYTES = 256 * 1024 * 1024;
const MAX_STRING = 64 * 1024 * 1024;
const MAX_COUNT = 1 << 28;
const MAX_TENSORS = 1 << 20;

/** ggml tensor types: [name, elements per block, bytes per block] (ggml.h, ggml-common.h). */
const GGML_TYPES: Record<number, [string, number, number]> = {
  0: ["F32", 1, 4],
  1: ["F16", 1, 2],
  2: ["Q4_0", 32, 18],
  3: ["Q4_1", 32, 20],
  6: ["Q5_0", 32, 22],
  7: ["Q5_1", 32, 24],
  8: ["Q8_0", 32, 34],
  9: ["Q8_1", 32, 36],
  10: ["Q2_K", 256, 84],
  11: ["Q3_K", 256, 110],
  12: ["Q4_K", 256, 144],
  13: ["Q5_K", 256, 176],
  14: ["Q6_K", 256, 210],
  15: ["Q8_K", 256, 292],
  16: ["IQ2_XXS", 256, 66],
  17: ["IQ2_XS", 256, 74],
  18: ["IQ3_XXS", 256, 98],
  19: ["IQ1_S", 256, 50],
  20: ["IQ4_NL", 32, 18],
  21: ["IQ3_S", 256, 110],
  22: ["IQ2_S", 256, 82],
  23: ["IQ4_XS", 256, 136],
  24: ["I8", 1, 1],
  25: ["I16", 1, 2],
  26: ["I32", 1, 4],
  27: ["I64", 1, 8],
  28: ["F64", 1, 8],
  29: ["IQ1_M", 256, 56],
  30: ["BF16", 1, 2],
  34: ["TQ1_0", 256, 54],
  35: ["TQ2_0", 256, 66],
  39: ["MXFP4", 32, 17],
};

/** llama.cpp's `llama_ftype` (general.file_type) by number. */
const FILE_TYPES: Record<number, string> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  19: "IQ2_XXS",
  20: "IQ2_XS",
  21: "Q2_K_S",
  22: "IQ3_XS",
  23: "IQ3_XXS",
  24: "IQ1_S",
  25: "IQ4_NL",
  26: "IQ3_S",
  27: "IQ3_M",
  28: "IQ2_S",
  29: "IQ2_M",
  30: "IQ4_XS",
  31: "IQ1_M",
  32: "BF16",
  36: "TQ1_0",
  37: "TQ2_0",
  38: "MXFP4_MOE",
};

/** Metadata value types (gguf.h) and the byte size of the fixed-size ones. */
const enum V {
  U8 = 0,
  I8,
  U16,
  I16,
  U32,
  I32,
  F32,
  BOOL,
  STRING,
  ARRAY,
  U64,
  I64,
  F64,
}
const FIXED: Record<number, number> = {
  [V.U8]: 1,
  [V.I8]: 1,
  [V.U16]: 2,
  [V.I16]: 2,
  [V.U32]: 4,
  [V.I32]: 4,
  [V.F32]: 4,
  [V.BOOL]: 1,
  [V.U64]: 8,
  [V.I64]: 8,
  [V.F64]: 8,
};

type Scalar = number | string | boolean;

/** Sequential reads through a buffer, refilled from the file as needed. */
class HeaderReader {
  private buf = Buffer.alloc(0);
  private start = 0; // file offset of buf[0]
  pos = 0; // file offset of the next byte to read

  constructor(
    private fh: FileHandle,
    readonly size: number,
  ) {}

  private async need(n: number): Promise<void> {
    if (this.pos + n > this.size) throw new GgufError(`header ends early: needs byte ${this.pos + n}, the file has ${this.size}`);
    if (this.pos + n > MAX_HEADER_BYTES) throw new GgufError(`header is larger than ${MAX_HEADER_BYTES} bytes`);
    if (this.pos + n <= this.start + this.buf.byteLength) return;
    const len = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
    const fresh = Buffer.alloc(len);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.fh.read(fresh, got, len - got, this.pos + got);
      if (bytesRead === 0) throw new GgufError("the file ended while reading its header");
      got += bytesRead;
    }
    this.buf = fresh.subarray(0, got);
    this.start = this.pos;
  }

  private async take(n: number): Promise<Buffer> {
    await this.need(n);
    const off = this.pos - this.start;
    this.pos += n;
    return this.buf.subarray(off, off + n);
  }

  async u32(): Promise<number> {
    return (await this.take(4)).readUInt32LE(0);
  }
  async u64(): Promise<number> {
    const v = (await this.take(8)).readBigUInt64LE(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(`value ${v} too large at byte ${this.pos - 8}`);
    return Number(v);
  }
  async string(): Promise<string> {
    const n = await this.u64();
    if (n > MAX_STRING) throw new GgufError(`string of ${n} bytes at byte ${this.pos - 8}`);
    return (await this.take(n)).toString("utf8");
  }
  async skip(n: number): Promise<void> {
    if (this.pos + n > this.size) throw new GgufError(`header ends early: needs byte ${this.pos + n}, the file has ${this.size}`);
    this.pos += n; // past the buffer, the next read refills from here
  }

  /** One scalar of type `t`. */
  async scalar(t: number): Promise<Scalar> {
    if (t === V.STRING) return this.string();
    const size = FIXED[t];
    if (size === undefined) throw new GgufError(`unknown metadata type ${t} at byte ${this.pos - 4}`);
    const b = await this.take(size);
    switch (t) {
      case V.U8:
        return b.readUInt8(0);
      case V.I8:
        return b.readInt8(0);
      case V.U16:
        return b.readUInt16LE(0);
      case V.I16:
        return b.readInt16LE(0);
      case V.U32:
        return b.readUInt32LE(0);
      case V.I32:
        return b.readInt32LE(0);
      case V.F32:
        return b.readFloatLE(0);
      case V.BOOL:
        return b.readUInt8(0) !== 0;
      case V.U64:
        return Number(b.readBigUInt64LE(0));
      case V.I64:
        return Number(b.readBigInt64LE(0));
      default:
        return b.readDoubleLE(0);
    }
  }
}

/**
 * Read the header of the GGUF file at `path`. Throws GgufError (one line) when the file is not
 * GGUF, its header is cut or malformed, or the file is shorter than its tensors need.
 *
 *   const info = await readGgufHeader("/home/me/.grove/models/llama-3.2-1b.Q4_K_M.gguf");
 *   info.architecture // "llama";  info.quantization // "Q4_K_M"
 */
export async function readGgufHeader(path: string): Promise<GgufInfo> {
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    const r = new HeaderReader(fh, size);
    if (size < 4) throw new GgufError("not a GGUF file (too short)");
    const magic = Buffer.alloc(4);
    await fh.read(magic, 0, 4, 0);
    if (magic.toString("latin1") !== GGUF_MAGIC) throw new GgufError("not a GGUF file (no GGUF magic)");
    r.pos = 4;
    const version = await r.u32();
    if (version < 2 || version > 3) throw new GgufError(`GGUF version ${version} is not supported (2 or 3 are)`);
    const tensorCount = await r.u64();
    const kvCount = await r.u64();
    if (tensorCount > MAX_TENSORS) throw new GgufError(`header claims ${tensorCount} tensors`);
    if (kvCount > MAX_COUNT) throw new GgufError(`header claims ${kvCount} metadata keys`);

    const meta = new Map<string, Scalar>();
    const arrayLengths = new Map<string, number>();
    for (let i = 0; i < kvCount; i++) {
      const key = await r.string();
      const type = await r.u32();
      if (type === V.ARRAY) {
        const elem = await r.u32();
        const count = await r.u64();
        if (count > MAX_COUNT) throw new GgufError(`array ${key} claims ${count} elements`);
        arrayLengths.set(key, count);
        if (elem === V.STRING) for (let j = 0; j < count; j++) await r.skip(await r.u64());
        else if (FIXED[elem] !== undefined) await r.skip(FIXED[elem]! * count);
        else throw new GgufError(`array ${key} has element type ${elem}, which this reader does not know`);
      } else {
        meta.set(key, await r.scalar(type));
      }
    }

    let parameters = 0;
    let dataEnd = 0;
    const bytesByType = new Map<number, number>();
    for (let i = 0; i < tensorCount; i++) {
      const name = await r.string();
      const nDims = await r.u32();
      if (nDims < 1 || nDims > 4) throw new GgufError(`tensor ${name} has ${nDims} dimensions`);
      let n = 1;
      for (let d = 0; d < nDims; d++) n *= await r.u64();
      const type = await r.u32();
      const offset = await r.u64();
      if (!Number.isSafeInteger(n)) throw new GgufError(`tensor ${name} is too large`);
      parameters += n;
      const t = GGML_TYPES[type];
      if (t) {
        const bytes = Math.ceil(n / t[1]) * t[2];
        dataEnd = Math.max(dataEnd, offset + bytes);
        if (nDims >= 2) bytesByType.set(type, (bytesByType.get(type) ?? 0) + bytes);
      }
    }
    const alignment = Number(meta.get("general.alignment") ?? 32) || 32;
    const headerBytes = Math.ceil(r.pos / alignment) * alignment;
    if (tensorCount > 0 && headerBytes + dataEnd > size) {
      throw new GgufError(`truncated: the file has ${size} bytes, its tensors need ${headerBytes + dataEnd}`);
    }

    const str = (k: string) => (typeof meta.get(k) === "string" ? (meta.get(k) as string) : null);
    const num = (k: string) => (typeof meta.get(k) === "number" ? (meta.get(k) as number) : null);
    const arch = str("general.architecture");
    const archNum = (k: string) => (arch ? num(`${arch}.${k}`) : null);
    const ftype = num("general.file_type");
    let quantization = ftype !== null ? (FILE_TYPES[ftype] ?? `file type ${ftype}`) : null;
    if (quantization === null && bytesByType.size) {
      const [top] = [...bytesByType.entries()].sort((a, b) => b[1] - a[1]);
      quantization = GGML_TYPES[top![0]]![0];
    }
    return {
      version,
      architecture: arch,
      name: str("general.name"),
      context_length: archNum("context_length"),
      embedding_length: archNum("embedding_length"),
      block_count: archNum("block_count"),
      head_count: archNum("attention.head_count"),
      vocab_size: arrayLengths.get("tokenizer.ggml.tokens") ?? archNum("vocab_size"),
      parameters,
      quantization,
      tensor_count: tensorCount,
      has_chat_template: meta.has("tokenizer.chat_template"),
      header_bytes: headerBytes,
    };
  } finally {
    await fh.close();
  }
}
