/**
 * @module ai/llama-lib — node-llama-cpp for this program, from source or inside the executable.
 *
 * From source it is imported from node_modules as usual. Inside an executable made by build.ts
 * node-llama-cpp's code is bundled, but llama.cpp's shared libraries cannot be loaded from the
 * executable, and node-llama-cpp finds its files next to its own modules (`import.meta.url`). So:
 *  1. the files the build embedded (ai/llama-assets) are unpacked once into GROVE_DIR/llama/<key>
 *     (ai/llama-unpack), laid out as under node_modules;
 *  2. the build rewrote every `import.meta.url` in node-llama-cpp to `__groveLlamaUrl("<path
 *     under node_modules>")`, which this module answers with that path inside the unpack folder;
 *  3. node-llama-cpp checks a prebuilt binary in a child process before loading it: it forks its
 *     own testBindingBinary.js, which inside the executable means running grove again with
 *     TEST_BINDING_CP=true and an IPC channel. src/cli.ts sends that child to runBindingTestChild,
 *     which points node-llama-cpp at the same folder (GROVE_LLAMA_ROOT) and imports it: the
 *     module's own child code then answers the parent.
 * An executable built without its platform's binaries says so (ai/llama-availability): local
 * inference is not in that build; Ollama and friends' models still answer.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { isCompiled } from "../core/build-info.ts";
import { resolveLayout } from "../core/layout.ts";
import { LLAMA_ASSETS, type LlamaAssets } from "./llama-assets.ts";
import { notInThisBuild } from "./llama-availability.ts";
import { unpackLlama, type UnpackResult } from "./llama-unpack.ts";

export type NodeLlamaCpp = typeof import("node-llama-cpp");

/** Set for the binding-test child: the unpack folder its parent uses. */
const ROOT_ENV = "GROVE_LLAMA_ROOT";

type UrlHook = (rel: string) => string;
const hooks = globalThis as typeof globalThis & { __groveLlamaUrl?: UrlHook };

/** Point the rewritten `import.meta.url`s of node-llama-cpp at `root`. */
function pointAt(root: string): void {
  process.env[ROOT_ENV] = root;
  hooks.__groveLlamaUrl = (rel) => pathToFileURL(join(root, rel)).href;
}

/** Where an executable unpacks its llama.cpp files: GROVE_DIR/llama. */
export function llamaCacheBase(env: Record<string, string | undefined> = process.env): string {
  return join(resolveLayout(env).dir, "llama");
}

/**
 * The unpacked files, or null from source. Unpacks on first use; throws LlamaUnpackError when
 * that fails, or an Error when this build has no llama.cpp binaries.
 */
export async function prepareLlamaFiles(assets: LlamaAssets | null = LLAMA_ASSETS, base = llamaCacheBase()): Promise<UnpackResult | null> {
  if (!assets) return null;
  if (assets.kind === "absent") throw new Error(notInThisBuild(assets));
  return unpackLlama(base, assets.key, assets.files);
}

/**
 * Load node-llama-cpp (unpacking its files first inside the executable). `onUnpack` hears where
 * the files are and whether they were unpacked now or reused.
 */
export async function loadNodeLlamaCpp(onUnpack?: (r: UnpackResult) => void): Promise<NodeLlamaCpp> {
  if (isCompiled() && !LLAMA_ASSETS) throw new Error("this executable was not built by build.ts: it has no llama.cpp files");
  const files = await prepareLlamaFiles();
  if (files) {
    pointAt(files.dir);
    onUnpack?.(files);
  }
  try {
    return await import("node-llama-cpp");
  } catch (e) {
    throw new Error(`node-llama-cpp is not available to this program (${(e as Error).message.split("\n")[0]})`);
  }
}

/**
 * The gpu option for getLlama: node-llama-cpp's only prebuilt binaries for macOS on Apple
 * silicon are the Metal ones (@node-llama-cpp/mac-arm64-metal); everywhere else the CPU build.
 */
export function llamaGpu(): "metal" | false {
  return process.platform === "darwin" && process.arch === "arm64" ? "metal" : false;
}

/**
 * Be node-llama-cpp's binary-test child (TEST_BINDING_CP=true and an IPC channel; src/cli.ts
 * checks both): importing node-llama-cpp runs its testBindingBinary module, which then says
 * "ready", loads the binary when asked, tests it and exits when the parent says so. Resolves
 * once that code is listening.
 */
export async function runBindingTestChild(): Promise<void> {
  const root = process.env[ROOT_ENV];
  if (isCompiled()) {
    if (!root) throw new Error(`node-llama-cpp's binary test child started without ${ROOT_ENV}`);
    pointAt(root);
  }
  await import("node-llama-cpp");
}
