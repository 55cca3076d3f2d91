/**
 * @module web/api/bounty — GET /api/bounty[?since=MS]: the bounty ledger per paired peer (bytes
 * and byte-hours given and received, balances, allowance, the latest statements compared) and
 * each peer's balance over time since `since` (default: all that is kept). See bounty/report.
 */
import { Hono } from "hono";
import { badRequest } from "../../core/errors.ts";
import type { Fleet } from "../../fleet/fleet.ts";
import { bountyReport } from "../../bounty/report.ts";
import type { WebEnv } from "../context.ts";

export function bountyApi(fleet: Fleet): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get("/bounty", (c) => {
    const raw = c.req.query("since");
    const since = raw === undefined ? 0 : Number(raw);
    if (!Number.isSafeInteger(since) || since < 0) throw badRequest("since is a time in unix ms");
    fleet.relayCredit?.flush();
    return c.json(bountyReport(fleet.cell.db.db, fleet.peers, fleet.cell.config, { since }));
  });
  return app;
}
