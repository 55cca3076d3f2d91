/** @jsxImportSource hono/jsx */
/**
 * @module web/settings-pages — the Settings tab (mounted at /settings by web/dashboard, behind its
 * login): this cell's facts, where it listens, the update section (web/update-pages installs) and
 * its configuration, read-only.
 */
import { Hono } from "hono";
import { cellStatus } from "./api/status.ts";
import { SettingsPage } from "../../views/settings.tsx";
import type { WebServices } from "./services.ts";
import type { WebEnv } from "./context.ts";
import { info } from "./page-helpers.tsx";

export function settingsPages(s: Pick<WebServices, "cell" | "relay" | "rounds" | "watching" | "listening">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get("/", (c) =>
    c.render(
      <SettingsPage csrf={c.var.session?.csrf} facts={cellStatus(s)} config={c.var.cell.config} listening={s.listening()} />,
      info(c, "Settings", "settings"),
    ),
  );
  return app;
}
