#!/usr/bin/env bun
/**
 * @module cli — the `grove` entry point: parse argv and dispatch to one command module each.
 * Exit codes: 0 success, 1 failure (one-line reason on stderr), 2 usage error. Error messages
 * may quote another cell (a refusal, a name): they are printed through core/unsafe-text.
 */
import { VERSION, buildHash, buildTarget, buildTime } from "./core/build-info.ts";
import { errorMessage } from "./core/errors.ts";
import { displayText } from "./core/unsafe-text.ts";
import { CliError, HelpRequested, type Command } from "./cli/command.ts";
import { start } from "./cli/start.ts";
import { id } from "./cli/id.ts";
import { status } from "./cli/status.ts";
import { put } from "./cli/put.ts";
import { get } from "./cli/get.ts";
import { ls } from "./cli/ls.ts";
import { recoveryPhraseCmd } from "./cli/recovery-phrase.ts";
import { invite } from "./cli/invite.ts";
import { join } from "./cli/join.ts";
import { peers } from "./cli/peers.ts";
import { nearby } from "./cli/nearby.ts";
import { sync } from "./cli/sync.ts";
import { scan } from "./cli/scan.ts";
import { placement } from "./cli/placement.ts";
import { bounty } from "./cli/bounty.ts";
import { recover } from "./cli/recover.ts";
import { share, shares } from "./cli/share.ts";
import { feed } from "./cli/feed.ts";
import { msg, msgs } from "./cli/msg.ts";
import { relay } from "./cli/relay.ts";
import { service } from "./cli/service.ts";
import { history, restore } from "./cli/history.ts";
import { purge } from "./cli/purge.ts";
import { rm } from "./cli/rm.ts";
import { pin, unpin } from "./cli/pin.ts";
import { trash } from "./cli/trash.ts";
import { fsckCmd } from "./cli/fsck.ts";
import { ask, models } from "./cli/ask.ts";
import { LLM_HOST_ARG } from "./ai/llm-protocol.ts";
import { loadLlmHost } from "./ai/llm-entry.ts";
import { release } from "./cli/release.ts";
import { update } from "./cli/update.ts";
import { password } from "./cli/password.ts";

export const COMMANDS: Command[] = [
  start,
  status,
  id,
  put,
  get,
  ls,
  rm,
  pin,
  unpin,
  history,
  restore,
  purge,
  trash,
  invite,
  join,
  peers,
  nearby,
  sync,
  scan,
  placement,
  fsckCmd,
  bounty,
  share,
  shares,
  feed,
  msg,
  msgs,
  recover,
  relay,
  service,
  ask,
  models,
  update,
  release,
  recoveryPhraseCmd,
  password,
];

export function mainUsage(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "Usage: grove COMMAND [options]",
    "",
    "Grove keeps your files encrypted, replicated and reachable across your own devices.",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    "",
    "Options: --help (also after a command), --version",
    "Environment: GROVE_DIR (default ~/.grove), GROVE_HOME (default ~/GroveHome), GROVE_PORT (dashboard, default 5678), GROVE_PEER_PORT (peer API, default 5679), GROVE_MDNS=0 (no mDNS: the cell neither advertises nor finds cells on the local network, whatever config.json says)",
    "Run `grove COMMAND --help` for a command's options.",
    "To have `grove` on the PATH outside the repository: `npm link` in it (docs/cli-on-path.md).",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(mainUsage());
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    const time = buildTime();
    console.log(`grove ${VERSION} build ${buildHash()} (${buildTarget()})${time ? ` built ${time}` : ""}`);
    return 0;
  }
  // Hidden: this program as the model host child of a running cell (see src/ai/llm-host.ts).
  if (name === LLM_HOST_ARG) return (await loadLlmHost()).runLlmHost();
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`grove: unknown command '${name}'\n\n${mainUsage()}`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof HelpRequested) {
      console.log(e.usage);
      return 0;
    }
    if (e instanceof CliError) {
      console.error(`grove ${name}: ${displayText(e.message)}`);
      return e.code;
    }
    console.error(`grove ${name}: ${displayText(errorMessage(e))}`);
    return 1;
  }
}

if (import.meta.main) {
  if (process.env.TEST_BINDING_CP === "true" && typeof process.send === "function") {
    // Inside the executable, node-llama-cpp's binary check runs this program again as its test
    // child (TEST_BINDING_CP=true + an IPC channel): be that child, no command (ai/llama-lib).
    await (await loadLlmHost()).runBindingTestChild();
  } else {
    // `npm run grove -- …` runs from the package folder; relative paths mean the caller's folder.
    if (process.env.npm_lifecycle_event === "grove" && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
    const code = await main(process.argv.slice(2));
    process.exit(code);
  }
}
