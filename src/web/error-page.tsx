/** @jsxImportSource hono/jsx */
/**
 * @module web/error-page — renders an error as a dashboard page for browsers, through the
 * dashboard's layout renderer (installed here when the error came before the dashboard's
 * routes: a refused Host, a body over its limit, the peer listener).
 */
import type { Context } from "hono";
import type { StatusCode } from "hono/utils/http-status";
import { ErrorPage } from "../../views/auth-pages.tsx";
import type { WebEnv } from "./context.ts";
import { pageLayout } from "./page-helpers.tsx";

export async function renderError(c: Context<WebEnv>, status: number, message: string, heading?: string): Promise<Response> {
  if (!c.getLayout()) await pageLayout(c, async () => {});
  const cell = c.var.cell;
  const csrf = c.var.session?.csrf;
  c.status(status as StatusCode);
  return c.render(<ErrorPage status={status} message={message} heading={heading} />, {
    title: heading ?? `Error ${status}`,
    cellName: cell?.config.name ?? "grove",
    cellId: cell?.keys.id ?? "",
    csrf,
    active: csrf ? "none" : undefined,
  });
}
