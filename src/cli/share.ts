/** @module cli/share — `grove share PATH --with ID [--expires DURATION]`, `grove share revoke ID`, `grove shares`. */
import { resolveLayout } from "../core/layout.ts";
import { displayName } from "../core/unsafe-text.ts";
import type { ShareView } from "../share/types.ts";
import { formatBytes, formatTime, shortId } from "../core/format.ts";
import { connect } from "./client.ts";
import { CliError, parse, table, type Command } from "./command.ts";

const usage = `Usage: grove share PATH --with ID [--expires DURATION] [--json]
       grove share revoke GRANT_ID

Share the current version of PATH with a friend: a cell whose friend request you accepted, or
that accepted yours (\`grove peers friend ID\` asks; it runs \`grove peers accept\`). The friend
sees it in \`grove feed\` and can fetch it from this cell or any cell holding its chunks.
DURATION: 90s, 30m, 12h, 7d (default: no expiry). Revoking stops every cell from serving it.

The grant is delivered at once. Exit 0: delivered, or kept for a friend that cannot be reached
now (it says so; sent after each sync round that reaches the friend). Exit 1: nothing was
shared: not a friend (yet), or the friend refused the grant (the reason is printed).`;

const sharesUsage = `Usage: grove shares [--json]

List the files you shared: with whom, when, expiry, and state (active, revoked, expired).`;

/** "90s", "30m", "12h", "7d" or plain seconds -> seconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(s.trim());
  if (!m) throw new CliError(`--expires: not a duration: ${s} (e.g. 30m, 12h, 7d)`, 2);
  const n = Number(m[1]) * ({ "": 1, s: 1, m: 60, h: 3600, d: 86400 } as Record<string, number>)[m[2]!]!;
  if (n < 1) throw new CliError("--expires must be at least 1 second", 2);
  return n;
}

export const share: Command = {
  name: "share",
  summary: "share a file with a friend (PATH --with ID), or revoke a share",
  usage,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { with: { type: "string" }, expires: { type: "string" }, json: { type: "boolean" } },
      { min: 1, max: 2, usage },
    );
    const client = connect(resolveLayout());
    if (positionals[0] === "revoke") {
      if (positionals.length !== 2) throw new CliError(`grove share revoke takes one grant id\n\n${usage}`, 2);
      const r = await client.json<ShareView>(`/api/shares/${encodeURIComponent(positionals[1]!)}/revoke`, { method: "POST" });
      console.log(
        values.json
          ? JSON.stringify(r, null, 2)
          : `revoked: ${displayName(r.filename)} for ${displayName(r.to_name)} (${r.id.slice(0, 12)})`,
      );
      return 0;
    }
    if (positionals.length !== 1) throw new CliError(`wrong number of arguments\n\n${usage}`, 2);
    if (!values.with) throw new CliError(`--with ID is required (a friend's id or unique prefix)\n\n${usage}`, 2);
    const body = {
      path: positionals[0]!.replace(/^\/+/, ""),
      with: values.with,
      ...(values.expires ? { expires_s: parseDuration(values.expires) } : {}),
    };
    const r = await client.json<ShareView>("/api/shares", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (values.json) return (console.log(JSON.stringify(r, null, 2)), 0);
    const to = `${displayName(r.to_name)} (${shortId(r.to)})`;
    console.log(
      `shared ${displayName(r.path)} with ${to}: grant ${r.id.slice(0, 12)}${r.expires_at ? `, expires ${formatTime(r.expires_at)}` : ""}${r.delivered ? ", delivered" : ""}`,
    );
    if (!r.delivered) {
      console.log(`not delivered yet: ${displayName(r.delivery_error ?? `${r.to_name} cannot be reached`)}`);
      console.log(
        `It is kept and sent after each sync round that reaches ${displayName(r.to_name)} (\`grove shares\` shows when; \`grove share revoke ${r.id.slice(0, 12)}\` drops it).`,
      );
    }
    return 0;
  },
};

export const shares: Command = {
  name: "shares",
  summary: "list the files you shared",
  usage: sharesUsage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage: sharesUsage });
    const list = await connect(resolveLayout()).json<ShareView[]>("/api/shares");
    if (values.json) return (console.log(JSON.stringify(list, null, 2)), 0);
    if (!list.length) return (process.stderr.write("nothing shared yet (grove share PATH --with ID)\n"), 0);
    console.log(
      table(
        [
          ["ID", "PATH", "WITH", "SIZE", "SHARED", "EXPIRES", "STATE"],
          ...list.map((s) => [
            s.id.slice(0, 12),
            displayName(s.path),
            displayName(s.to_name),
            formatBytes(s.size),
            formatTime(s.granted_at),
            s.expires_at ? formatTime(s.expires_at) : "never",
            s.state + (s.delivered ? "" : " (not delivered)"),
          ]),
        ],
        [3],
      ),
    );
    return 0;
  },
};
