/** @jsxImportSource hono/jsx */
/**
 * @module web/feed-pages — the Feed tab (mounted at / by web/dashboard, behind its login): GET
 * /feed (files friends shared with us; what we shared), GET /feed/:id/download (a received file,
 * fetched from the sharer or any cell holding it), GET /feed/:id/preview (htmx: the first bytes
 * of a text file, an <img> of a raster image, a PDF's <iframe>), GET /feed/:id/inline (that image
 * or PDF, sandboxed, framed only by the dashboard) and
 * POST /shares/:id/revoke (one of our shares, with the session's CSRF token).
 */
import { Hono, type Context } from "hono";
import type { StatusCode } from "hono/utils/http-status";
import { GroveError } from "../core/errors.ts";
import { pageError } from "./page-error.ts";
import { safeFilename } from "../core/safe-filename.ts";
import type { FeedItem, SharingService } from "../share/types.ts";
import { FeedPage, FeedPreview, ShareRow, safeContentType, type FeedState } from "../../views/feed.tsx";
import { TEXT_PREVIEW_BYTES, baseType, previewKind } from "../../views/preview.tsx";
import { readTextHead } from "../core/stream-head.ts";
import type { WebServices } from "./services.ts";
import type { WebEnv } from "./context.ts";
import { USER_CONTENT_CSP, disposition } from "./user-content.ts";
import { info, requireCsrf } from "./page-helpers.tsx";
import { toast } from "./toast.ts";

const statusOf = (e: unknown): number => (e instanceof GroveError ? e.status : 500);

export function feedPages(s: Pick<WebServices, "sharing">): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  /** Sharing (every running cell has it; the views still say when one does not). */
  const sharingOf = (): SharingService | null => s.sharing;
  const needSharing = (): SharingService => s.sharing;

  const feedState = (error?: string): FeedState => {
    const sh = sharingOf();
    return { available: sh !== null, items: sh?.feed() ?? [], shares: sh?.shares() ?? [], error };
  };
  /** The Feed tab, with `error` on top when given (and its status). */
  const page = (c: Context<WebEnv>, error?: string, status = 200) => {
    c.status(status as StatusCode);
    return c.render(<FeedPage cellId={c.var.cell.keys.id} csrf={c.var.session?.csrf} {...feedState(error)} />, info(c, "Feed", "feed"));
  };

  app.get("/feed", (c) => page(c));

  // A received file, fetched from the sharer or any cell holding it. A refusal (revoked, expired,
  // unreachable) comes before any byte and is shown in the Feed page.
  app.get("/feed/:id/download", async (c) => {
    const sharing = needSharing();
    try {
      const { item, body } = await sharing.open(c.req.param("id"));
      return c.body(body, 200, {
        "Content-Type": safeContentType(item.file_type),
        "Content-Disposition": disposition("attachment", safeFilename(item.filename)),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
      });
    } catch (e) {
      return page(c, `Could not download: ${pageError("feed download failed", e, "the cell that shared it")}`, statusOf(e));
    }
  });

  // The preview fragment (htmx, lazy): the first bytes of a text file, or an <img> of a raster
  // image. Always 200, problems included, so htmx swaps the message in.
  app.get("/feed/:id/preview", async (c) => {
    const sharing = sharingOf();
    if (!sharing) return c.html(<p class="notice">Sharing is not available in this cell.</p>);
    const id = c.req.param("id");
    let item: FeedItem;
    try {
      item = sharing.feedItem(id);
    } catch (e) {
      return c.html(
        <p class="error preview-error" role="alert">
          {pageError("feed preview failed", e)}
        </p>,
      );
    }
    if (item.state !== "available" || previewKind(item.file_type) !== "text") return c.html(<FeedPreview item={item} />);
    try {
      const opened = await sharing.open(id);
      const text = await readTextHead(opened.body, TEXT_PREVIEW_BYTES);
      return c.html(<FeedPreview item={opened.item} text={text} />);
    } catch (e) {
      return c.html(
        <FeedPreview item={item} error={`Could not load the preview: ${pageError("feed preview failed", e, "the cell that shared it")}`} />,
      );
    }
  });

  // A received raster image or PDF shown inline (the preview's <img> or <iframe>). Nothing else is
  // served inline: not SVG (it can carry script), not HTML or any other type.
  app.get("/feed/:id/inline", async (c) => {
    const sharing = needSharing();
    const id = c.req.param("id");
    const item = sharing.feedItem(id);
    const kind = previewKind(item.file_type);
    if (kind !== "image" && kind !== "pdf")
      throw new GroveError(`'${item.filename}' (${baseType(item.file_type)}) is not shown inline: download it instead`, 415, "unsupported");
    const { body } = await sharing.open(id);
    return c.body(body, 200, {
      "Content-Type": baseType(item.file_type),
      "Content-Disposition": disposition("inline", safeFilename(item.filename)),
      "X-Content-Type-Options": "nosniff",
      "Content-Security-Policy": USER_CONTENT_CSP,
      "Cache-Control": "no-store",
    });
  });

  // Revoke one of our shares: htmx gets the row back (revoked, or with the error); a plain form
  // post is redirected to the Feed tab.
  app.post("/shares/:id/revoke", async (c) => {
    await requireCsrf(c);
    const sharing = needSharing();
    const id = c.req.param("id");
    const htmx = Boolean(c.req.header("hx-request"));
    try {
      const v = await sharing.revoke(id);
      if (!htmx) return c.redirect("/feed#shared-by-you", 303);
      toast(c, `Revoked ${v.filename} for ${v.to_name}: no cell serves it to them any more.`);
      return c.html(<ShareRow s={v} csrf={c.var.session?.csrf} />);
    } catch (e) {
      const msg = `Could not revoke: ${pageError("revoke failed", e)}`;
      if (!htmx) return page(c, msg, statusOf(e));
      toast(c, msg, "error");
      const cur = sharing.shares().find((s) => s.id === id);
      if (cur) return c.html(<ShareRow s={cur} csrf={c.var.session?.csrf} error={msg} />);
      return c.html(
        <tr>
          <td colspan={6} class="error" role="alert">
            {msg}
          </td>
        </tr>,
      );
    }
  });

  return app;
}
