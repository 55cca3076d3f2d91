/**
 * @module test/fuzz/raw-http — a minimal HTTP/1.1 client on one kept-alive TCP connection, for
 * the fuzzer: it sends the request line and headers exactly as given (`../`, `%00`, odd bytes,
 * duplicate headers), which fetch would normalise or refuse. One request at a time; a connection
 * the server closes is reopened for the next one. Loopback only.
 */
import type { Socket } from "bun";

export interface RawRequest {
  method: string;
  /** The request-target exactly as sent (may hold bytes fetch would not send). */
  target: string;
  headers: [string, string][];
  body: Uint8Array | null;
}

export type RawResult =
  | { ok: true; status: number; headers: Record<string, string>; body: Uint8Array; ms: number }
  | { ok: false; error: "timeout" | "closed" | "connect"; ms: number };

const CRLF2 = Buffer.from("\r\n\r\n");

interface Pending {
  method: string;
  resolve(r: RawResult): void;
  t0: number;
  timer: ReturnType<typeof setTimeout>;
}

export class RawHttp {
  private sock: Socket<undefined> | null = null;
  private connecting: Promise<void> | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private pending: Pending | null = null;
  private out: Uint8Array[] = [];
  /** Connections opened so far (the server closes one after some refusals). */
  opened = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  private connect(): Promise<void> {
    this.connecting ??= Bun.connect({
      hostname: this.host,
      port: this.port,
      socket: {
        data: (_s, d) => this.onData(d),
        drain: () => this.flush(),
        close: () => this.onClose(),
        error: () => this.onClose(),
        connectError: () => this.onClose(),
      },
    }).then(
      (s) => {
        this.sock = s;
        (s as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
        this.opened++;
        this.connecting = null;
      },
      (e) => {
        this.connecting = null;
        throw e;
      },
    );
    return this.connecting;
  }

  async request(req: RawRequest, timeoutMs = 20_000): Promise<RawResult> {
    const t0 = performance.now();
    if (!this.sock) {
      try {
        await this.connect();
      } catch {
        return { ok: false, error: "connect", ms: performance.now() - t0 };
      }
    }
    const head = [`${req.method} ${req.target} HTTP/1.1`, `Host: ${this.host}:${this.port}`];
    for (const [k, v] of req.headers) head.push(`${k}: ${v}`);
    if (req.body !== null) head.push(`Content-Length: ${req.body.byteLength}`);
    const bytes = Buffer.from(head.join("\r\n") + "\r\n\r\n", "utf8");
    return new Promise<RawResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending = null;
        this.drop();
        resolve({ ok: false, error: "timeout", ms: performance.now() - t0 });
      }, timeoutMs);
      this.pending = { method: req.method, resolve, t0, timer };
      this.buf = Buffer.alloc(0);
      // One write: a request split over two small writes waits on Nagle and delayed ACKs.
      this.out.push(req.body && req.body.byteLength ? Buffer.concat([bytes, req.body]) : bytes);
      this.flush();
    });
  }

  private flush(): void {
    while (this.sock && this.out.length) {
      const next = this.out[0]!;
      const n = this.sock.write(next);
      if (n < next.byteLength) {
        this.out[0] = next.subarray(Math.max(0, n));
        return; // the rest on `drain`
      }
      this.out.shift();
    }
  }

  private onData(d: Uint8Array): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : Buffer.from(d);
    this.tryParse(false);
  }

  private onClose(): void {
    this.sock = null;
    this.out = [];
    if (this.pending) this.tryParse(true);
    if (this.pending) this.finish({ ok: false, error: "closed", ms: performance.now() - this.pending.t0 });
  }

  private drop(): void {
    const s = this.sock;
    this.sock = null;
    this.out = [];
    s?.terminate();
  }

  private finish(r: RawResult): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    clearTimeout(p.timer);
    p.resolve(r);
  }

  private tryParse(closed: boolean): void {
    const p = this.pending;
    if (!p) return;
    const end = this.buf.indexOf(CRLF2);
    if (end < 0) return;
    const lines = this.buf.subarray(0, end).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
    if (status >= 100 && status < 200) {
      // An interim answer (100 Continue): the real one follows.
      this.buf = Buffer.from(this.buf.subarray(end + 4));
      return this.tryParse(closed);
    }
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(":");
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const rest = this.buf.subarray(end + 4);
    let body: Uint8Array | null = null;
    let consumed = 0;
    if (p.method === "HEAD" || status === 204 || status === 304) body = new Uint8Array(0);
    else if (headers["content-length"] !== undefined) {
      const n = Number(headers["content-length"]);
      if (rest.byteLength >= n) (body = rest.subarray(0, n)), (consumed = n);
    } else if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
      const r = dechunk(rest);
      if (r) (body = r.body), (consumed = r.used);
    } else if (closed) body = rest;
    if (!body) return;
    this.buf = Buffer.from(rest.subarray(consumed));
    if (/close/i.test(headers["connection"] ?? "")) this.drop();
    this.finish({ ok: true, status, headers, body: new Uint8Array(body), ms: performance.now() - p.t0 });
  }

  close(): void {
    this.drop();
  }
}

function dechunk(b: Buffer): { body: Uint8Array; used: number } | null {
  const parts: Buffer[] = [];
  let o = 0;
  for (;;) {
    const nl = b.indexOf("\r\n", o);
    if (nl < 0) return null;
    const size = parseInt(b.subarray(o, nl).toString("latin1"), 16);
    if (!Number.isFinite(size)) return null;
    o = nl + 2;
    if (size === 0) {
      const endNl = b.indexOf("\r\n", o);
      if (endNl < 0) return null;
      return { body: Buffer.concat(parts), used: endNl + 2 };
    }
    if (b.byteLength < o + size + 2) return null;
    parts.push(b.subarray(o, o + size));
    o += size + 2;
  }
}
