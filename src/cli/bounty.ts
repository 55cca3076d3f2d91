/** @module cli/bounty — `grove bounty`: storage given to and received from each peer, balances, allowance, statements that disagree. */
import { resolveLayout } from "../core/layout.ts";
import { displayName } from "../core/unsafe-text.ts";
import type { BountyPeer, BountyReport } from "../bounty/types.ts";
import { RELAY_CREDIT_HOURS } from "../bounty/ledger.ts";
import { formatBytes, signedBytes, shortId } from "../core/format.ts";
import { connect } from "./client.ts";
import { parse, table, type Command } from "./command.ts";

const usage = `Usage: grove bounty [--json]

The bounty ledger per peer: what it keeps for this cell (received) and this cell keeps for it
(given), now and in byte-hours over time; the bytes relays carried each way (RELAYED US/IT: its
relay for this cell / this cell's relay, config relay_port, for it; ${RELAY_CREDIT_HOURS} byte-hours per byte
in the balance over time); the balance (received − given); the allowance (bounty_allowance_bytes:
a peer below −allowance is refused new chunks here, unless exempt as a favorite or friend); and
whether the signed statements you last exchanged agree.`;

function flags(p: BountyPeer): string {
  const f: string[] = [];
  if (p.over_allowance) f.push("OVER ALLOWANCE");
  if (p.exempt_as) f.push(`exempt (${p.exempt_as})`);
  return f.join(", ") || "-";
}

function statement(p: BountyPeer): string {
  if (!p.statement) return "none yet";
  return p.statement.agree ? "agree" : "DISAGREE !";
}

export const bounty: Command = {
  name: "bounty",
  summary: "storage given and received per peer, balances, allowance",
  usage,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } }, { min: 0, max: 0, usage });
    const r = await connect(resolveLayout()).json<BountyReport>("/api/bounty");
    if (values.json) return (console.log(JSON.stringify(r, null, 2)), 0);
    const exempt = [r.exempt_favorites ? "favorites" : "", r.exempt_friends ? "friends" : ""].filter(Boolean).join(" and ");
    console.log(`allowance ${formatBytes(r.allowance_bytes)} per peer${exempt ? ` (${exempt} exempt)` : ""}`);
    if (!r.peers.length) return (console.log("no peers yet"), 0);
    console.log(
      "\n" +
        table(
          [
            [
              "PEER",
              "NAME",
              "KEEPS FOR US",
              "WE KEEP FOR IT",
              "RELAYED US/IT",
              "BALANCE",
              "BALANCE (BYTE-HOURS)",
              "ALLOWANCE",
              "STATEMENTS",
            ],
            ...r.peers.map((p) => [
              p.peer.slice(0, 12),
              displayName(p.name),
              formatBytes(p.received_bytes),
              formatBytes(p.given_bytes),
              `${formatBytes(p.relay_received_bytes)}/${formatBytes(p.relay_given_bytes)}`,
              signedBytes(p.balance_bytes),
              `${signedBytes(Math.round(p.balance_byte_hours))}·h`,
              flags(p),
              statement(p),
            ]),
          ],
          [2, 3, 4, 5, 6],
        ),
    );
    const off = r.peers.filter((p) => p.statement && !p.statement.agree);
    for (const p of off) console.log(`\n! ${displayName(p.name)} (${shortId(p.peer)}): ${displayName(p.statement!.reason ?? "")}`);
    return 0;
  },
};
