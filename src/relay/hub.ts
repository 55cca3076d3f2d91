/**
 * @module relay/hub — `grove relay`: a WebSocket hub for cells that cannot reach each other
 * directly (DESIGN: Relay). Cells log in with a signed challenge (relay/relay-protocol); binary
 * frames addressed by cell id are passed on, unread (their payloads are sealed end to end).
 *
 * Abuse limits, after libp2p Circuit Relay v2 but for a relay that carries data: reservations
 * (logged-in connections) in total, per cell and per IP; frame size; bytes per circuit (a
 * sender -> recipient pair) per window; frames per second per connection. A frame is passed on
 * only to a cell that accepts its sender (its fleet, listed at login), and an optional allow-list
 * says which cells may log in at all, so a stranger gets no free bandwidth. Going over a limit
 * refuses or closes with a clear reason; the relay itself stays up. GET /status gives counts.
 *
 * A relay run by a cell (`operator`) proves so to every cell that logs in, and counts the bytes
 * it carries for each cell (sent and received), which that cell's bounty ledger takes
 * (`takeCarried`, bounty/relay-credit).
 */
import type { Server, ServerWebSocket } from "bun";
import { randomBytes } from "node:crypto";
import { log } from "../core/log.ts";
import { closeSync, openSync, writeSync } from "node:fs";
import { AcceptSchema, ID_BYTES, LoginSchema, OPEN_FRAME_BYTES, frame, loginVerifies, makeOperatorProof, unframe } from "./relay-protocol.ts";
import { fromHex } from "../core/types.ts";
import { ByteTally } from "./tally.ts";

/** One captured frame: sender ‖ recipient ‖ u32 BE payload length ‖ payload. */
function captureFrame(fd: number, from: string, to: string, payload: Uint8Array): void {
  const head = new Uint8Array(2 * ID_BYTES + 4);
  head.set(fromHex(from), 0);
  head.set(fromHex(to), ID_BYTES);
  new DataView(head.buffer).setUint32(2 * ID_BYTES, payload.byteLength);
  writeSync(fd, head);
  writeSync(fd, payload);
}

export interface RelayLimits {
  /** Logged-in connections in total. */
  max_reservations: number;
  /** Logged-in connections per cell id. */
  max_per_cell: number;
  /** Connections (logged in or not) per IP address. */
  max_per_ip: number;
  /** Largest payload of one frame. */
  max_frame_bytes: number;
  /** Bytes one sender may send one recipient per circuit window. */
  circuit_bytes: number;
  circuit_seconds: number;
  /** Frames per second per connection (bursts of twice that). */
  frames_per_second: number;
  login_timeout_ms: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  max_reservations: 4096,
  max_per_cell: 4,
  max_per_ip: 64,
  max_frame_bytes: 4 * 1024 * 1024 + 64 * 1024,
  circuit_bytes: 2 * 1024 ** 3,
  circuit_seconds: 3600,
  frames_per_second: 500,
  login_timeout_ms: 10_000,
};

/** Clock skew accepted on a login (same window as signed peer requests). */
const LOGIN_WINDOW_MS = 5 * 60 * 1000;
/** Frames dropped for the rate limit before the connection is closed. */
const MAX_DROPS = 200;

export interface RelayOptions {
  host: string;
  port: number;
  limits?: Partial<RelayLimits>;
  /** Cell ids that may log in; null = any cell (forwarding still needs the recipient's accept). */
  allow?: ReadonlySet<string> | null;
  /**
   * Append every frame passed on to this file (sender id ‖ recipient id ‖ u32 length ‖ payload):
   * exactly what the operator can see, kept to show it is opaque (tests, audits). Off by default.
   */
  capture?: string | null;
  /** The cell running this relay: named, with a proof, in every `ready`; null = an anonymous relay. */
  operator?: { id: string; ed25519Secret: Uint8Array } | null;
}

interface Conn {
  ip: string;
  nonce: string;
  id: string | null;
  accept: Set<string>;
  /** Takes small frames from cells it does not accept (it has a live invite). */
  open: boolean;
  tokens: number;
  refilled: number;
  drops: number;
  timer: ReturnType<typeof setTimeout> | null;
}

export interface RelayStatus {
  connections: number;
  cells: number;
  circuits: number;
  bytes_relayed: number;
  frames_relayed: number;
  refused: Record<string, number>;
  limits: RelayLimits;
  allow_list: number | null;
  uptime_s: number;
}

export interface Relay {
  server: Server<Conn>;
  status(): RelayStatus;
  /** Payload bytes carried for each cell (sent by it or to it) since the last call; the counts restart at zero. */
  takeCarried(): Map<string, number>;
  stop(): void;
}

export function startRelay(opts: RelayOptions): Relay {
  const limits: RelayLimits = { ...DEFAULT_LIMITS, ...(opts.limits ?? {}) };
  const allow = opts.allow ?? null;
  const cells = new Map<string, Set<ServerWebSocket<Conn>>>();
  const perIp = new Map<string, number>();
  const circuits = new Map<string, { bytes: number; since: number }>();
  const refused: Record<string, number> = {};
  const started = Date.now();
  let reservations = 0;
  let bytesRelayed = 0;
  let framesRelayed = 0;
  const carried = new ByteTally();
  const captureFd = opts.capture ? openSync(opts.capture, "a", 0o600) : null;

  const count = (reason: string) => void (refused[reason] = (refused[reason] ?? 0) + 1);
  const sendJson = (ws: ServerWebSocket<Conn>, v: unknown) => ws.send(JSON.stringify(v));
  /** Refuse and close: the reason goes to the cell, the log and the counters. */
  const refuse = (ws: ServerWebSocket<Conn>, reason: string, code: string, closeCode = 1008) => {
    count(code);
    log("warn", `relay refused: ${reason}`, { ip: ws.data.ip, cell: ws.data.id?.slice(0, 8) ?? "-" });
    sendJson(ws, { type: "refused", reason });
    ws.close(closeCode, reason.slice(0, 120));
  };
  /** Refuse one frame; the connection stays. */
  const frameError = (ws: ServerWebSocket<Conn>, reason: string, code: string, to?: string) => {
    count(code);
    sendJson(ws, { type: "error", reason, ...(to ? { to } : {}) });
  };

  function login(ws: ServerWebSocket<Conn>, text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return refuse(ws, "login must be JSON", "bad_login");
    }
    const p = LoginSchema.safeParse(raw);
    if (!p.success) return refuse(ws, `bad login: ${p.error.issues[0]!.path.join(".") || "(root)"}: ${p.error.issues[0]!.message}`, "bad_login");
    const l = p.data;
    if (Math.abs(Date.now() - l.time) > LOGIN_WINDOW_MS) return refuse(ws, "login time is outside ±5 min of the relay's clock", "bad_login");
    if (!loginVerifies(l, ws.data.nonce)) return refuse(ws, "login signature does not verify", "bad_signature");
    if (allow && !allow.has(l.id)) return refuse(ws, "this cell is not on the relay's allow-list", "not_allowed");
    if (reservations >= limits.max_reservations) return refuse(ws, `the relay is full (${limits.max_reservations} reservations)`, "reservations_total");
    const mine = cells.get(l.id) ?? new Set();
    if (mine.size >= limits.max_per_cell) return refuse(ws, `this cell already holds ${limits.max_per_cell} reservations here`, "reservations_per_cell");
    if (ws.data.timer) clearTimeout(ws.data.timer);
    ws.data.id = l.id;
    ws.data.accept = new Set(l.accept);
    ws.data.open = l.open === true;
    mine.add(ws);
    cells.set(l.id, mine);
    reservations++;
    sendJson(ws, { type: "ready", limits, ...(opts.operator ? makeOperatorProof(opts.operator, ws.data.nonce, l) : {}) });
    log("info", "relay: cell logged in", { cell: l.id.slice(0, 8), ip: ws.data.ip });
  }

  /** A text message after login: only {"type":"accept","accept":[ids]} (the fleet changed). */
  function control(ws: ServerWebSocket<Conn>, text: string): void {
    let m: unknown;
    try {
      m = JSON.parse(text);
    } catch {
      return frameError(ws, "a text message after login must be JSON", "bad_frame");
    }
    const p = AcceptSchema.safeParse(m);
    if (!p.success) return frameError(ws, 'after login: binary frames, or {"type":"accept","accept":[ids]}', "bad_frame");
    ws.data.accept = new Set(p.data.accept);
    ws.data.open = p.data.open === true;
    sendJson(ws, { type: "accepted", count: ws.data.accept.size });
  }

  /** Token bucket; false when this frame is over the rate. */
  function takeToken(c: Conn): boolean {
    const now = performance.now();
    c.tokens = Math.min(limits.frames_per_second * 2, c.tokens + ((now - c.refilled) / 1000) * limits.frames_per_second);
    c.refilled = now;
    if (c.tokens < 1) return false;
    c.tokens -= 1;
    return true;
  }

  function pass(ws: ServerWebSocket<Conn>, data: Uint8Array): void {
    const from = ws.data.id!;
    if (data.byteLength > ID_BYTES + limits.max_frame_bytes) return refuse(ws, `frame over ${limits.max_frame_bytes} bytes`, "frame_too_large", 1009);
    if (!takeToken(ws.data)) {
      if (++ws.data.drops > MAX_DROPS) return refuse(ws, `over ${limits.frames_per_second} frames per second, repeatedly`, "rate");
      return frameError(ws, `over ${limits.frames_per_second} frames per second: frame dropped`, "rate");
    }
    const f = unframe(data);
    if (!f) return frameError(ws, "a frame starts with the recipient's 32-byte id", "bad_frame");
    const targets = cells.get(f.id);
    if (!targets?.size) return void (count("undeliverable"), sendJson(ws, { type: "undeliverable", to: f.id }));
    const small = f.payload.byteLength <= OPEN_FRAME_BYTES;
    const target = [...targets].find((t) => t.data.accept.has(from)) ?? [...targets].find((t) => t.data.open && small);
    if (!target) return frameError(ws, "the recipient does not accept frames from this cell", "not_accepted", f.id);
    const key = `${from}>${f.id}`;
    const now = Date.now();
    let circ = circuits.get(key);
    if (!circ || now - circ.since > limits.circuit_seconds * 1000) circuits.set(key, (circ = { bytes: 0, since: now }));
    if (circ.bytes + f.payload.byteLength > limits.circuit_bytes) {
      return frameError(ws, `circuit limit: ${limits.circuit_bytes} bytes per ${limits.circuit_seconds} s to this cell`, "circuit_bytes", f.id);
    }
    const sent = target.send(frame(from, f.payload));
    if (sent === 0) return frameError(ws, "the recipient's connection is congested: frame dropped", "congested", f.id);
    if (captureFd !== null) captureFrame(captureFd, from, f.id, f.payload);
    circ.bytes += f.payload.byteLength;
    bytesRelayed += f.payload.byteLength;
    framesRelayed++;
    if (opts.operator) {
      carried.add(from, f.payload.byteLength);
      carried.add(f.id, f.payload.byteLength);
    }
  }

  const server = Bun.serve<Conn>({
    hostname: opts.host,
    port: opts.port,
    fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname === "/status") return Response.json(status());
      if (url.pathname === "/v1/relay") {
        const ip = srv.requestIP(req)?.address ?? "?";
        const data: Conn = { ip, nonce: randomBytes(16).toString("hex"), id: null, accept: new Set(), open: false, tokens: limits.frames_per_second * 2, refilled: performance.now(), drops: 0, timer: null };
        if (srv.upgrade(req, { data })) return undefined;
        return Response.json({ error: "expected a WebSocket upgrade" }, { status: 426 });
      }
      return Response.json({ error: `no relay route ${req.method} ${url.pathname} (cells connect to /v1/relay; counts at /status)` }, { status: 404 });
    },
    websocket: {
      // Bun closes (1009) above this on its own; the check in `pass` gives the reason first.
      maxPayloadLength: (ID_BYTES + limits.max_frame_bytes) * 2,
      idleTimeout: 120,
      sendPings: true,
      open(ws) {
        const n = (perIp.get(ws.data.ip) ?? 0) + 1;
        perIp.set(ws.data.ip, n);
        if (n > limits.max_per_ip) return refuse(ws, `too many connections from ${ws.data.ip} (${limits.max_per_ip})`, "reservations_per_ip");
        sendJson(ws, { type: "challenge", v: 1, nonce: ws.data.nonce });
        ws.data.timer = setTimeout(() => refuse(ws, "no login in time", "login_timeout"), limits.login_timeout_ms);
      },
      message(ws, msg) {
        if (ws.data.id === null) {
          if (typeof msg !== "string") return refuse(ws, "log in first (a text login message)", "bad_login");
          return login(ws, msg);
        }
        if (typeof msg === "string") return control(ws, msg);
        pass(ws, msg instanceof Uint8Array ? msg : new Uint8Array(msg));
      },
      close(ws) {
        if (ws.data.timer) clearTimeout(ws.data.timer);
        const n = (perIp.get(ws.data.ip) ?? 1) - 1;
        if (n <= 0) perIp.delete(ws.data.ip);
        else perIp.set(ws.data.ip, n);
        const id = ws.data.id;
        if (id) {
          const set = cells.get(id);
          if (set?.delete(ws)) reservations--;
          if (set && set.size === 0) cells.delete(id);
        }
      },
    },
  });

  function status(): RelayStatus {
    const now = Date.now();
    for (const [k, c] of circuits) if (now - c.since > limits.circuit_seconds * 1000) circuits.delete(k);
    return {
      connections: [...perIp.values()].reduce((a, b) => a + b, 0),
      cells: cells.size,
      circuits: circuits.size,
      bytes_relayed: bytesRelayed,
      frames_relayed: framesRelayed,
      refused: { ...refused },
      limits,
      allow_list: allow ? allow.size : null,
      uptime_s: Math.round((now - started) / 1000),
    };
  }

  return {
    server,
    status,
    takeCarried: () => carried.take(),
    stop: () => {
      server.stop(true);
      if (captureFd !== null) closeSync(captureFd);
    },
  };
}
