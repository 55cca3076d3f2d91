/**
 * GET /feed/:id/inline for a PDF a friend shared (web/feed-pages), on the Feed's app alone with a
 * stand-in for sharing (no cells, no sockets): the file is served inline as application/pdf, with
 * nosniff and the stored-file CSP (no script, framed by the dashboard's origin only), so the
 * preview's <iframe> shows it in the browser's viewer.
 */
import { describe, expect, test } from "bun:test";
import { feedPages } from "../../src/web/feed-pages.tsx";
import type { Sharing } from "../../src/share/sharing.ts";
import type { FeedItem, SharingService } from "../../src/share/types.ts";
import type { CellId } from "../../src/core/types.ts";

const PDF = new TextEncoder().encode("%PDF-1.4\n%%EOF\n");
const item: FeedItem = {
  id: "g1",
  from: "a".repeat(64) as CellId,
  from_name: "cell-a",
  filename: "paper.pdf",
  file_type: "application/pdf",
  size: PDF.length,
  granted_at: 1,
  expires_at: null,
  received_at: 2,
  state: "available",
};
/** What the route uses of sharing: the item, and its bytes. */
const sharing: Pick<SharingService, "feedItem" | "open"> = {
  feedItem: () => item,
  open: async () => ({ item, body: new Response(PDF).body! }),
};

describe("a shared PDF served for its preview", () => {
  test("inline, typed, nosniff, no script, framed only by the dashboard", async () => {
    const app = feedPages({ sharing: sharing as Sharing });
    const r = await app.request("/feed/g1/inline");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/pdf");
    expect(r.headers.get("content-disposition")).toStartWith('inline; filename="paper.pdf"');
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'self'; sandbox");
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(PDF);
  });
});
