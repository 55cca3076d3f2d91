/**
 * Test helper: start a real `grove start` process on a free loopback port with its own
 * temporary GROVE_DIR and GROVE_HOME, and drive it through the CLI and HTTP.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = resolve(import.meta.dir, "..", "..");
export const BUN = process.execPath;
export const CLI = join(ROOT, "src", "cli.ts");

export interface TestCell {
  dir: string;
  home: string;
  root: string;
  url: string;
  port: number;
  token: string;
  proc: Subprocess;
  /** Everything the cell printed so far (stdout + stderr). */
  output(): string;
  env: Record<string, string>;
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

export async function runGrove(cmd: GroveCommand, args: string[], env: Record<string, string>, opts: { stdin?: Uint8Array | string; cwd?: string } = {}) {
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
  /** Where to listen (default: a free port on 127.0.0.1). */
  listen?: { host: string; port: number };
  /** More arguments for `grove start` (e.g. --auto-restart). */
  args?: string[];
}

/** Start a cell and wait until its API answers. */
export async function startCell(opts: StartOptions = {}): Promise<TestCell> {
  const root = opts.root ?? tempRoot();
  const dir = join(root, "dir");
  const home = join(root, "home");
  // With a config, sync rounds run when the test asks (`grove sync`), not a few seconds after
  // a put, unless the test sets sync_after_change_s itself.
  if (opts.config) {
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, "config.json"), JSON.stringify({ sync_after_change_s: 0, ...opts.config }));
  }
  // No mDNS unless a test asks for it (inside its own network namespace): multicast would
  // leave the machine.
  const env = { GROVE_DIR: dir, GROVE_HOME: home, GROVE_MDNS: "0", ...(opts.env ?? {}) };
  const cmd = opts.cmd ?? FROM_SOURCE;
  let out = "";
  const listen = opts.listen ?? { host: "127.0.0.1", port: 0 };
  const proc = Bun.spawn([...cmd, "start", "--port", String(listen.port), "--host", listen.host, ...(opts.args ?? [])], {
    env: { ...process.env, ...env },
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const c of s as unknown as AsyncIterable<Uint8Array>) out += dec.decode(c);
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  const runtime = join(dir, "cell.json");
  const deadline = Date.now() + 20_000;
  // Ready = cell.json written and the start banner read from its output (it may arrive later).
  while (!existsSync(runtime) || !/listening on/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`cell exited with ${proc.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`cell did not start:\n${out}`);
    await Bun.sleep(25);
  }
  const rt = JSON.parse(readFileSync(runtime, "utf8")) as { url: string; port: number };
  const token = readFileSync(join(dir, "api_token"), "utf8").trim();
  const cell: TestCell = {
    dir,
    home,
    root,
    url: rt.url,
    port: rt.port,
    token,
    proc,
    env,
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

/** Pair two running cells: `inviter` makes an invite, `joiner` redeems it (throws when it fails). */
export async function pair(inviter: TestCell, joiner: TestCell): Promise<void> {
  const token = (await inviter.cli(["invite"])).stdout.trim();
  const r = await joiner.cli(["join", token]);
  if (r.code !== 0) throw new Error(`grove join failed (${r.code}): ${r.stderr}`);
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
