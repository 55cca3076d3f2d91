/**
 * Route auth audit: every HTTP route the cell registers (read from the Hono app itself, so a
 * route added later is audited without touching this file) is called on the cell's app in process
 * without a credential, and with a wrong one. Each must refuse — 401/403, or a redirect to the
 * login page for dashboard pages — except the explicit PUBLIC list below, each with its reason.
 * The relay's routes are audited the same way: /status (counts only) is public, /v1/relay
 * admits only a signed login, anything else is 404.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { openApp, type TestApp } from "../helpers/app.ts";
import { Client, newKeys, startRelay } from "../helpers/relay.ts";
import { PasswordFile } from "../../src/web/password.ts";
import { signRequest } from "../../src/protocol/request-auth.ts";
import { deriveIdentity } from "../../src/crypto/keys.ts";
import { toHex, type CellId } from "../../src/core/types.ts";

/** Routes anyone may call, and why. Everything else must refuse without a credential. */
const PUBLIC: Record<string, string> = {
  "GET /static/:name": "the dashboard's CSS, JS and icon",
  "GET /favicon.ico": "a redirect to the icon",
  "GET /": "a redirect to /files (which is protected)",
  "GET /setup": "first-run password page; redirects to /login once a password exists",
  "POST /setup": "first-run password, from localhost only, with the one-time setup code, before any password exists",
  "GET /login": "the login form",
  "POST /login": "the credential itself (CSRF-checked, rate-limited)",
  "GET /peer/hello": "the cell's id and X25519 public key, for a new cell of mine that has only its address and the words",
};

type Route = { method: string; path: string };
let routes: Route[] = [];
let cell: TestApp;

/** A concrete URL path for a route pattern. */
function concrete(path: string): string {
  return path
    .replace(/:hash|:peer|:id/g, "a".repeat(64))
    .replace(/:name/g, "x.gguf")
    .replace(/:action/g, "friend")
    .replace(/\*$/, "x.txt");
}

beforeAll(async () => {
  // The routes of the app the cell serves, read from it, and called in process (test/helpers/app).
  cell = openApp();
  const seen = new Set<string>();
  for (const r of cell.rt.app.routes) {
    if (r.method === "ALL") continue; // middleware
    const k = `${r.method} ${r.path}`;
    if (!seen.has(k)) seen.add(k), routes.push({ method: r.method, path: r.path });
  }
  await new PasswordFile(join(cell.dir, "dashboard_auth")).set("a long enough password");
});

afterAll(() => cell.close());

/** Routes whose credential is something other than the caller's identity: any 4xx is a refusal. */
const OWN_CREDENTIAL: Record<string, string> = {
  "POST /peer/join": "a cell that is not a peer yet may try; it must bring a live invite secret sealed to this cell",
  "POST /peer/join/words": "a cell that is not a peer yet may try; it must bring the vouch of one of my cells' words, sealed to this cell",
};

function refused(route: Route, status: number, location: string | null): boolean {
  if (status === 401 || status === 403) return true;
  if (OWN_CREDENTIAL[`${route.method} ${route.path}`]) return status >= 400 && status < 500;
  const page = !route.path.startsWith("/api/") && !route.path.startsWith("/peer/");
  return page && (status === 302 || status === 303) && (location ?? "").startsWith("/login");
}

async function call(route: Route, headers: Record<string, string> = {}): Promise<{ status: number; location: string | null }> {
  const body = route.method === "GET" || route.method === "HEAD" ? undefined : "{}";
  const r = await cell.request(concrete(route.path), {
    method: route.method,
    headers: { "content-type": "application/json", ...headers },
    body,
    redirect: "manual",
  });
  await r.arrayBuffer();
  return { status: r.status, location: r.headers.get("location") };
}

describe("every cell route refuses a caller without the right credential", () => {
  test("the route table is read from the app and covers every surface", () => {
    const keys = new Set(routes.map((r) => `${r.method} ${r.path}`));
    expect(routes.length).toBeGreaterThan(60);
    for (const k of [
      "PUT /api/files/*",
      "POST /peer/sync/inventory",
      "PUT /peer/sync/chunks/:hash",
      "POST /peer/msg",
      "GET /settings",
      "POST /settings",
      "POST /settings/recovery-phrase",
      "POST /settings/recovery-phrase/written",
      "POST /files/delete",
      "POST /files/mkdir",
      "POST /files/move",
      "POST /files/move-many",
      "POST /files/delete-many",
      "POST /files/delete-folder",
      "POST /files/undelete",
    ])
      expect(keys.has(k)).toBe(true);
    for (const k of Object.keys(PUBLIC)) expect(keys.has(k)).toBe(true); // the public list names real routes
  });

  test("no credential: refused (or a redirect to /login), except the public list", async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      if (PUBLIC[`${r.method} ${r.path}`]) continue;
      const { status, location } = await call(r);
      if (!refused(r, status, location)) wrong.push(`${r.method} ${r.path} -> ${status} ${location ?? ""}`);
    }
    expect(wrong).toEqual([]);
  });

  test("a wrong API token, a forged session cookie, or a request signed by an unknown cell: refused too", async () => {
    const stranger = deriveIdentity(new Uint8Array(randomBytes(32)));
    const strangerId = toHex(stranger.ed25519Public) as CellId;
    const wrong: string[] = [];
    for (const r of routes) {
      if (PUBLIC[`${r.method} ${r.path}`]) continue;
      let headers: Record<string, string>;
      if (r.path.startsWith("/peer/")) {
        const body = r.method === "GET" || r.method === "HEAD" ? null : new TextEncoder().encode("{}");
        headers = { ...signRequest(stranger.ed25519Secret, strangerId, r.method, concrete(r.path), body) };
      } else if (r.path.startsWith("/api/")) headers = { authorization: `Bearer ${"0".repeat(43)}` };
      else headers = { cookie: `grove_session=${randomBytes(24).toString("base64url")}` };
      const { status, location } = await call(r, headers);
      if (!refused(r, status, location)) wrong.push(`${r.method} ${r.path} -> ${status}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("every route but /peer answers only to this cell's names, and the peer listener only /peer", () => {
  test("a foreign Host header (DNS rebinding) is refused on every non-peer route, the public ones and a valid token included", async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      if (r.path.startsWith("/peer/")) continue;
      const { status } = await call(r, { host: "rebind.attacker.test:5678", authorization: `Bearer ${cell.token}` });
      if (status !== 403) wrong.push(`${r.method} ${r.path} -> ${status}`);
    }
    expect(wrong).toEqual([]);
  });

  test("on the peer listener, every route that is not /peer is absent (404), whatever the credential", async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      if (r.path.startsWith("/peer/") || (r.method === "GET" && r.path === "/")) continue;
      const body = r.method === "GET" || r.method === "HEAD" ? undefined : "{}";
      const res = await cell.peer(concrete(r.path), {
        method: r.method,
        headers: { authorization: `Bearer ${cell.token}`, "content-type": "application/json" },
        body,
        redirect: "manual",
      });
      await res.arrayBuffer();
      if (res.status !== 404) wrong.push(`${r.method} ${r.path} -> ${res.status}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("relay routes", () => {
  let relay: Awaited<ReturnType<typeof startRelay>>;
  beforeAll(async () => {
    relay = await startRelay(["--allow", "b".repeat(64), "--max-per-ip", "4"]);
  }, 30_000);
  afterAll(async () => {
    relay.proc.kill("SIGTERM");
    await relay.proc.exited;
  });

  test("/status is public and holds counts only; /v1/relay needs a signed login from an allowed cell; other paths are 404", async () => {
    const st = await (await fetch(`http://${relay.url}/status`)).json();
    expect(Object.keys(st).sort()).toEqual([
      "bytes_relayed",
      "cells",
      "circuits",
      "connections",
      "frames_relayed",
      "guests",
      "limits",
      "open",
      "refused",
      "uptime_s",
    ]);
    expect(JSON.stringify(st)).not.toMatch(/[0-9a-f]{64}/); // no cell ids
    expect((await fetch(`http://${relay.url}/v1/relay`)).status).toBe(426); // not a WebSocket
    for (const p of ["/", "/admin", "/v1/relay/x", "/status/../v1"]) expect((await fetch(`http://${relay.url}${p}`)).status).toBe(404);
    const outsider = await Client.connect(relay.url, newKeys(), []);
    expect(outsider.state).toBe("refused");
    expect(outsider.texts[0]?.reason).toContain("allow-list");
    const forged = await Client.connect(relay.url, { ...newKeys(), id: "b".repeat(64) }, [], newKeys());
    expect(forged.state).toBe("refused");
  });
});
