/**
 * @module web/host-check — the dashboard and the local API answer only to this cell's own names.
 *
 * A web page can rebind its own DNS name to 127.0.0.1 and then talk to a loopback listener as
 * "itself" (DNS rebinding): the TCP address is loopback, but the Host header still carries the
 * attacker's name. Every route but /peer/* (signed by a known cell, whoever carries it) refuses a
 * Host that is not one of: localhost, a 127.x or ::1 literal, an address of this machine's
 * interfaces, the address the dashboard is bound to, or a name in config `dashboard_names`.
 */
import type { MiddlewareHandler } from "hono";
import { networkInterfaces } from "node:os";
import { forbidden } from "../core/errors.ts";
import { isLoopbackHost } from "../net/loopback.ts";

/** The host part of a Host header, lower case, without port, brackets or a trailing dot. */
export function hostOf(header: string): string {
  let h = header.trim().toLowerCase();
  if (h.startsWith("[")) {
    const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h);
    return m ? m[1]! : ""; // anything after the bracket but a port: not a host
  }
  if (h.includes(":") && h.indexOf(":") === h.lastIndexOf(":")) h = h.slice(0, h.indexOf(":"));
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** How long the list of interface addresses is reused before it is read again. */
const INTERFACES_TTL_MS = 30_000;

/** Decides whether a Host header names this cell. */
export class CellNames {
  private addrs: Set<string> = new Set();
  private addrsAt = -Infinity;

  constructor(
    private readonly names: () => readonly string[],
    private readonly boundHost: () => string,
  ) {}

  private interfaceAddresses(): Set<string> {
    const now = Date.now();
    if (now - this.addrsAt > INTERFACES_TTL_MS) {
      this.addrs = new Set(
        Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((i) => i.address.toLowerCase().replace(/%.*$/, ""))),
      );
      this.addrsAt = now;
    }
    return this.addrs;
  }

  /** True when `header` (a Host header value) names this cell. */
  accepts(header: string | undefined): boolean {
    if (!header) return false;
    const h = hostOf(header);
    if (!h) return false;
    if (isLoopbackHost(h) && (h === "localhost" || /^[0-9.:]+$/.test(h))) return true;
    if (h === hostOf(this.boundHost())) return true;
    if (this.names().some((n) => n.toLowerCase() === h)) return true;
    // An address literal of this machine (a rebinding page carries its own name, never our address).
    return /^[0-9a-f.:]+$/.test(h) && this.interfaceAddresses().has(h);
  }
}

/** Refuse (403) a non-/peer request whose Host header does not name this cell; logged by the app's error handler. */
export function requireCellHost(names: CellNames): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.path.startsWith("/peer/") || c.req.path === "/peer") return next();
    const host = c.req.header("host");
    if (!names.accepts(host)) {
      const shown = (host ?? "").replace(/[^\x21-\x7e]/g, "?").slice(0, 100);
      throw forbidden(
        `this cell does not answer to the name '${shown}' (Host header): open it as http://localhost:PORT/, or add the name to "dashboard_names" in config.json`,
      );
    }
    return next();
  };
}
