/**
 * @module web/toast — what an action did, as a toast: an htmx response carries it in its
 * `HX-Trigger` header as the event `grove:toast` ({ message, kind }), which public/feedback.js
 * shows in the page's toast region (polite for "ok", an alert for "error") and hides after a few
 * seconds. A plain form post (no JavaScript) ignores the header: its page says what happened.
 */
import type { Context } from "hono";

export type ToastKind = "ok" | "error";

/** The event public/feedback.js listens for. */
export const TOAST_EVENT = "grove:toast";

/** The longest message a toast carries (a longer one is cut, with an ellipsis). */
const MAX_TOAST = 300;

/**
 * The HX-Trigger value for a toast (and `also`, other events to trigger, e.g. "peers-changed").
 * JSON with every non-ASCII character escaped: a header is Latin-1, JSON.parse gives the text back.
 */
export function toastHeader(message: string, kind: ToastKind = "ok", also: readonly string[] = []): string {
  const text = message.length > MAX_TOAST ? message.slice(0, MAX_TOAST - 1) + "…" : message;
  const events: Record<string, unknown> = { [TOAST_EVENT]: { message: text, kind } };
  for (const name of also) events[name] = true;
  return JSON.stringify(events).replace(/[\u007f-\uffff]/g, (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** Tell the page, through htmx, what the action did. Sets HX-Trigger (one per response: pass other events in `also`). */
export function toast(c: Context, message: string, kind: ToastKind = "ok", also: readonly string[] = []): void {
  c.header("HX-Trigger", toastHeader(message, kind, also));
}
