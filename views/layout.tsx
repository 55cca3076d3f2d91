/** @jsxImportSource hono/jsx */
/**
 * @module views/layout — the page frame: header, tabs, and the htmx/CSRF wiring every page shares.
 * Pages are bodies; web/page-helpers' layout renderer wraps each in this frame (after the
 * DOCTYPE) with the page's `PageInfo`.
 *
 * Accessibility: the first thing Tab reaches is "Skip to content" (hidden until focused), which
 * moves focus to `<main id="main">` (focusable by script and link only: tabindex -1); the tab bar
 * is a labelled navigation whose current tab has aria-current="page". Focus styles and the skip
 * link's look are in public/style.css's "Accessibility" section.
 */
import type { Child } from "hono/jsx";
import { TABS } from "./tabs.ts";
import { UpdateBanner, type UpdateNoticeInfo } from "./update.tsx";
import { shortId } from "../src/core/format.ts";
import { PhraseOffer, type PhraseOfferInfo } from "./recovery-phrase.tsx";

export interface PageInfo {
  title: string;
  cellName: string;
  cellId: string;
  csrf?: string;
  active?: string;
  /** Load the htmx SSE extension (pages with live updates: `hx-ext="sse"`). */
  sse?: boolean;
  /** A newer build offered by a peer: shown as a banner with "Update now" (views/update). */
  update?: UpdateNoticeInfo | null;
  /** The first-run offer of the recovery phrase (web/phrase-offer), until "I wrote it down". */
  phrase?: PhraseOfferInfo | null;
}

/** The cell's name and short id in the header (Settings swaps it in place after a new name is saved). */
export function CellName(p: { name: string; id: string; oob?: boolean }) {
  return (
    <span class="cell" id="cell-name" title={p.id} hx-swap-oob={p.oob ? "true" : undefined}>
      {p.name} · <code>{shortId(p.id)}</code>
    </span>
  );
}

export function Layout(props: PageInfo & { children?: Child }) {
  const hxHeaders = props.csrf ? JSON.stringify({ "X-CSRF-Token": props.csrf }) : undefined;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · Grove</title>
        {props.csrf ? <meta name="csrf-token" content={props.csrf} /> : null}
        <link rel="icon" href="/static/icon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/static/style.css" />
        <script src="/static/htmx.min.js" defer></script>
        {props.sse ? <script src="/static/htmx-ext-sse.js" defer></script> : null}
        <script src="/static/app.js" defer></script>
      </head>
      <body hx-headers={hxHeaders}>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            Grove
          </a>
          <CellName name={props.cellName} id={props.cellId} />
          {props.csrf ? (
            <form method="post" action="/logout" class="logout">
              <input type="hidden" name="_csrf" value={props.csrf} />
              <button type="submit" class="link">
                Log out
              </button>
            </form>
          ) : null}
        </header>
        {props.active ? (
          <nav class="tabs" aria-label="Tabs">
            {TABS.map((t) => (
              <a href={t.href} class={t.id === props.active ? "active" : ""} aria-current={t.id === props.active ? "page" : undefined}>
                {t.label}
              </a>
            ))}
          </nav>
        ) : null}
        <main id="main" tabindex={-1}>
          {props.phrase ? <PhraseOffer offer={props.phrase} csrf={props.csrf} /> : null}
          {props.update ? <UpdateBanner u={props.update} csrf={props.csrf} /> : null}
          {props.children}
        </main>
      </body>
    </html>
  );
}
