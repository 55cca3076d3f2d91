/**
 * @module web/assets — /static/*: the dashboard's CSS and JS, embedded in the build (no files needed
 * at run time). /static/app.js is public/app.js followed by public/feedback.js (toasts, in-page
 * confirmations, busy buttons): one request, two small sources.
 */
import { Hono } from "hono";
import style from "../../public/style.css" with { type: "text" };
import appJs from "../../public/app.js" with { type: "text" };
import feedbackJs from "../../public/feedback.js" with { type: "text" };
import icon from "../../public/icon.svg" with { type: "text" };
import htmx from "htmx.org/dist/htmx.min.js" with { type: "text" };
import htmxSse from "htmx-ext-sse/dist/sse.min.js" with { type: "text" };
import type { WebEnv } from "./context.ts";

const ASSETS: Record<string, { body: string; type: string }> = {
  "style.css": { body: style, type: "text/css; charset=utf-8" },
  "app.js": { body: appJs + "\n" + feedbackJs, type: "text/javascript; charset=utf-8" },
  "htmx.min.js": { body: htmx, type: "text/javascript; charset=utf-8" },
  "htmx-ext-sse.js": { body: htmxSse, type: "text/javascript; charset=utf-8" },
  "icon.svg": { body: icon, type: "image/svg+xml" },
};

export const assets = new Hono<WebEnv>();

assets.get("/:name", (c) => {
  const a = ASSETS[c.req.param("name")];
  if (!a) return c.json({ error: "no such asset" }, 404);
  return c.body(a.body, 200, { "Content-Type": a.type, "Cache-Control": "public, max-age=3600" });
});
