/** @module web/remote — who is on the other end of a request's TCP connection. */
import type { Context } from "hono";
import { getConnInfo } from "hono/bun";
import { isLoopbackAddress } from "../net/loopback.ts";
import type { WebEnv } from "./context.ts";

/** The TCP peer's address, or "?" in-process (app.request) where there is no connection. */
export function remoteAddress(c: Context<WebEnv>): string {
  try {
    return getConnInfo(c).remote.address ?? "?";
  } catch {
    return "?";
  }
}

/** True when the TCP peer is this machine (loopback), whatever the Host header says; false in-process. */
export function fromLoopback(c: Context<WebEnv>): boolean {
  return isLoopbackAddress(remoteAddress(c));
}
