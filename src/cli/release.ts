/**
 * @module cli/release — `grove release keygen|add|list`: make a release key, and hold executables
 * (any platform) in GROVE_DIR/releases for peers to update from (update/release-store).
 * Works on GROVE_DIR directly; a running cell sees the change on its next card and list.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { resolveLayout } from "../core/layout.ts";
import { errorMessage } from "../core/errors.ts";
import { toHex } from "../core/types.ts";
import { formatBytes } from "../core/format.ts";
import { generateReleaseKey, parseOfferedSig, ReleaseSigSchema } from "../update/release-sig.ts";
import { ReleaseStore, releasesDir, toOffer } from "../update/release-store.ts";
import { CliError, parse, table, type Command } from "./command.ts";

const usage = `Usage: grove release keygen [--out FILE] [--force]
       grove release add FILE [SIG] [--json]
       grove release list [--json]

Release keys sign the executables cells update themselves to (see the README, "Updates").

  keygen   write a new Ed25519 release key to FILE (default ./grove-release.key, mode 600) and
           print its public key (hex). Build signed executables with
           \`bun build.ts --sign-key FILE\`; put the public key in each cell's config.json
           "trusted_release_keys".
  add      hold executable FILE with its signature SIG (default FILE.sig.json) in
           GROVE_DIR/releases/<target>, so peers can update from this cell — any platform
           (an x64 cell can serve a Raspberry Pi). The signature must match the file.
  list     the executables this cell offers.`;

export const release: Command = {
  name: "release",
  summary: "release keys and the executables this cell offers for updates",
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub || sub === "--help" || sub === "-h") return (console.log(usage), sub ? 0 : 2);
    if (sub === "keygen") return keygen(rest);
    if (sub === "add") return add(rest);
    if (sub === "list") return list(rest);
    throw new CliError(`unknown subcommand '${sub}'\n\n${usage}`, 2);
  },
};

function keygen(argv: string[]): number {
  const { values } = parse(argv, { out: { type: "string" }, force: { type: "boolean" } }, { min: 0, max: 0, usage });
  const out = resolve(values.out ?? "grove-release.key");
  if (existsSync(out) && !values.force) throw new CliError(`${out} exists; not overwriting a release key (use --force, or another --out)`);
  const { secret, publicHex } = generateReleaseKey();
  writeFileAtomicSync(out, toHex(secret) + "\n", 0o600);
  console.log(publicHex);
  console.error(`Release key written to ${out} (mode 600: keep it offline, it signs what cells install).`);
  console.error(`Sign builds: bun build.ts --sign-key ${out}`);
  console.error(`Trust them:  "trusted_release_keys": ["${publicHex}"] in each cell's config.json`);
  return 0;
}

async function add(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: "boolean" } }, { min: 1, max: 2, usage });
  const file = resolve(positionals[0]!);
  const sigPath = resolve(positionals[1] ?? `${file}.sig.json`);
  if (!existsSync(file)) throw new CliError(`no such file: ${file}`);
  if (!existsSync(sigPath)) throw new CliError(`no signature: ${sigPath} (an unsigned build cannot be offered; build with --sign-key)`);
  const layout = resolveLayout();
  if (!existsSync(layout.dir)) throw new CliError(`no cell in ${layout.dir} (start one with \`grove start\`, or set GROVE_DIR)`);
  let sig;
  try {
    const offered = parseOfferedSig(await readFile(sigPath, "utf8"));
    const full = ReleaseSigSchema.safeParse(offered);
    if (!full.success) throw new Error(`${sigPath} has no valid signature: an unsigned build cannot be offered`);
    sig = full.data;
  } catch (e) {
    throw new CliError(errorMessage(e));
  }
  const entry = await new ReleaseStore(releasesDir(layout.dir)).add(file, sig);
  if (values.json) return (console.log(JSON.stringify(toOffer(entry), null, 2)), 0);
  console.log(
    `offering build ${sig.build.slice(0, 12)} for ${sig.target} (built ${sig.build_time}, ${formatBytes(sig.size)}, key ${sig.key.slice(0, 16)}…)`,
  );
  return 0;
}

function list(argv: string[]): number {
  const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage });
  const offers = new ReleaseStore(releasesDir(resolveLayout().dir)).list().map(toOffer);
  if (values.json) return (console.log(JSON.stringify(offers, null, 2)), 0);
  if (!offers.length) return (console.log("no executables offered (grove release add FILE SIG)"), 0);
  console.log(
    table([
      ["TARGET", "BUILD", "BUILT", "SIZE", "KEY"],
      ...offers.map((o) => [o.target, o.build.slice(0, 12), o.build_time, formatBytes(o.size), `${o.sig.key?.slice(0, 16) ?? "unsigned"}`]),
    ]),
  );
  return 0;
}
