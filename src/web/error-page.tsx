/** @jsxImportSource hono/jsx */
/** @module web/error-page — renders an error as a dashboard page for browsers. */
import type { Context } from "hono";
import { ErrorPage } from "../../views/auth-pages.tsx";
import type { WebEnv } from "./context.ts";

export function renderError(c: Context<WebEnv>, status: number, message: string) {
  const cell = c.var.cell;
  return c.html(
    <ErrorPage cellName={cell?.config.name ?? "grove"} cellId={cell?.keys.id ?? ""} csrf={c.var.session?.csrf} status={status} message={message} />,
    status as 400,
  );
}
