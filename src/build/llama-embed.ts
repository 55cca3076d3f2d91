/**
 * @module build/llama-embed — build.ts's part for local inference inside an executable: which
 * llama.cpp files a target carries, and the Bun.build plugin that puts them in.
 *
 * For a target whose `@node-llama-cpp/<platform>` package is installed (with node-llama-cpp's
 * own version), the plugin
 *  - replaces src/ai/llama-assets.ts with a module that embeds, as file assets, that package's
 *    package.json and bins/ folder plus node-llama-cpp's package.json and
 *    llama/binariesGithubRelease.json (all node-llama-cpp reads from its own folder when it
 *    loads a prebuilt binary), each with its path under node_modules, its size and a key
 *    naming the set (package, version, content digest);
 *  - rewrites `import.meta.url` in node-llama-cpp's modules and the package's to
 *    `globalThis.__groveLlamaUrl("<path under node_modules>")`, answered at run time with
 *    the folder those files were unpacked into (ai/llama-lib, ai/llama-unpack);
 *  - replaces every other `@node-llama-cpp/*` package (node-llama-cpp imports each platform's
 *    by name) with a module that throws, which node-llama-cpp takes as "not installed".
 * For a target whose package is missing, llama-assets says so (the executable then answers
 * that local inference is not in this build) and node-llama-cpp itself is left out.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { BunPlugin } from "bun";
import type { LlamaAssets } from "../ai/llama-assets.ts";

/** The prebuilt-binaries package node-llama-cpp loads on each grove target (without a GPU, except Metal). */
export const LLAMA_PACKAGES: Record<string, string> = {
  "linux-x64": "@node-llama-cpp/linux-x64",
  "linux-arm64": "@node-llama-cpp/linux-arm64",
  "darwin-arm64": "@node-llama-cpp/mac-arm64-metal", // the only macOS arm64 prebuilt: Metal
  "darwin-x64": "@node-llama-cpp/mac-x64",
};

/** One file to embed: its path on this machine and under node_modules (= under the unpack folder). */
export interface EmbedFile {
  abs: string;
  rel: string;
  bytes: number;
}

export type LlamaEmbedPlan =
  | { kind: "embedded"; target: string; package: string; version: string; key: string; files: EmbedFile[] }
  | { kind: "absent"; target: string; reason: string };

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

const version = (pkgJson: string) => (JSON.parse(readFileSync(pkgJson, "utf8")) as { version?: string }).version ?? "?";

/** What `target`'s executable carries for local inference, from what is installed under `root`/node_modules. */
export function planLlamaEmbed(root: string, target: string): LlamaEmbedPlan {
  const nm = join(root, "node_modules");
  const pkg = LLAMA_PACKAGES[target];
  if (!pkg) return { kind: "absent", target, reason: "node-llama-cpp has no prebuilt binaries grove knows for this platform" };
  const core = join(nm, "node-llama-cpp");
  if (!existsSync(join(core, "package.json")))
    return { kind: "absent", target, reason: "node-llama-cpp was not installed where this build was made" };
  const pkgDir = join(nm, pkg);
  if (!existsSync(join(pkgDir, "package.json")) || !existsSync(join(pkgDir, "bins"))) {
    return { kind: "absent", target, reason: `${pkg} was not installed where this build was made` };
  }
  const v = version(join(core, "package.json"));
  const pv = version(join(pkgDir, "package.json"));
  if (pv !== v) return { kind: "absent", target, reason: `${pkg} ${pv} does not match node-llama-cpp ${v}` };

  const abs = [
    join(core, "package.json"),
    join(core, "llama", "binariesGithubRelease.json"),
    join(pkgDir, "package.json"),
    ...filesUnder(join(pkgDir, "bins")),
  ];
  const hasher = new Bun.CryptoHasher("sha256");
  const files = abs.map((p) => {
    const rel = relative(nm, p).split(sep).join("/");
    const data = readFileSync(p);
    hasher.update(`${rel}\0${data.byteLength}\0`);
    hasher.update(data);
    return { abs: p, rel, bytes: data.byteLength };
  });
  const key = `${pkg.replace("@node-llama-cpp/", "")}-${v}-${hasher.digest("hex").slice(0, 16)}`;
  return { kind: "embedded", target, package: pkg, version: v, key, files };
}

/** The source that replaces src/ai/llama-assets.ts in the executable. */
export function assetsModule(plan: LlamaEmbedPlan): string {
  if (plan.kind === "absent") {
    const value: LlamaAssets = { kind: "absent", target: plan.target, reason: plan.reason };
    return `export const LLAMA_ASSETS = ${JSON.stringify(value)};\n`;
  }
  const imports = plan.files.map((f, i) => `import f${i} from ${JSON.stringify(f.abs)} with { type: "file" };`);
  const list = plan.files.map((f, i) => `{ rel: ${JSON.stringify(f.rel)}, src: f${i}, bytes: ${f.bytes} }`);
  const head = { kind: "embedded", target: plan.target, package: plan.package, version: plan.version, key: plan.key };
  return [...imports, `export const LLAMA_ASSETS = { ...${JSON.stringify(head)}, files: [\n  ${list.join(",\n  ")}\n] };`, ""].join("\n");
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** The Bun.build plugin for `plan` (see the module comment). */
export function llamaPlugin(root: string, plan: LlamaEmbedPlan): BunPlugin {
  const nm = join(root, "node_modules");
  const assetsFile = join(root, "src", "ai", "llama-assets.ts");
  const keep = plan.kind === "embedded" ? plan.package : null;
  return {
    name: "grove-llama-embed",
    setup(b) {
      b.onLoad({ filter: new RegExp(`^${escape(assetsFile)}$`) }, () => ({ contents: assetsModule(plan), loader: "js" }));

      b.onResolve({ filter: /^@node-llama-cpp\// }, (args) => {
        if (args.path === keep) return undefined; // default resolution: bundled, and its bins embedded
        return { path: args.path, namespace: "grove-absent-llama" };
      });
      if (!keep) b.onResolve({ filter: /^node-llama-cpp$/ }, (args) => ({ path: args.path, namespace: "grove-absent-llama" }));
      b.onLoad({ filter: /.*/, namespace: "grove-absent-llama" }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} is not in this build of grove`)});`,
        loader: "js",
      }));

      // node-llama-cpp's modules and the kept package's: their own location becomes the unpack folder's.
      const mine = new RegExp(
        `^${escape(nm + sep)}(node-llama-cpp|@node-llama-cpp${escape(sep)}[^${escape(sep)}]+)${escape(sep)}dist${escape(sep)}.*\\.js$`,
      );
      b.onLoad({ filter: mine }, async (args) => {
        const text = await Bun.file(args.path).text();
        const rel = relative(nm, args.path).split(sep).join("/");
        return { contents: text.replaceAll("import.meta.url", `globalThis.__groveLlamaUrl(${JSON.stringify(rel)})`), loader: "js" };
      });
    },
  };
}
