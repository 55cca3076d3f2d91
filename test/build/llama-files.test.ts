/**
 * The parts of local inference inside the executable that need no executable: what build.ts
 * embeds per target (build/llama-embed, read from this node_modules), and unpacking embedded
 * files into a folder once (ai/llama-unpack): reuse, repair, tidying, and the error when the
 * folder cannot be written. The executable itself is driven in binary.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LlamaAsset } from "../../src/ai/llama-assets.ts";
import { localInferenceMissing, notInThisBuild } from "../../src/ai/llama-availability.ts";
import { prepareLlamaFiles } from "../../src/ai/llama-lib.ts";
import { LlamaUnpackError, unpackLlama } from "../../src/ai/llama-unpack.ts";
import { LLAMA_PACKAGES, assetsModule, planLlamaEmbed } from "../../src/build/llama-embed.ts";
import { ROOT } from "../helpers/cell.ts";

const tmp = mkdtempSync(join(tmpdir(), "grove-llama-files-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Two real source files standing for the embedded ones. */
function sources(name: string): LlamaAsset[] {
  const dir = join(tmp, `src-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "a.node"), "native addon bytes");
  writeFileSync(join(dir, "meta.json"), '{"release":"v0"}');
  return [
    { rel: "@node-llama-cpp/x/bins/x/a.node", src: join(dir, "a.node"), bytes: 18 },
    { rel: "node-llama-cpp/llama/meta.json", src: join(dir, "meta.json"), bytes: 16 },
  ];
}

describe("what each target's executable carries", () => {
  test("this machine's target: its binaries package and node-llama-cpp's two JSON files, under a content key", () => {
    const host = `${process.platform}-${process.arch}`;
    const plan = planLlamaEmbed(ROOT, host);
    if (!existsSync(join(ROOT, "node_modules", LLAMA_PACKAGES[host] ?? "none"))) return expect(plan.kind).toBe("absent");
    expect(plan.kind).toBe("embedded");
    if (plan.kind !== "embedded") return;
    const rels = plan.files.map((f) => f.rel);
    expect(rels).toContain("node-llama-cpp/package.json");
    expect(rels).toContain("node-llama-cpp/llama/binariesGithubRelease.json");
    expect(rels).toContain(`${plan.package}/package.json`);
    expect(rels.some((r) => r.startsWith(`${plan.package}/bins/`) && r.endsWith("/llama-addon.node"))).toBe(true);
    expect(plan.key).toMatch(/^[a-z0-9-]+-\d+\.\d+\.\d+-[0-9a-f]{16}$/);
    expect(planLlamaEmbed(ROOT, host)).toEqual(plan); // the same files give the same key
    const src = assetsModule(plan);
    expect(src).toContain('with { type: "file" }');
    expect(src).toContain(plan.key);
  });

  test("a target whose package is not installed is built without local inference, and says why", async () => {
    for (const target of ["darwin-arm64", "darwin-x64", "linux-x64", "linux-arm64"]) {
      const plan = planLlamaEmbed(ROOT, target);
      const installed = existsSync(join(ROOT, "node_modules", LLAMA_PACKAGES[target]!, "package.json"));
      expect(plan.kind).toBe(installed ? "embedded" : "absent");
      if (plan.kind === "absent") {
        expect(plan.reason).toContain(LLAMA_PACKAGES[target]!);
        expect(assetsModule(plan)).toContain('"kind":"absent"');
        await expect(prepareLlamaFiles(plan, join(tmp, "unused"))).rejects.toThrow(notInThisBuild(plan));
        expect(notInThisBuild(plan)).toContain("Ollama or a friend's cell still answer");
        expect(localInferenceMissing({ kind: "absent", target, reason: plan.reason })).toBe(notInThisBuild(plan));
      }
    }
    expect(planLlamaEmbed(ROOT, "windows-x64")).toMatchObject({ kind: "absent" });
    expect(localInferenceMissing(null)).toBeNull(); // from source: node_modules decides
  });
});

describe("unpacking the embedded files", () => {
  test("the first call unpacks; the next reuses without reading the sources", async () => {
    const base = join(tmp, "cache1");
    const files = sources("1");
    const first = await unpackLlama(base, "k1", files);
    expect(first.unpacked).toBe(true);
    expect(first.dir).toBe(join(base, "k1"));
    expect(readFileSync(join(first.dir, files[0]!.rel), "utf8")).toBe("native addon bytes");
    expect(JSON.parse(readFileSync(join(first.dir, ".grove-llama.json"), "utf8"))).toMatchObject({ key: "k1", files: 2 });
    const again = await unpackLlama(base, "k1", files, () => {
      throw new Error("must not copy: the unpacked files are reused");
    });
    expect(again).toMatchObject({ dir: first.dir, unpacked: false });
    expect(readdirSync(base)).toEqual(["k1"]); // no temp folder left
  });

  test("a damaged unpacking is replaced; another key's folder and stale temp folders are removed", async () => {
    const base = join(tmp, "cache2");
    const files = sources("2");
    await unpackLlama(base, "old", files);
    const { dir } = await unpackLlama(base, "new", files);
    expect(readdirSync(base).sort()).toEqual(["new"]); // the older build's folder went
    truncateSync(join(dir, files[0]!.rel), 3);
    const stale = join(base, ".tmp-new-crashed");
    mkdirSync(stale);
    utimesSync(stale, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    const again = await unpackLlama(base, "new", files);
    expect(again.unpacked).toBe(true);
    expect(readFileSync(join(dir, files[0]!.rel), "utf8")).toBe("native addon bytes");
    expect(readdirSync(base)).toEqual(["new"]);
  });

  test("a folder that cannot be written gives one clear error and leaves nothing behind", async () => {
    const files = sources("3");
    const blocked = join(tmp, "blocked");
    writeFileSync(blocked, "a file where the cache folder should be");
    let err: unknown;
    try {
      await unpackLlama(join(blocked, "llama"), "k", files);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LlamaUnpackError);
    expect((err as Error).message).toContain(`unpacked once into ${join(blocked, "llama", "k")}`);
    expect((err as Error).message).toContain("a file is in the way of a folder");

    // A source that does not match what the build recorded (a damaged executable): no half folder.
    const base = join(tmp, "cache3");
    const short = (_f: LlamaAsset, dest: string) => Bun.write(dest, "12345");
    await expect(unpackLlama(base, "k", files, short)).rejects.toThrow(/has 5 bytes, not 18/);
    expect(readdirSync(base)).toEqual([]);
  });
});
