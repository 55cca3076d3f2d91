/** @module cli/join — `grove join TOKEN`: pair this cell with the one that made the invite. */
import { resolveLayout } from "../core/layout.ts";
import { errorMessage } from "../core/errors.ts";
import { decodeToken } from "../fleet/invite-token.ts";
import { displayName } from "../core/unsafe-text.ts";
import type { PeerView } from "../api/types.ts";
import { connect } from "./client.ts";
import { CliError, parse, type Command } from "./command.ts";
import { shortId } from "../core/format.ts";

const usage = `Usage: grove join TOKEN [--json]

Pair with the cell that printed TOKEN (\`grove invite\` there). Both cells then list each other
as peers. A token works once and expires.

A token made with \`grove invite --mine\` says so: this cell then joins as one of the owner's own
cells. It receives the owner's file keys, sealed to it, lists every file of my cells, and opens
any of them on demand. It keeps its own id, files, peers and grants.`;

export const join: Command = {
  name: "join",
  summary: "pair with another cell using its invite token",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: "boolean" } }, { min: 1, max: 1, usage });
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
