/**
 * Test helper: start a real `grove start` process on a free loopback port with its own
 * temporary GROVE_DIR and GROVE_HOME, and drive it through the CLI and HTTP.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { until } from "./until.ts";

export const ROOT = resolve(import.meta.dir, "..", "..");
export const BUN = process.execPath;
export const CLI = join(ROOT, "src", "cli.ts");

export interface TestCell {
  dir: string;
  home: string;
  root: string;
  /** The dashboard and local API (loopback). */
  url: string;
  port: number;
  /** The peer API's listener: what other cells call (/peer/*). */
  peerUrl: string;
  peerPort: number;
  token: string;
  proc: Subprocess;
  /** Everything the cell printed so far (stdout + stderr). */
  output(): string;
  env: Record<string, string>;
  /**
   * Whether this process reaches the cell's API (`api`): not for a cell run inside a network
   * namespace (`ip netns exec`), whose dashboard is on that namespace's loopback; its CLI, run
   * there too, reaches it.
   */
  apiReachable: boolean;
  /** Run a grove CLI command against this cell. */
  cli(args: string[], opts?: { stdin?: Uint8Array | string; cwd?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** fetch with the API token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

export function tempRoot(prefix = "grove-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The command that runs grove: the source through Bun, or a built executable. */
export type GroveCommand = string[];
export const FROM_SOURCE: GroveCommand = [BUN, CLI];

export async function runGrove(
  cmd: GroveCommand,
  args: string[],
  env: Record<string, string>,
  opts: { stdin?: Uint8Array | string; cwd?: string } = {},
) {
  const p = Bun.spawn([...cmd, ...args], {
    env: { ...process.env, ...env, GROVE_NO_PROGRESS: "1" },
    cwd: opts.cwd ?? ROOT,
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin as BlobPart]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

export interface StartOptions {
  root?: string;
  config?: Record<string, unknown>;
  cmd?: GroveCommand;
  env?: Record<string, string>;
  /**
   * Where to listen (default: free ports on 127.0.0.1). A loopback host is the dashboard's (the
   * peer API then takes `peerPort`, else the port this root had before, else a free one); any
   * other host is the peer API's, for tests in network namespaces (the dashboard stays on
   * 127.0.0.1 with a free port).
   */
  listen?: { host: string; port: number; peerPort?: number };
  /** More arguments for `grove start` (e.g. --auto-restart). */
  args?: string[];
}

/** The ports each cell root last had: a cell started again on its dashboard port keeps its peer port too (peers know it). */
const portsOf = new Map<string, { port: number; peerPort: number }>();

/** Start a cell and wait until its API answers. */
export async function startCell(opts: StartOptions = {}): Promise<TestCell> {
  const root = opts.root ?? tempRoot();
  const dir = join(root, "dir");
  const home = join(root, "home");
  // With a config, sync rounds run when the test asks (`grove sync`), not a few seconds after
  // a put, unless the test sets sync_after_change_s itself; chunks are placed by those rounds alone,
  // not pushed on store, unless it sets push_on_store.
  if (opts.config) {
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ config_version: 2, sync_after_change_s: 0, push_on_store: false, ...opts.config }),
    );
  }
  // No mDNS unless a test asks for it (inside its own network namespace): multicast would
  // leave the machine.
  const env = { GROVE_DIR: dir, GROVE_HOME: home, GROVE_MDNS: "0", ...(opts.env ?? {}) };
  const cmd = opts.cmd ?? FROM_SOURCE;
  let out = "";
  const listen = opts.listen ?? { host: "127.0.0.1", port: 0 };
  const loopback = listen.host === "127.0.0.1" || listen.host === "::1" || listen.host === "localhost";
  const before = portsOf.get(root);
  const addr = loopback
    ? {
        host: listen.host,
        port: listen.port,
        peerHost: "127.0.0.1",
        peerPort: listen.peerPort ?? (before && listen.port !== 0 && listen.port === before.port ? before.peerPort : 0),
      }
    : { host: "127.0.0.1", port: 0, peerHost: listen.host, peerPort: listen.port };
  const proc = Bun.spawn(
    [
      ...cmd,
      "start",
      "--port",
      String(addr.port),
      "--host",
      addr.host,
      "--peer-port",
      String(addr.peerPort),
      "--peer-host",
      addr.peerHost,
      ...(opts.args ?? []),
    ],
    {
      env: { ...process.env, ...env },
      cwd: root,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const c of s as unknown as AsyncIterable<Uint8Array>) out += dec.decode(c);
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  const runtime = join(dir, "cell.json");
  const deadline = Date.now() + 20_000;
  // Ready = cell.json written, and the start banner (stdout) and the "cell started" log line
  // (stderr, written after every start-up message and warning) read from its output.
  while (!existsSync(runtime) || !/listening on/.test(out) || !/cell started/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`cell exited with ${proc.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`cell did not start:\n${out}`);
    await Bun.sleep(25);
  }
  const rt = JSON.parse(readFileSync(runtime, "utf8")) as { url: string; port: number; peer_url?: string };
  const peerUrl = rt.peer_url ?? rt.url;
  portsOf.set(root, { port: rt.port, peerPort: Number(new URL(peerUrl).port) });
  const token = readFileSync(join(dir, "api_token"), "utf8").trim();
  const cell: TestCell = {
    dir,
    home,
    root,
    url: rt.url,
    port: rt.port,
    peerUrl,
    peerPort: Number(new URL(peerUrl).port),
    token,
    proc,
    env,
    apiReachable: !(cmd[0] === "ip" && cmd[1] === "netns"),
    output: () => out,
    cli: (args, o) => runGrove(cmd, args, env, o),
    api: (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (!headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
      return fetch(rt.url + path, { ...init, headers });
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        await Promise.race([proc.exited, Bun.sleep(5000)]);
        if (proc.exitCode === null) proc.kill("SIGKILL");
      }
    },
  };
  return cell;
}

/** Stop the cell and remove its temporary folders. */
export async function destroyCell(c: TestCell | undefined): Promise<void> {
  if (!c) return;
  await c.stop();
  rmSync(c.root, { recursive: true, force: true });
}

/**
 * Pair two running cells: `inviter` makes an invite (POST /api/invites, what `grove invite`
 * calls), `joiner` redeems it (POST /api/join, what `grove join` calls); throws when it fails.
 * A cell whose API this process does not reach (apiReachable) is driven by its CLI instead.
 *
 * First it waits for each cell's start-up round to end (sync/sync-service runs one round when the
 * cell starts, as soon as its Worker is open). A join made at once can land before that round
 * reads its peers, and the round then takes the new peer: it backs up the manifests, pushes the
 * chunks, and meets a full peer's refusal (and its 10 min wait) that the test's own first
 * `grove sync` was to see. `grove join` hid this only by the time its process takes to start.
 */
export async function pair(inviter: TestCell, joiner: TestCell): Promise<void> {
  await Promise.all([untilStartupRound(inviter), untilStartupRound(joiner)]);
  let token: string;
  if (inviter.apiReachable) {
    const inv = await inviter.api("/api/invites", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    if (inv.status !== 201) throw new Error(`POST /api/invites: ${inv.status} ${await inv.text()}`);
    token = ((await inv.json()) as { token: string }).token;
  } else token = (await inviter.cli(["invite"])).stdout.trim();
  if (joiner.apiReachable) {
    const r = await joiner.api("/api/join", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token }),
    });
    if (r.status !== 200) throw new Error(`POST /api/join: ${r.status} ${await r.text()}`);
    return;
  }
  const r = await joiner.cli(["join", token]);
  if (r.code !== 0) throw new Error(`grove join failed (${r.code}): ${r.stderr}`);
}

/**
 * Wait until `c`'s start-up sync round has ended (GET /api/sync has a last round or its error); at
 * once for a cell that runs no rounds (503) or whose API is out of reach.
 */
export async function untilStartupRound(c: TestCell, ms = 60_000): Promise<void> {
  if (!c.apiReachable) return;
  await until(
    "the cell's start-up sync round to end",
    async () => {
      const r = await c.api("/api/sync");
      if (r.status === 503) return (await r.arrayBuffer(), true);
      if (r.status !== 200) throw new Error(`GET /api/sync: ${r.status} ${await r.text()}`);
      const s = (await r.json()) as { last: unknown; last_error: string | null };
      return s.last !== null || s.last_error !== null;
    },
    ms,
    25,
  );
}

/** Run `grove ARGS --json` on `cell` and parse the answer; a non-zero exit throws with stderr. */
export async function cliJson<T>(cell: TestCell, args: string[]): Promise<T> {
  const r = await cell.cli([...args, "--json"]);
  if (r.code !== 0) throw new Error(`grove ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for a cell that must keep its port). */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

/** The one-time first-run setup code the cell wrote (GROVE_DIR/setup_code). */
export function setupCode(c: { dir: string }): string {
  return readFileSync(join(c.dir, "setup_code"), "utf8").trim();
}

/**
 * First-run setup from loopback (setup code, password) through `send` (a cell's URL, or an app in
 * this process): the session cookie and its CSRF token. Throws unless the cell answers 303 with a session.
 */
export async function firstRunSession(
  send: (path: string, init?: RequestInit) => Promise<Response>,
  dir: string,
  password = "correct-horse",
): Promise<{ cookie: string; csrf: string }> {
  const page = await send("/setup");
  const formCookie = page.headers.get("set-cookie")!.split(";")[0]!;
  const formToken = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const set = await send("/setup", {
    method: "POST",
    redirect: "manual",
    headers: { cookie: formCookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: formToken, code: setupCode({ dir }), password, confirm: password }).toString(),
  });
  if (set.status !== 303) throw new Error(`first-run setup answered ${set.status}: ${await set.text()}`);
  const cookie = set.headers.get("set-cookie")!.split(";")[0]!;
  const files = await (await send("/files", { headers: { cookie } })).text();
  return { cookie, csrf: /name="csrf-token" content="([^"]+)"/.exec(files)![1]! };
}

/** First-run setup of a running cell over HTTP (see firstRunSession). */
export function dashboardSession(c: TestCell, password = "correct-horse"): Promise<{ cookie: string; csrf: string }> {
  return firstRunSession((path, init) => fetch(c.url + path, init), c.dir, password);
}

/**
 * Store `data` as `path` on a running cell (apiReachable) through its API (PUT /api/files/PATH, what the
 * dashboard's upload uses): for a test's set-up, where `grove put` itself is not what is tested
 * (it costs a CLI process each time). Throws unless the cell answers 201 or 200.
 */
export async function putFile(
  c: TestCell,
  path: string,
  data: Uint8Array | string,
): Promise<{ path: string; version: number; created: boolean }> {
  const r = await c.api(`/api/files/${path.split("/").map(encodeURIComponent).join("/")}`, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: data as BodyInit,
  });
  if (r.status !== 201 && r.status !== 200) throw new Error(`PUT /api/files/${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as { path: string; version: number; created: boolean };
}
