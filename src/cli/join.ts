/** @module cli/join — `grove join TOKEN`: pair this cell with the one that made the invite; `--words ADDRESS`: join my cells with the 24 words. */
import { resolveLayout } from "../core/layout.ts";
import { errorMessage } from "../core/errors.ts";
import { decodeToken } from "../fleet/invite-token.ts";
import { displayName } from "../core/unsafe-text.ts";
import type { PeerView } from "../api/types.ts";
import { connect } from "./client.ts";
import { CliError, parse, type Command } from "./command.ts";
import { shortId } from "../core/format.ts";
import { phraseWords } from "../fleet/words-join.ts";
import { readPhrase } from "./recover.ts";

const usage = `Usage: grove join TOKEN [--json]
       grove join --words ADDRESS [--json]

Pair with the cell that printed TOKEN (\`grove invite\` there). Both cells then list each other
as peers. A token works once and expires.

A token made with \`grove invite --mine\` says so: this cell then joins as one of the owner's own
cells. It receives the owner's file keys, sealed to it, lists every file of my cells, and opens
any of them on demand. It keeps its own id, files, peers and grants.

--words ADDRESS: join your cells on a new device when none of them is at hand to make an invite.
Give the 24 words of one of your cells (stdin, or asked for on a terminal, not shown) and the
address of one of your cells that is online (http://HOST:PORT, its peer port: \`grove status\`
there, or \`grove nearby\` on the same network). The words never leave this machine: this cell
signs the join with them, and keeps the answer only if that cell proves it is one of yours.`;

export const join: Command = {
  name: "join",
  summary: "pair with another cell using its invite token",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" }, words: { type: "string" } }, { min: 0, max: 1, usage });
    if (values.words !== undefined) {
      if (positionals.length) throw new CliError(`give either a TOKEN or --words ADDRESS, not both\n\n${usage}`, 2);
      const words = phraseWords(await readPhrase());
      const r = await connect(resolveLayout()).json<{ peer: PeerView }>("/api/join", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ words, address: values.words }),
      });
      if (values.json) console.log(JSON.stringify(r.peer, null, 2));
      else
        console.log(
          `joined ${displayName(r.peer.name)} (${shortId(r.peer.id)}) as one of your cells, with the words: your files are listed here (grove ls) within seconds`,
        );
      return 0;
    }
    if (!positionals.length)
      throw new CliError(`a TOKEN is required (\`grove invite\` on the other cell), or --words ADDRESS\n\n${usage}`, 2);
    // A damaged or truncated token is told here, in plain words (fleet/invite-token), before
    // the cell is asked; the cell checks it again.
    try {
      decodeToken(positionals[0]!);
    } catch (e) {
      throw new CliError(errorMessage(e));
    }
    const r = await connect(resolveLayout()).json<{ peer: PeerView }>("/api/join", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: positionals[0] }),
    });
    const who = `${displayName(r.peer.name)} (${shortId(r.peer.id)})`;
    console.log(
      values.json
        ? JSON.stringify(r.peer, null, 2)
        : r.peer.mine
          ? `joined ${who} as one of your cells: its files are listed here (grove ls) within seconds`
          : `paired with ${who}`,
    );
    return 0;
  },
};
