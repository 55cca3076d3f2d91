/**
 * @module ai/llama-assets — which llama.cpp files this program carries. From source: none
 * (node-llama-cpp and its platform binaries are read from node_modules). In an executable made
 * by build.ts, this whole module is replaced (src/build/llama-embed.ts) by one that embeds the
 * target's `@node-llama-cpp/<platform>` package and the two JSON files node-llama-cpp reads, or,
 * when that package was not installed at build time, says why local inference is not in the build.
 */

/** One embedded file: where it goes under the unpack folder, and where the executable holds it. */
export interface LlamaAsset {
  /** Path under the unpack folder, as under node_modules ("@node-llama-cpp/linux-x64/bins/…"). */
  rel: string;
  /** The embedded file (a /$bunfs/… path inside the executable). */
  src: string;
  bytes: number;
}

export type LlamaAssets =
  | {
      kind: "embedded";
      /** The grove target ("linux-x64"). */
      target: string;
      /** The binaries package ("@node-llama-cpp/linux-x64"). */
      package: string;
      /** node-llama-cpp's version (the binaries package has the same one). */
      version: string;
      /** Names the unpack folder: package, version and a digest of every file's content. */
      key: string;
      files: LlamaAsset[];
    }
  | {
      kind: "absent";
      target: string;
      /** Why: e.g. "@node-llama-cpp/mac-arm64-metal was not installed where this build was made". */
      reason: string;
    };

/** null: not an executable made by build.ts (node-llama-cpp comes from node_modules). */
export const LLAMA_ASSETS: LlamaAssets | null = null;
