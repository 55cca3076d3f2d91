/** @module cli/invite — `grove invite`: a single-use, expiring token another cell joins with. */
import { resolveLayout } from "../core/layout.ts";
import { connect } from "./client.ts";
import { CliError, parse, type Command } from "./command.ts";

const usage = `Usage: grove invite [--mine] [--ttl DURATION] [--json]

Print a single-use invite token (alone on a line). On another cell: \`grove join TOKEN\`.

Options:
  --mine          for another of your own devices: it joins as one of your cells, receives your
                  file keys (sealed to it), and lists and opens all your files. Without --mine the
                  other cell is a peer (a friend's cell or a storage peer): it sees only ciphertext.
  --ttl DURATION  how long the token stays valid: 90s, 30m, 12h, 7d (default 24h, at most 30d)
  --json          print {token, expires_at, kind}`;

/** "90s", "30m", "12h", "7d" or plain seconds -> seconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(s.trim());
  if (!m) throw new CliError(`not a duration: ${s} (use e.g. 90s, 30m, 12h, 7d)`, 2);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? "s") as "s"];
}

export const invite: Command = {
  name: "invite",
  summary: "make a single-use token for another cell to join",
  usage,
  async run(argv) {
    const { values } = parse(
      argv,
      { ttl: { type: "string" }, json: { type: "boolean" }, mine: { type: "boolean" } },
      { min: 0, max: 0, usage },
    );
    const body = { ...(values.ttl ? { ttl_s: parseDuration(values.ttl) } : {}), ...(values.mine ? { mine: true } : {}) };
    const r = await connect(resolveLayout()).json<{ token: string; expires_at: number; kind: string }>("/api/invites", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    console.log(values.json ? JSON.stringify({ token: r.token, expires_at: new Date(r.expires_at).toISOString(), kind: r.kind }) : r.token);
    return 0;
  },
};
