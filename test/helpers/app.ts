/**
 * Test helper: a cell's apps in this process (runtime/runtime `inProcess`: no sockets, no sync
 * Worker, relays, mDNS or watcher), for route, auth, CSRF, validation and rendering tests. Requests
 * go through `app.request` with the connection a listener would give them (loopback by default).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveLayout } from "../../src/core/layout.ts";
import { tapLog } from "../../src/core/log.ts";
import { openRuntime, type Runtime } from "../../src/runtime/runtime.ts";

export interface TestApp {
  root: string;
  dir: string;
  home: string;
  token: string;
  rt: Runtime;
  /** A request to the dashboard's app, from `from` (default 127.0.0.1). */
  request(path: string, init?: RequestInit, from?: string): Promise<Response>;
  /** `request` with the API token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** A request to the peer listener's app. */
  peer(path: string, init?: RequestInit): Promise<Response>;
  /** Every log record so far. */
  logs(): string;
  close(): void;
}

export function openApp(config: Record<string, unknown> = {}): TestApp {
  const root = mkdtempSync(join(tmpdir(), "grove-app-"));
  const dir = join(root, "dir");
  const home = join(root, "home");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ config_version: 2, mdns: false, watch_home: false, ...config }));
  let logs = "";
  const untap = tapLog((l) => (logs += l));
  const rt = openRuntime({
    layout: resolveLayout({ GROVE_DIR: dir, GROVE_HOME: home }),
    listen: { host: "127.0.0.1", port: 0, peerHost: "127.0.0.1", peerPort: 0 },
    tls: null,
    inProcess: true,
  });
  const token = readFileSync(join(dir, "api_token"), "utf8").trim();
  const conn = (address: string) => ({ requestIP: () => ({ address, family: address.includes(":") ? "IPv6" : "IPv4", port: 40000 }) });
  const url = (path: string) => (path.startsWith("http") ? path : `http://127.0.0.1:5678${path}`);
  // A browser or client sends Host; Request objects made here have none unless given.
  const withHost = (path: string, init: RequestInit): RequestInit => {
    const headers = new Headers(init.headers);
    if (!headers.has("host")) headers.set("host", new URL(url(path)).host);
    return { ...init, headers };
  };
  const request = async (path: string, init: RequestInit = {}, from = "127.0.0.1") =>
    rt.app.request(url(path), withHost(path, init), { server: conn(from), listener: "dashboard" } as never);
  return {
    root,
    dir,
    home,
    token,
    rt,
    request,
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
      return request(path, { ...init, headers });
    },
    peer: async (path, init = {}) =>
      rt.peerApp.request(url(path), withHost(path, init), { server: conn("127.0.0.1"), listener: "peer" } as never),
    logs: () => logs,
    close() {
      untap();
      rt.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
