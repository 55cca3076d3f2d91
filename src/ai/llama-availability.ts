/**
 * @module ai/llama-availability — can this program run local models itself? Answered from
 * ai/llama-assets alone, without loading node-llama-cpp, so the cell can tell before asking its
 * model host: an executable built without its platform's llama.cpp binaries lists its model
 * files as unusable (and offers none to friends) with the reason, instead of failing each question.
 */
import { LLAMA_ASSETS, type LlamaAssets } from "./llama-assets.ts";

/** The message of an executable that carries no llama.cpp binaries. */
export function notInThisBuild(assets: Extract<LlamaAssets, { kind: "absent" }>): string {
  return `local inference is not in this build of grove (${assets.target}: ${assets.reason}); models from Ollama or a friend's cell still answer`;
}

/** Why this program cannot run local models, or null when it can (from source: node_modules decides). */
export function localInferenceMissing(assets: LlamaAssets | null = LLAMA_ASSETS): string | null {
  return assets?.kind === "absent" ? notInThisBuild(assets) : null;
}
