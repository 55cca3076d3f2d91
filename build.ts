#!/usr/bin/env bun
/**
 * build.ts — single-file `grove` executables (`npm run build` = `bun build.ts`).
 *
 *   bun build.ts                         dist/grove (this machine) + dist/grove-<target> for every target
 *   bun build.ts --only host             just dist/grove (what the tests use)
 *   bun build.ts --targets linux-x64,darwin-arm64[,host]
 *   bun build.ts --sign-key release.key  also sign each executable (or env GROVE_RELEASE_KEY=hex|path)
 *   bun build.ts --out-dir DIR           write into DIR instead of dist/
 *
 * Every executable is self-contained: the Bun runtime, the bundled code (views and public
 * assets are imported as modules, SQL migrations as text), the crypto and sync Workers, that
 * platform's libsodium addon and llama.cpp binaries. It runs from any directory with no
 * node_modules around it.
 *
 * Baked in with `define`: GROVE_BUILD_HASH (sourceHash of the project, see core/source-hash.ts),
 * GROVE_BUILD_TARGET (e.g. "linux-x64") and GROVE_BUILD_TIME; `grove --version` prints all three.
 * The build time comes from the content, never from the clock or file mtimes, so two builds of
 * the same sources are identical: SOURCE_DATE_EPOCH when set (reproducible-builds convention),
 * else the time of the last git commit touching the build inputs.
 *
 * Signing (self-update, update/release-sig): with a release key, each executable gets
 * `<executable>.sig.json` beside it (dist/grove-<target>.sig.json, dist/grove.sig.json for the
 * host build): {v, target, build, build_time, size, sha256, key, signature}. A cell started from
 * an executable with a valid sig.json beside it offers that executable to its peers.
 *
 * For tests only: GROVE_BUILD_SALT changes the build hash of otherwise identical sources, and
 * GROVE_BUILD_FAULT=crash-on-start bakes in a `grove start` that exits 1 at once, hang-on-start one
 * that stops answering once listening (update/lifecycle).
 *
 * Two arrangements matter and are easy to break:
 *  - The Workers (crypto, sync; same arrangement). src/ingest/crypto-pool.ts starts `new URL("./crypto-worker.ts",
 *    import.meta.url)`. Inside an executable every module's import.meta.url is the bundle's
 *    (`file:///$bunfs/root/<outfile name>`), and an extra entry point is stored under its path
 *    relative to the entry points' common folder, with a .js extension (by default
 *    `/$bunfs/root/ingest/crypto-worker.js`). `naming.entry = "[name].[ext]"` stores it flat, as
 *    `/$bunfs/root/crypto-worker.js`, which is exactly where that URL points (Bun maps the
 *    requested .ts to the bundled .js). The same source line then works from source and compiled.
 *  - The libsodium addon. src/crypto/sodium-addon.ts requires each platform's prebuilt .node with
 *    a literal path so the compiler embeds it. The `oneAddon` plugin below replaces the other
 *    platforms' addons with a stub that throws, so each executable carries only its own (the
 *    addon loader's try/catch then falls back to the portable suite, as it does anywhere else).
 *  - Local inference (src/build/llama-embed.ts; docs/design.md, "Local inference inside the
 *    executable"). The target's @node-llama-cpp/<platform> package, when installed, is embedded
 *    as file assets that the model host unpacks once into GROVE_DIR/llama/<key>; node-llama-cpp's
 *    `import.meta.url`s are rewritten to point there. The model host (src/ai/llm-host.ts) is one
 *    more entry point, stored flat as /$bunfs/root/llm-host.js and imported by src/ai/llm-entry.ts,
 *    so only the host loads node-llama-cpp. Without the package (darwin targets when building on
 *    Linux) the executable is built without it and says local inference is not in this build.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import type { BunPlugin } from "bun";
import { BUILD_INPUTS, sourceHash } from "./src/core/source-hash.ts";
import { fileDigest, loadReleaseKey, releasePublicKey, signRelease } from "./src/update/release-sig.ts";
import { llamaPlugin, planLlamaEmbed } from "./src/build/llama-embed.ts";

const ROOT = import.meta.dir;
let DIST = join(ROOT, "dist");
const ENTRY = join(ROOT, "src", "cli.ts");
/** Worker entry points, each stored flat next to the bundle (see "The Workers" above). */
const WORKERS = [join(ROOT, "src", "ingest", "crypto-worker.ts"), join(ROOT, "src", "sync", "sync-worker.ts")];
/** The model host, stored flat as /$bunfs/root/llm-host.js (see "Local inference" above). */
const LLM_HOST = join(ROOT, "src", "ai", "llm-host.ts");

/** Cross-compilation targets: dist/grove-<name>. */
export const TARGETS = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"] as const;
const HOST = `${process.platform}-${process.arch}`;

function usage(): never {
  console.error(
    [
      "Usage: bun build.ts [--only host] [--targets LIST] [--sign-key FILE] [--out-dir DIR]",
      `  LIST: comma-separated, from host,${TARGETS.join(",")} (default: all of them)`,
      "  --sign-key FILE  sign each executable with this release key (grove release keygen);",
      "                   or GROVE_RELEASE_KEY=<64 hex>|<path>",
      "  --out-dir DIR    where to write the executables (default: dist/)",
      "Environment: SOURCE_DATE_EPOCH (the build time, unix seconds; default: the last git commit)",
    ].join("\n"),
  );
  process.exit(2);
}

interface BuildArgs {
  names: string[];
  signKey?: string;
  outDir?: string;
}

function parseArgs(argv: string[]): BuildArgs {
  let wanted: string[] | undefined;
  let signKey: string | undefined;
  let outDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    if (flag === "--only" || flag === "--targets") {
      const v = inline ?? argv[++i];
      if (!v) usage();
      wanted = v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    } else if (flag === "--sign-key" || flag === "--out-dir") {
      const v = inline ?? argv[++i];
      if (!v) usage();
      if (flag === "--sign-key") signKey = v;
      else outDir = v;
    } else if (flag === "--help" || flag === "-h") {
      usage();
    } else {
      console.error(`build.ts: unknown argument '${a}'`);
      usage();
    }
  }
  wanted ??= ["host", ...TARGETS];
  for (const t of wanted) {
    if (t !== "host" && !(TARGETS as readonly string[]).includes(t)) {
      console.error(`build.ts: unknown target '${t}'`);
      usage();
    }
  }
  return { names: [...new Set(wanted)], signKey, outDir };
}

/**
 * The build hash: the sources' hash, or (GROVE_BUILD_SALT, tests only) that hash salted so two
 * builds of the same sources differ.
 */
export function buildHashOf(root: string, env: Record<string, string | undefined> = process.env): string {
  const hash = sourceHash(root);
  return env.GROVE_BUILD_SALT ? createHash("sha256").update(`${hash}\0${env.GROVE_BUILD_SALT}`).digest("hex") : hash;
}

/**
 * The build time, from the content: SOURCE_DATE_EPOCH (unix seconds) when set, else the time of
 * the last git commit touching the build inputs, else the epoch (with a warning).
 */
export function buildTimeOf(root: string, env: Record<string, string | undefined> = process.env): { time: string; from: string } {
  const iso = (s: number) => new Date(s * 1000).toISOString().replace(".000Z", "Z");
  const sde = env.SOURCE_DATE_EPOCH;
  if (sde !== undefined && sde !== "") {
    if (!/^\d{1,12}$/.test(sde)) throw new Error(`SOURCE_DATE_EPOCH must be unix seconds, got '${sde}'`);
    return { time: iso(Number(sde)), from: "SOURCE_DATE_EPOCH" };
  }
  try {
    const git = (args: string[]) => Bun.spawnSync(["git", ...args], { cwd: root, stdout: "pipe", stderr: "ignore" });
    const log = git(["log", "-1", "--format=%ct", "--", ...BUILD_INPUTS]);
    const out = log.stdout.toString().trim();
    if (log.exitCode === 0 && /^\d+$/.test(out)) {
      const dirty =
        git(["status", "--porcelain", "--", ...BUILD_INPUTS])
          .stdout.toString()
          .trim() !== "";
      return {
        time: iso(Number(out)),
        from: dirty
          ? "the last git commit (the sources have uncommitted changes: set SOURCE_DATE_EPOCH to order such builds)"
          : "the last git commit",
      };
    }
  } catch {}
  return { time: iso(0), from: "nothing (no git history; set SOURCE_DATE_EPOCH)" };
}

/** Keep only `platform`'s libsodium addon; the others become a module that throws when required. */
export function oneAddon(platform: string): BunPlugin {
  return {
    name: "grove-one-sodium-addon",
    setup(b) {
      b.onResolve({ filter: /sodium-native\/prebuilds\/[^/]+\/sodium-native\.node$/ }, (args) => {
        const m = /prebuilds\/([^/]+)\/sodium-native\.node$/.exec(args.path)!;
        if (m[1] === platform) return undefined; // default resolution: embed the real addon
        return { path: m[1]!, namespace: "grove-absent-addon" };
      });
      b.onLoad({ filter: /.*/, namespace: "grove-absent-addon" }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`this grove build has no libsodium addon for ${args.path}`)});`,
        loader: "js",
      }));
    },
  };
}

interface Built {
  name: string;
  file: string;
  bytes: number;
  seconds: number;
  /** What it carries for local inference: "llama.cpp linux-x64 3.22.1 (30 MB)" or why nothing. */
  llama: string;
}

async function buildOne(name: string, hash: string, time: string): Promise<Built> {
  const target = name === "host" ? HOST : name;
  const file = join(DIST, name === "host" ? "grove" : `grove-${name}`);
  const t0 = performance.now();
  const llama = planLlamaEmbed(ROOT, target);
  const result = await Bun.build({
    entrypoints: [ENTRY, ...WORKERS, LLM_HOST],
    // Flat names inside the executable: the worker is /$bunfs/root/crypto-worker.js (see above).
    naming: { entry: "[name].[ext]" },
    compile: {
      // host: this Bun's own runtime (no download); otherwise Bun fetches the target's runtime.
      ...(name === "host" ? {} : { target: `bun-${name}` as Bun.Build.CompileTarget }),
      outfile: file,
      // Grove reads its settings from GROVE_* variables and GROVE_DIR/config.json only: a .env or
      // bunfig.toml in whatever folder the user runs grove from must not change its behaviour.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    define: {
      GROVE_BUILD_HASH: JSON.stringify(hash),
      GROVE_BUILD_TARGET: JSON.stringify(target),
      GROVE_BUILD_TIME: JSON.stringify(time),
      ...(process.env.GROVE_BUILD_FAULT ? { GROVE_BUILD_FAULT: JSON.stringify(process.env.GROVE_BUILD_FAULT) } : {}),
    },
    minify: { whitespace: true, syntax: true, identifiers: true, keepNames: true },
    sourcemap: "linked", // embedded (zstd) in the executable

    plugins: [oneAddon(target), llamaPlugin(ROOT, llama)],
    throw: false,
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error(`build of ${name} failed`);
  }
  // The source map is embedded in the executable (stack traces point at src/); the loose
  // .map files Bun also writes next to it are redundant.
  for (const o of result.outputs) if (o.kind === "sourcemap") rmSync(o.path, { force: true });
  const llamaNote =
    llama.kind === "embedded"
      ? `llama.cpp ${llama.package.replace("@node-llama-cpp/", "")} ${llama.version} (${(llama.files.reduce((n, f) => n + f.bytes, 0) / 1e6).toFixed(0)} MB)`
      : `no local inference: ${llama.reason}`;
  return { name, file, bytes: statSync(file).size, seconds: (performance.now() - t0) / 1000, llama: llamaNote };
}

/** Write `<file>.sig.json`: the executable's facts signed with the release key. */
async function signOne(file: string, target: string, hash: string, time: string, key: Uint8Array): Promise<string> {
  const sig = signRelease(key, { target, build: hash, build_time: time, ...(await fileDigest(file)) });
  const out = `${file}.sig.json`;
  writeFileSync(out, JSON.stringify(sig, null, 2) + "\n");
  return out;
}

/** Run the host executable once: it must start and report the hash it was given. */
async function smokeTest(file: string, hash: string): Promise<void> {
  const p = Bun.spawnSync([file, "--version"], { cwd: DIST, env: { ...process.env } });
  const out = p.stdout.toString().trim();
  if (p.exitCode !== 0 || !out.includes(hash)) {
    throw new Error(`${file} --version did not report build ${hash}:\n${out}\n${p.stderr.toString()}`);
  }
  console.log(`  ${out}`);
}

if (import.meta.main) {
  const { names, signKey, outDir } = parseArgs(process.argv.slice(2));
  if (outDir) DIST = resolve(outDir);
  const hash = buildHashOf(ROOT);
  const { time, from } = buildTimeOf(ROOT);
  const keySpec = signKey ?? process.env.GROVE_RELEASE_KEY;
  let key: Uint8Array | undefined;
  try {
    key = keySpec ? loadReleaseKey(keySpec) : undefined;
  } catch (e) {
    console.error(`build.ts: ${(e as Error).message}`);
    process.exit(2);
  }
  mkdirSync(DIST, { recursive: true });
  console.log(`grove build ${hash.slice(0, 16)}… built ${time} (from ${from}) → ${names.join(", ")}`);
  if (key) console.log(`  signing with release key ${releasePublicKey(key).slice(0, 16)}…`);
  const t0 = performance.now();
  let failed = false;
  for (const name of names) {
    try {
      const b = await buildOne(name, hash, time);
      const label = name === "host" ? `host (${HOST})` : name;
      console.log(
        `  ${label.padEnd(20)} ${(b.bytes / 1e6).toFixed(1).padStart(6)} MB  ${b.seconds.toFixed(1).padStart(5)} s  ${b.file}  [${b.llama}]`,
      );
      if (key) console.log(`  ${"".padEnd(20)} signed: ${await signOne(b.file, name === "host" ? HOST : name, hash, time, key)}`);
      if (name === "host") await smokeTest(b.file, hash);
    } catch (e) {
      failed = true;
      console.error(`  ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  process.exit(failed ? 1 : 0);
}
