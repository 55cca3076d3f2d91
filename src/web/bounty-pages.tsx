/** @jsxImportSource hono/jsx */
/**
 * @module web/bounty-pages — the Bounty tab (mounted at /bounty by web/dashboard, behind its
 * login): GET /bounty renders the ledger per peer and the balance chart (views/bounty). Reading
 * it accrues the ledger first, so the figures are current.
 */
import { Hono, type Context } from "hono";
import type { WebServices } from "./services.ts";
import { bountyReport } from "../bounty/report.ts";
import { BountyPage } from "../../views/bounty.tsx";
import type { PageInfo } from "../../views/layout.tsx";
import type { WebEnv } from "./context.ts";

/** What the dashboard lends this page: its page frame info. */
export interface BountyPageHelpers {
  info(c: Context<WebEnv>, title: string, active?: string): PageInfo;
}

export function bountyPages(s: WebServices, h: BountyPageHelpers): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get("/", (c) => {
    s.relayCredit?.flush();
    return c.html(<BountyPage {...h.info(c, "Bounty", "bounty")} report={bountyReport(s.cell.db.db, s.peers, s.cell.config)} />);
  });
  return app;
}
