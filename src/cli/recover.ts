/**
 * @module cli/recover — `grove recover --invite TOKEN`: become a lost cell again on a new machine.
 * The 24 words (stdin, or a prompt on a TTY) restore identity and keys into an empty GROVE_DIR;
 * the token (from any cell of the fleet) lets the next `grove start` rejoin it, after which the
 * first sync round pulls the manifests back (sync/round, step 3) and then the chunks.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { resolveLayout } from "../core/layout.ts";
import { writeFileAtomicSync } from "../core/atomic.ts";
import { ensureTree, initStateDir, isInitialised, loadKeys, writeIdentity } from "../cell/state-dir.ts";
import { secretFromPhrase } from "../crypto/recovery.ts";
import { decodeToken } from "../fleet/invite-token.ts";
import { CliError, parse, type Command } from "./command.ts";
import { readHidden } from "./hidden-input.ts";
import { shortId } from "../core/format.ts";
import { phraseWords } from "../fleet/words-join.ts";

const usage = `Usage: grove recover --invite TOKEN

Restore a cell from its 24-word recovery phrase into an empty GROVE_DIR (the words are read
from stdin, or asked for on a terminal; numbering as printed by \`grove recovery-phrase\` is
ignored). TOKEN is an invite from any cell of the fleet (\`grove invite\` there). The next
\`grove start\` rejoins the fleet and pulls your manifests and files back. An invite from one of
your own cells makes it one of them again (the keys and the one tree come back too).

A new device rather than the lost one? Start it, and join your cells with the words of one of
them: \`grove join --words ADDRESS\`.`;

/** The 24 words: asked for, unseen, on a terminal; else read from stdin. */
export async function readPhrase(): Promise<string> {
  if (process.stdin.isTTY) return readHidden("Recovery phrase (24 words, not shown as you type): ");
  return await new Response(Bun.stdin.stream()).text();
}

export const recover: Command = {
  name: "recover",
  summary: "restore a lost cell from its recovery phrase and rejoin the fleet",
  usage,
  async run(argv) {
    const { values } = parse(argv, { invite: { type: "string" } }, { min: 0, max: 0, usage });
    if (!values.invite)
      throw new CliError(`--invite TOKEN is required (make one with \`grove invite\` on any cell of the fleet)\n\n${usage}`, 2);
    let token;
    try {
      token = decodeToken(values.invite);
    } catch (e) {
      throw new CliError(`--invite: ${(e as Error).message}`, 2);
    }
    if (token.expires_at <= Date.now()) throw new CliError("this invite has expired: ask for a new one");
    const layout = resolveLayout();
    if (isInitialised(layout)) throw new CliError(`${layout.dir} already holds a cell: recover into an empty GROVE_DIR`);
    let root;
    try {
      root = secretFromPhrase(phraseWords(await readPhrase()));
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    ensureTree(layout);
    writeIdentity(layout, root);
    initStateDir(layout);
    const keys = loadKeys(layout);
    if (keys.id === token.id)
      throw new CliError("this invite was made by the cell being recovered: use one from another cell of the fleet");
    writeFileAtomicSync(layout.recovering, JSON.stringify({ token: values.invite, at: Date.now() }) + "\n", 0o600);
    // The user has the words already: `grove start` need not show them.
    if (!existsSync(join(layout.dir, ".phrase_shown")))
      writeFileAtomicSync(join(layout.dir, ".phrase_shown"), new Date().toISOString() + "\n", 0o600);
    console.log(`Recovered cell ${shortId(keys.id)} into ${layout.dir}.`);
    console.log("Run `grove start`: it rejoins the fleet and pulls your files back (`grove sync` to watch it).");
    return 0;
  },
};
