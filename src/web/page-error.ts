/**
 * @module web/page-error — a caught error on its way to a page: its technical reason (socket
 * error, address, status) goes to the cell's log, and the page gets words saying what happened
 * and what to do (views/human-error).
 */
import { errorMessage, GroveError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { humanError } from "../../views/human-error.ts";

/** Log `e` under `what` and return what the page says; `who` names the other side ("pi", "the relay"). */
export function pageError(what: string, e: unknown, who?: string): string {
  log(e instanceof GroveError && e.status < 500 ? "info" : "warn", what, { why: errorMessage(e) });
  return humanError(e, who);
}
