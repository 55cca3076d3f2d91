/**
 * @module ai/llm-entry — how this program reaches the model host's code (ai/llm-host, which
 * loads node-llama-cpp). Inside an executable made by build.ts the host is a separate entry
 * point stored flat as /$bunfs/root/llm-host.js, so the bundle every other command loads (the
 * cell, the CLI) does not carry node-llama-cpp: that would cost each start ~30 ms and ~10 MB.
 * From source it is simply the module beside this one.
 */
import { isCompiled } from "../core/build-info.ts";

export type LlmHostModule = typeof import("./llm-host.ts");

/** Import the model host's module (the computed specifier keeps the bundler from inlining it). */
export async function loadLlmHost(): Promise<LlmHostModule> {
  const spec = isCompiled() ? new URL("./llm-host.js", import.meta.url).href : "./llm-host.ts";
  return (await import(spec)) as LlmHostModule;
}
