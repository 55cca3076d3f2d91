/**
 * The Feed's preview fragment (views/feed FeedPreview, views/preview): a PDF a friend shared is shown
 * in the browser's viewer (an <iframe> of /feed/:id/inline) with a link to open it in a tab; SVG and
 * unknown types get none.
 */
import { describe, expect, test } from "bun:test";
import { FeedPreview } from "../../views/feed.tsx";
import { previewKind } from "../../views/preview.tsx";
import type { FeedItem } from "../../src/share/types.ts";
import type { CellId } from "../../src/core/types.ts";

const item = (file_type: string, filename: string): FeedItem => ({
  id: "g1",
  from: "a".repeat(64) as CellId,
  from_name: "cell-a",
  filename,
  file_type,
  size: 1234,
  granted_at: 1,
  expires_at: null,
  received_at: 2,
  state: "available",
});

describe("the Feed's preview", () => {
  test("a PDF in an <iframe> of its inline answer, and a link", async () => {
    const html = String(await FeedPreview({ item: item("application/pdf", "paper <1>.pdf") }));
    expect(html).toContain('<iframe class="preview-pdf" src="/feed/g1/inline" title="PDF preview of paper &lt;1&gt;.pdf" loading="lazy">');
    expect(html).toContain('<a href="/feed/g1/inline" target="_blank" rel="noopener">Open paper &lt;1&gt;.pdf in a new tab</a>');
  });

  test("kinds: PDF yes, SVG and octet-stream no", () => {
    expect(previewKind("application/pdf")).toBe("pdf");
    expect(previewKind("Application/PDF; x=1")).toBe("pdf");
    expect(previewKind("image/svg+xml")).toBeNull();
    expect(previewKind("application/octet-stream")).toBeNull();
  });
});
