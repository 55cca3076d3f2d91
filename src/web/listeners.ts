/**
 * @module web/listeners — the sockets a running cell answers on (Bun.serve is used here alone).
 *
 *   dashboard  host:port (127.0.0.1:5678 by default): the dashboard, /api, and /peer too (signed;
 *              a cell on the same machine may know this address). TLS when configured.
 *   peer       peer_host:peer_port (0.0.0.0:5679): /peer alone. Its addresses go in the card.
 *
 * While a legacy window is open (web/legacy-window) the dashboard's socket is bound on the old
 * host instead of `host`, and everything but /peer/* is refused to connections that are not
 * loopback: the dashboard stays on this machine. When the last peer reaches the new port, the
 * socket is bound again on `host` alone.
 */
import type { Server } from "bun";
import type { Hono } from "hono";
import { GroveError, errorMessage } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { isLoopbackAddress, isLoopbackHost } from "../net/loopback.ts";
import type { WebEnv } from "./context.ts";
import type { LegacyWindow } from "./legacy-window.ts";
import type { ListenInfo } from "../api/types.ts";
import type { TlsFiles } from "./tls.ts";

export interface ListenPlan {
  dashboard: { host: string; port: number; tls: TlsFiles | null; maxBodyBytes: number };
  peer: { host: string; port: number; maxBodyBytes: number };
  legacy: LegacyWindow | null;
}

/** A URL a local client uses for a socket bound to host:port. */
export function urlFor(host: string, port: number, tls = false): string {
  const h = host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `${tls ? "https" : "http"}://${h}:${port}`;
}

const isPeerPath = (url: string) => {
  const p = new URL(url).pathname;
  return p === "/peer" || p.startsWith("/peer/");
};

function bindError(what: string, key: string, host: string, port: number, e: unknown): GroveError {
  const msg = errorMessage(e);
  if (/in use|EADDRINUSE/i.test(msg + String((e as { code?: string }).code))) {
    return new GroveError(
      `${what}: port ${port} on ${host} is already in use (is another cell running? change "${key}" in config.json, or pass --${key.replace("_", "-")})`,
      409,
      "port_in_use",
    );
  }
  return new GroveError(`${what}: cannot listen on ${host}:${port}: ${msg}`, 500, "listen");
}

export class Listeners {
  private dashboard!: Server<undefined>;
  private peer!: Server<undefined>;
  private legacy: LegacyWindow | null;

  constructor(
    private readonly plan: ListenPlan,
    private readonly apps: { dashboard: Hono<WebEnv>; peer: Hono<WebEnv> },
  ) {
    this.legacy = plan.legacy;
  }

  /** Bind both sockets; throws a GroveError naming the config key when a port is taken. */
  start(): this {
    this.dashboard = this.serveDashboard(this.legacy?.host ?? this.plan.dashboard.host);
    const p = this.plan.peer;
    try {
      this.peer = Bun.serve({
        hostname: p.host,
        port: p.port,
        maxRequestBodySize: p.maxBodyBytes,
        idleTimeout: 255,
        fetch: (req, server) => this.apps.peer.fetch(req, { server, listener: "peer" }),
      });
    } catch (e) {
      this.dashboard.stop(true);
      throw bindError("peer API", "peer_port", p.host, p.port, e);
    }
    return this;
  }

  private serveDashboard(host: string): Server<undefined> {
    const d = this.plan.dashboard;
    // Beyond loopback only when `host` says so; a legacy window's wider socket serves peers alone.
    const guard = isLoopbackHost(d.host);
    try {
      return Bun.serve({
        hostname: host,
        port: d.port,
        ...(d.tls ? { tls: { cert: d.tls.cert, key: d.tls.key } } : {}),
        // Uploads stream through and are counted by their routes (web/body-limit); this is the outer bound.
        maxRequestBodySize: d.maxBodyBytes,
        idleTimeout: 255,
        fetch: (req, server) => {
          if (guard && !isLoopbackAddress(server.requestIP(req)?.address) && !isPeerPath(req.url)) {
            return Response.json({ error: "the dashboard answers this machine only" }, { status: 403 });
          }
          return this.apps.dashboard.fetch(req, { server, listener: "dashboard" });
        },
      });
    } catch (e) {
      throw bindError("dashboard", "port", host, d.port, e);
    }
  }

  /** Every current peer reached the new port: bind the dashboard on `host` alone. */
  closeLegacy(): void {
    if (!this.legacy) return;
    const w = this.legacy;
    this.legacy = null;
    w.close();
    if (w.host === this.plan.dashboard.host) return;
    const port = this.dashboard.port!;
    this.dashboard.stop(false);
    this.plan.dashboard.port = port; // keep the port it had (also when 0 was asked for)
    try {
      this.dashboard = this.serveDashboard(this.plan.dashboard.host);
      log("info", "legacy peer window closed: every peer reaches the new peer port", { dashboard: `${this.plan.dashboard.host}:${port}` });
    } catch (e) {
      log("error", `legacy peer window closed, but the dashboard could not listen again: ${errorMessage(e)}`);
    }
  }

  get legacyWindow(): LegacyWindow | null {
    return this.legacy;
  }

  info(peersWaiting = 0): ListenInfo {
    const d = this.plan.dashboard;
    const dashHost = this.legacy?.host ?? d.host;
    return {
      dashboard: {
        url: urlFor(d.host, this.dashboard.port!, d.tls !== null),
        host: dashHost,
        port: this.dashboard.port!,
        tls: d.tls !== null,
        public: !isLoopbackHost(d.host),
        fingerprint: d.tls?.fingerprint ?? null,
      },
      peer: { url: urlFor(this.plan.peer.host, this.peer.port!), host: this.plan.peer.host, port: this.peer.port! },
      legacy: this.legacy ? { host: this.legacy.host, port: this.dashboard.port!, waiting_for: peersWaiting } : null,
    };
  }

  stop(): void {
    this.dashboard.stop(true);
    this.peer.stop(true);
  }
}
