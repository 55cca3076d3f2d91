/** @jsxImportSource hono/jsx */
/**
 * @module web/update-pages — POST /update (mounted by web/dashboard, behind its login): the
 * "Update now" button of the update banner and the Settings tab. Needs the session's CSRF token;
 * installs the newest trusted build a peer offers (update/updater) and answers with one line
 * for htmx, or redirects a plain form post back to Settings.
 */
import { Hono } from "hono";
import { pageError } from "./page-error.ts";
import type { WebServices } from "./services.ts";
import { UpdateResult } from "../../views/update.tsx";
import type { WebEnv } from "./context.ts";
import { requireCsrf } from "./page-helpers.tsx";

export function updatePages(s: Pick<WebServices, "updater">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.post("/", async (c) => {
    await requireCsrf(c);
    const target = c.req.header("hx-target") ?? "";
    const id = /^[a-z0-9-]{1,64}$/.test(target) ? target : "update-result";
    let ok = true;
    let message: string;
    try {
      const started = await s.updater.perform();
      message = `Build ${started.to.slice(0, 12)} is swapped in; the cell restarts now. Reload this page in a few seconds.`;
    } catch (e) {
      ok = false;
      message = `Not updated: ${pageError("update from the dashboard failed", e, "the peer offering it")}`;
    }
    if (!c.req.header("hx-request")) return c.redirect("/settings", 303);
    return c.html(<UpdateResult id={id} ok={ok} message={message} />);
  });
  return app;
}
