/**
 * core/confine (a path from data stays inside its folder), core/relative-path (the one path
 * rule, shared by GROVE_HOME paths and manifests), and manifest file names that fit 255 bytes.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { confinedPath } from "../../src/core/confine.ts";
import { relativePathProblem } from "../../src/core/relative-path.ts";
import { isTempName, tempPathFor } from "../../src/core/atomic.ts";
import { ManifestSchema, manifestFileName, manifestRelPath } from "../../src/store/manifest.ts";

const root = "/srv/grove/manifests";
const bytes = (s: string) => new TextEncoder().encode(s).byteLength;

describe("confinedPath", () => {
  test("inside: resolved under the root", () => {
    expect(confinedPath(root, "docs/a.txt.12345678.json")).toBe(join(root, "docs/a.txt.12345678.json"));
    expect(confinedPath(root + "/", "a")).toBe(join(root, "a"));
    expect(confinedPath(root, "a/../b")).toBe(join(root, "b"));
  });

  for (const bad of ["../../.config/x", "..", ".", "a/../../x", "/etc/passwd", "", "a\0b", "docs/../../manifests-evil/x"]) {
    test(`refuses ${JSON.stringify(bad)} with a 400 that does not name the root`, () => {
      let err: unknown;
      try {
        confinedPath(root, bad);
      } catch (e) {
        err = e;
      }
      expect((err as { status?: number })?.status).toBe(400);
      expect((err as Error).message).not.toContain(root);
    });
  }
});

describe("relativePathProblem", () => {
  test("the rules of safePath, without the reserved names", () => {
    expect(relativePathProblem("a/b.txt")).toBeNull();
    expect(relativePathProblem(".grove-upload-x")).toBeNull();
    expect(relativePathProblem("../../evil")).toMatch(/'\.\.'/);
    expect(relativePathProblem("a/./b")).toMatch(/'\.'/);
    expect(relativePathProblem("/abs")).toMatch(/absolute/);
    expect(relativePathProblem("a\\b")).toMatch(/backslash/);
    expect(relativePathProblem("a\u0007b")).toMatch(/control/);
    expect(relativePathProblem("a/")).toMatch(/empty segment/);
    expect(relativePathProblem("x".repeat(256))).toMatch(/255 bytes/);
    expect(relativePathProblem(("d".repeat(200) + "/").repeat(6) + "f")).toMatch(/1024/);
    expect(relativePathProblem(42)).toMatch(/empty/);
  });

  test("a manifest whose source_path breaks them does not parse", () => {
    const m = {
      format: 1,
      filename: "evil",
      source_path: "../../evil",
      total_size: 0,
      file_hash: "ab".repeat(32),
      chunks: [],
      encryption: { cipher: "chacha20-poly1305-ietf", kdf: "hkdf-sha256", kdf_info: "x", nonce: "chunk-index-96-be", chunk_size: 4194304 },
      version: 1,
      created_at: new Date().toISOString(),
      synced_at: null,
      owner: "cd".repeat(32),
    };
    expect(ManifestSchema.safeParse(m).success).toBe(false);
    expect(ManifestSchema.safeParse({ ...m, source_path: "ok/evil" }).success).toBe(true);
  });
});

describe("manifest file names", () => {
  const hash = "0123456789abcdef".repeat(4);
  test("readable where it fits", () => {
    expect(manifestRelPath("docs/a.txt", hash)).toBe("docs/a.txt.01234567.json");
    expect(manifestRelPath("a.txt", hash, true)).toBe(`a.txt.${hash}.json`);
  });

  test("names of up to 255 bytes (ASCII and multi-byte) give names of at most 255 bytes, distinct and stable", () => {
    const names = ["x".repeat(241), "x".repeat(255), "x".repeat(254) + "y", "é".repeat(127) + "x", "😀".repeat(63) + "abc"];
    const seen = new Set<string>();
    for (const n of names) {
      for (const full of [false, true]) {
        const f = manifestFileName(n, full ? hash : hash.slice(0, 8));
        expect(bytes(f)).toBeLessThanOrEqual(255);
        expect(f).toBe(manifestFileName(n, full ? hash : hash.slice(0, 8)));
        expect(f.endsWith(`.${full ? hash : hash.slice(0, 8)}.json`)).toBe(true);
        expect(f.startsWith(n.slice(0, 40))).toBe(true);
        expect(() => new TextDecoder("utf-8", { fatal: true }).decode(new TextEncoder().encode(f))).not.toThrow();
        seen.add(f);
      }
    }
    expect(seen.size).toBe(names.length * 2);
    expect(manifestFileName("x".repeat(241), "01234567")).toBe("x".repeat(241) + ".01234567.json"); // exactly 255: kept
  });
});

describe("temp names", () => {
  test("short whatever the target, recognised, never a 255-byte name plus a suffix", () => {
    const t = tempPathFor(join("/x", "é".repeat(127) + "x"));
    const name = t.split("/").pop()!;
    expect(name).toMatch(/^\.grove-tmp-[0-9a-f]{16}$/);
    expect(isTempName(name)).toBe(true);
    expect(isTempName(name, false)).toBe(true);
    expect(isTempName(".notes.txt.tmp-0a0b0c")).toBe(true); // an earlier build's
    expect(isTempName(".notes.txt.tmp-0a0b0c", false)).toBe(false);
    expect(isTempName("notes.txt")).toBe(false);
  });
});
