/** @module core/build-info — version and build hash of this program, baked in by build.ts. */
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { sourceHash } from "./source-hash.ts";

declare const GROVE_BUILD_HASH: string | undefined;
declare const GROVE_BUILD_TARGET: string | undefined;
declare const GROVE_BUILD_TIME: string | undefined;

export const VERSION: string = pkg.version;

let cached: string | undefined;

/** The build hash: baked into compiled executables; computed from the sources otherwise. */
export function buildHash(): string {
  if (cached) return cached;
  cached = typeof GROVE_BUILD_HASH === "string" ? GROVE_BUILD_HASH : sourceHash(join(import.meta.dir, "..", ".."));
  return cached;
}

/** True inside a `bun build --compile` executable. */
export function isCompiled(): boolean {
  return typeof GROVE_BUILD_HASH === "string";
}

/**
 * The command that runs this grove again (a child of the same build): the executable itself when
 * compiled, else Bun with src/cli.ts. Append the subcommand and its arguments.
 */
export function selfCommand(): string[] {
  if (isCompiled()) return [process.execPath];
  return [process.execPath, join(import.meta.dir, "..", "cli.ts")];
}

export function buildTarget(): string {
  return typeof GROVE_BUILD_TARGET === "string" ? GROVE_BUILD_TARGET : `${process.platform}-${process.arch}, from source`;
}

/** When this build was made (ISO-8601 UTC, derived from the sources by build.ts); null from source. */
export function buildTime(): string | null {
  return typeof GROVE_BUILD_TIME === "string" ? GROVE_BUILD_TIME : null;
}
