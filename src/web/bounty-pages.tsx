/** @jsxImportSource hono/jsx */
/**
 * @module web/bounty-pages — the Bounty tab (mounted at /bounty by web/dashboard, behind its
 * login): GET /bounty renders the ledger per peer and the balance chart (views/bounty). Reading
 * it accrues the ledger first, so the figures are current.
 */
import { Hono } from "hono";
import type { WebServices } from "./services.ts";
import { bountyReport } from "../bounty/report.ts";
import { BountyPage } from "../../views/bounty.tsx";
import type { WebEnv } from "./context.ts";
import { info } from "./page-helpers.tsx";

export function bountyPages(s: Pick<WebServices, "relayCredit" | "cell" | "peers">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get("/", (c) => {
    s.relayCredit?.flush();
    return c.render(<BountyPage report={bountyReport(s.cell.db.db, s.peers, s.cell.config)} />, info(c, "Bounty", "bounty"));
  });
  return app;
}
