/**
 * @module web/api/bounty — GET /api/bounty[?since=MS]: the bounty ledger per paired peer (bytes
 * and byte-hours given and received, balances, allowance, the latest statements compared) and
 * each peer's balance over time since `since` (default: all that is kept). See bounty/report.
 */
import { Hono } from "hono";
import { badRequest } from "../../core/errors.ts";
import type { WebServices } from "../services.ts";
import { bountyReport } from "../../bounty/report.ts";
import type { WebEnv } from "../context.ts";

export function bountyApi(s: WebServices): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get("/bounty", (c) => {
    const raw = c.req.query("since");
    const since = raw === undefined ? 0 : Number(raw);
    if (!Number.isSafeInteger(since) || since < 0) throw badRequest("since is a time in unix ms");
    s.relayCredit?.flush();
    return c.json(bountyReport(s.cell.db.db, s.peers, s.cell.config, { since }));
  });
  return app;
}
