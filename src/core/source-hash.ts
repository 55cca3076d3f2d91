/**
 * @module core/source-hash — the build hash: SHA-256 over the sources that make the bundle.
 *
 * build.ts computes it and bakes it into each executable; a cell run from source computes
 * the same value from the same files, so identical code always reports an identical hash.
 * Build time is derived from the content too (never from file mtimes).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { sha256 } from "./sha256.ts";

/** Folders and files whose content defines a build. */
export const BUILD_INPUTS = ["src", "views", "public", "package.json", "bun.lock", "package-lock.json"];

function walk(root: string, p: string, out: string[]): void {
  let st;
  try {
    st = statSync(p);
  } catch {
    return;
  }
  if (st.isDirectory()) {
    for (const e of readdirSync(p).sort()) walk(root, join(p, e), out);
  } else if (st.isFile()) {
    out.push(relative(root, p));
  }
}

/** Hex SHA-256 over (path, length, bytes) of every build input under `root`. */
export function sourceHash(root: string): string {
  const files: string[] = [];
  for (const i of BUILD_INPUTS) walk(root, join(root, i), files);
  const h = sha256();
  for (const f of files.sort()) {
    const data = readFileSync(join(root, f));
    h.update(`${f}\0${data.byteLength}\0`);
    h.update(data);
  }
  return h.digest("hex");
}
