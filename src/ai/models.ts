/**
 * @module ai/models — the model files of this cell: `.gguf` files in GROVE_DIR/models. Lists
 * them with what their GGUF header says (a file that cannot be read is listed with its error),
 * saves uploads (streamed to a temp file beside the target, GGUF magic checked, fsynced,
 * renamed) and removes them. A model's name is its file name.
 */
import { readdirSync, statSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDir, tempPathFor } from "../core/atomic.ts";
import { badRequest, notFound, tooLarge } from "../core/errors.ts";
import { GGUF_MAGIC, readGgufHeader, type GgufInfo } from "./gguf.ts";

/** One model file as listed: `info` when its header reads, else `error`. */
export interface ModelEntry {
  name: string;
  size: number;
  modified_at: number;
  info: GgufInfo | null;
  error: string | null;
}

const NAME_MAX = 200;

/** Check a model name from a user: a plain file name ending in .gguf. Throws 400 otherwise. */
export function checkModelName(name: string): string {
  if (!name.endsWith(".gguf") || name.length <= 5) throw badRequest(`model name must end in .gguf: ${JSON.stringify(name)}`);
  if (name.length > NAME_MAX) throw badRequest(`model name is longer than ${NAME_MAX} characters`);
  if (/[/\\]/.test(name)) throw badRequest("model name may not contain a path separator");
  if (name.startsWith(".")) throw badRequest("model name may not start with '.'");
  if (/[\x00-\x1f\x7f]/.test(name)) throw badRequest("model name may not contain control characters");
  return name;
}

export class ModelDir {
  /** Header reads by name, valid while size and mtime stay the same. */
  private cache = new Map<string, { size: number; mtime: number; entry: ModelEntry }>();

  constructor(readonly dir: string) {}

  /** Every `.gguf` file, by name. Temp files of uploads in progress (dot files) are not listed. */
  async list(): Promise<ModelEntry[]> {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(".gguf") && !n.startsWith("."));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    const out: ModelEntry[] = [];
    for (const name of names.sort()) {
      const e = await this.entry(name).catch(() => null);
      if (e) out.push(e);
    }
    return out;
  }

  /** One model (404 when absent). */
  async get(name: string): Promise<ModelEntry> {
    checkModelName(name);
    const e = await this.entry(name).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return null;
      throw err;
    });
    if (!e) throw notFound(`no model named ${name} (see GET /api/models)`);
    return e;
  }

  /** Absolute path of a model file. */
  path(name: string): string {
    return join(this.dir, checkModelName(name));
  }

  private async entry(name: string): Promise<ModelEntry> {
    const st = statSync(join(this.dir, name));
    if (!st.isFile()) throw Object.assign(new Error("not a file"), { code: "ENOENT" });
    const hit = this.cache.get(name);
    if (hit && hit.size === st.size && hit.mtime === st.mtimeMs) return hit.entry;
    let info: GgufInfo | null = null;
    let error: string | null = null;
    try {
      info = await readGgufHeader(join(this.dir, name));
    } catch (e) {
      error = (e as Error).message;
    }
    const entry: ModelEntry = { name, size: st.size, modified_at: Math.round(st.mtimeMs), info, error };
    this.cache.set(name, { size: st.size, mtime: st.mtimeMs, entry });
    return entry;
  }

  /**
   * Save an uploaded model as `name` (replacing one of that name). The body streams to a temp
   * file in the models folder; the first bytes must be the GGUF magic and the whole at most
   * `maxBytes`, else the upload is refused and the temp file removed. Fsynced, then renamed.
   */
  async save(name: string, body: ReadableStream<Uint8Array>, maxBytes: number): Promise<ModelEntry> {
    const final = this.path(name);
    const tmp = tempPathFor(final);
    const fh = await open(tmp, "wx", 0o600);
    let size = 0;
    let head = Buffer.alloc(0);
    try {
      for await (const piece of body as unknown as AsyncIterable<Uint8Array>) {
        size += piece.byteLength;
        if (size > maxBytes) throw tooLarge(`model upload is larger than the limit (${maxBytes} bytes)`);
        if (head.byteLength < 4) {
          head = Buffer.concat([head, piece.subarray(0, 4 - head.byteLength)]);
          if (head.byteLength === 4 && head.toString("latin1") !== GGUF_MAGIC)
            throw badRequest("not a GGUF model (the file does not start with GGUF)");
        }
        let off = 0;
        while (off < piece.byteLength) off += (await fh.write(piece, off, piece.byteLength - off)).bytesWritten;
      }
      if (head.byteLength < 4) throw badRequest("not a GGUF model (the upload is empty or too short)");
      await fh.sync();
      await fh.close();
    } catch (e) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw e;
    }
    await rename(tmp, final);
    fsyncDir(this.dir);
    return this.get(name);
  }

  /** Delete a model file (404 when absent). */
  async remove(name: string): Promise<void> {
    try {
      await unlink(this.path(name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw notFound(`no model named ${name}`);
      throw e;
    }
    this.cache.delete(name);
    fsyncDir(this.dir);
  }
}
