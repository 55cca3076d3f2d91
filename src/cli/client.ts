/**
 * @module cli/client — how the CLI reaches the running cell: its URL (from GROVE_DIR/cell.json,
 * else GROVE_PORT, else 5678) and its API token (GROVE_DIR/api_token).
 */
import { existsSync, readFileSync } from "node:fs";
import type { Layout } from "../core/layout.ts";
import { CliError } from "./command.ts";
import { textLines } from "../core/lines.ts";

export interface RuntimeInfo {
  pid: number;
  /** The dashboard and local API. */
  url: string;
  host: string;
  port: number;
  /** The peer API's listener (absent in cell.json of older builds). */
  peer_url?: string;
  /** SHA-256 of the dashboard's TLS certificate, when it uses TLS (the CLI pins it). */
  tls_fingerprint?: string | null;
}

/** URL a local client should use for a cell bound to host:port. */
export function localUrl(host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

export function readRuntime(layout: Layout): RuntimeInfo | null {
  try {
    return JSON.parse(readFileSync(layout.runtime, "utf8")) as RuntimeInfo;
  } catch {
    return null;
  }
}

export class CellClient {
  constructor(
    readonly baseUrl: string,
    private token: string,
  ) {}

  /** fetch against the cell's API with the token; a refused connection becomes a clear CliError. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${this.token}`);
    try {
      // A dashboard with TLS on loopback: the CLI talks to its own cell's socket, which nothing else on
      // this machine can hold while the cell runs, so the certificate (often self-signed) is not checked.
      const tls =
        this.baseUrl.startsWith("https://127.") || this.baseUrl.startsWith("https://[::1]") ? { tls: { rejectUnauthorized: false } } : {};
      return await fetch(this.baseUrl + path, { ...init, headers, decompress: false, ...tls } as unknown as RequestInit);
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      if (/ConnectionRefused|ECONNREFUSED|FailedToOpenSocket|ConnectionClosed/i.test(code + " " + (e as Error).message)) {
        throw new CliError(`no cell is running at ${this.baseUrl} (start one with \`grove start\`)`);
      }
      throw new CliError(`cannot reach the cell at ${this.baseUrl}: ${(e as Error).message}`);
    }
  }

  /** Request and decode JSON; a non-2xx answer becomes a CliError with the cell's message. */
  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.request(path, init);
    return (await readJson(res)) as T;
  }
}

export async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (!res.ok) {
    const msg = (body as { error?: string } | null)?.error ?? (text.slice(0, 200) || res.statusText);
    throw new CliError(msg);
  }
  return body;
}

/** A client for the cell of `layout`. */
export function connect(layout: Layout, env = process.env): CellClient {
  if (!existsSync(layout.apiToken)) {
    throw new CliError(`no cell in ${layout.dir} (start one with \`grove start\`, or set GROVE_DIR)`);
  }
  const token = readFileSync(layout.apiToken, "utf8").trim();
  const rt = readRuntime(layout);
  const url = rt?.url ?? localUrl("127.0.0.1", Number(env.GROVE_PORT) || 5678);
  return new CellClient(url, token);
}

/** The API URL path of a GROVE_HOME path, each segment encoded. */
export function filePath(path: string, query = ""): string {
  return "/api/files/" + path.split("/").map(encodeURIComponent).join("/") + query;
}

/** True when the cell runs on this machine (its URL is a loopback address), so it can read and write our files. */
export function isLocalCell(client: CellClient): boolean {
  if (process.env.GROVE_CLI_STREAM === "1") return false;
  const host = new URL(client.baseUrl).hostname;
  return host === "127.0.0.1" || host === "localhost" || host === "[::1]" || host.startsWith("127.");
}

export interface LocalProgress {
  phase: string;
  done: number;
  total: number;
}

/**
 * POST to a /api/local endpoint and follow its NDJSON answer: progress lines go to
 * `onProgress`, the final line is returned (or thrown as a CliError).
 */
export async function localTransfer<T>(
  client: CellClient,
  endpoint: string,
  body: unknown,
  onProgress: (p: LocalProgress) => void,
): Promise<T> {
  const res = await client.request(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) await readJson(res);
  for await (const line of textLines(res.body!)) {
    const msg = JSON.parse(line) as { progress?: LocalProgress; result?: T; error?: string };
    if (msg.progress) onProgress(msg.progress);
    else if (msg.error !== undefined) throw new CliError(msg.error);
    else if ("result" in msg) return msg.result as T;
  }
  throw new CliError("the cell stopped answering before the transfer finished");
}
