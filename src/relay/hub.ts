/**
 * @module relay/hub — `grove relay`: a WebSocket hub for cells that cannot reach each other
 * directly (docs/design.md: Relay). Cells log in with a signed challenge (relay/relay-protocol); binary
 * frames addressed by cell id are passed on, unread (their payloads are sealed end to end).
 *
 * A relay serves only the cells its operator allows (relay/access: an allow-list, access tokens,
 * or for a relay run by a cell its fleet), asked at login and again every `recheckMs` and so
 * closed to strangers by default; `allow: "anyone"` opens it under OPEN_LIMITS. One exception
 * lets a new cell pair through the relay: a cell that is not allowed may log in as a *guest*
 * while a cell it names in its accept list is on the relay with a live invite (`open`). A guest
 * exchanges only small frames (OPEN_FRAME_BYTES), only with allowed cells, within
 * GUEST_CIRCUIT_BYTES a window; two guests never reach each other. It becomes a full member as
 * soon as the operator allows it (a cell's relay: once it is a peer), and is closed when no
 * cell it names has a live invite any more.
 *
 * Abuse limits, after libp2p Circuit Relay v2 but for a relay that carries data: reservations
 * (logged-in connections) in total, per cell, per IP and for guests; frame size; bytes per
 * circuit (a sender -> recipient pair) per window; frames per second and accept messages per
 * minute per connection. A frame is passed on only to a cell that accepts its sender (its fleet,
 * listed at login). Going over a limit refuses or closes with a clear reason, logged; the relay
 * itself stays up. GET /status gives counts, never cell ids.
 *
 * A relay run by a cell (`operator`) proves so to every cell that logs in, and counts the bytes
 * it carries for each cell (sent and received), which that cell's bounty ledger takes
 * (`takeCarried`, bounty/relay-credit).
 */
import type { Server, ServerWebSocket } from "bun";
import { randomBytes } from "node:crypto";
import { log } from "../core/log.ts";
import { closeSync, openSync, writeSync } from "node:fs";
import {
  AcceptSchema,
  ID_BYTES,
  LoginSchema,
  OPEN_FRAME_BYTES,
  frame,
  loginVerifies,
  makeOperatorProof,
  provesToken,
  unframe,
} from "./relay-protocol.ts";
import { fromHex } from "../core/types.ts";
import { ByteTally } from "./tally.ts";
import { TokenBucket } from "./bucket.ts";
import type { Access } from "./access.ts";
import { shortId } from "../core/format.ts";

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
  /** Guests (cells not allowed, joining a cell on the relay) logged in at once. */
  max_guests: number;
  /** Largest payload of one frame. */
  max_frame_bytes: number;
  /** Bytes one sender may send one recipient per circuit window. */
  circuit_bytes: number;
  circuit_seconds: number;
  /** Frames per second per connection (bursts of twice that). */
  frames_per_second: number;
  /** Accept messages per minute per connection (bursts of ACCEPT_BURST). */
  accepts_per_minute: number;
  login_timeout_ms: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
  max_reservations: 4096,
  max_per_cell: 4,
  max_per_ip: 64,
  max_guests: 64,
  max_frame_bytes: 4 * 1024 * 1024 + 64 * 1024,
  circuit_bytes: 2 * 1024 ** 3,
  circuit_seconds: 3600,
  frames_per_second: 500,
  accepts_per_minute: 30,
  login_timeout_ms: 10_000,
};

/** The defaults of an open relay (`allow: "anyone"`, `grove relay --open`): anyone may use it, so it gives each less. */
export const OPEN_LIMITS: RelayLimits = {
  ...DEFAULT_LIMITS,
  max_reservations: 256,
  max_per_cell: 2,
  max_per_ip: 8,
  max_guests: 0,
  circuit_bytes: 256 * 1024 ** 2,
  frames_per_second: 100,
  accepts_per_minute: 10,
};

/** Bytes per circuit window when either end is a guest: a join is a few KB. */
export const GUEST_CIRCUIT_BYTES = 1024 * 1024;
/** Clock skew accepted on a login (same window as signed peer requests). */
const LOGIN_WINDOW_MS = 5 * 60 * 1000;
/** Frames dropped for the rate limit before the connection is closed. */
const MAX_DROPS = 200;
/** Accept messages in a burst, and ignored for the rate before the connection is closed. */
const ACCEPT_BURST = 10;
const MAX_ACCEPT_DROPS = 50;
/** Every reservation is checked against `allow` this often by default. */
const RECHECK_MS = 10_000;
/** A guest is checked again (maybe allowed by now) at most this often when its frames need it. */
const GUEST_RECHECK_MS = 1000;
/** Refused frames are logged at most this often per reason, with a count. */
const REFUSAL_LOG_MS = 10_000;

export interface RelayOptions {
  host: string;
  port: number;
  limits?: Partial<RelayLimits>;
  /**
   * Who may use this relay (relay/access): an allow function, or "anyone" (an open relay, with
   * OPEN_LIMITS as its defaults). There is no default: a relay is never open by omission.
   */
  allow: Access;
  /** How often every reservation is checked against `allow` again (ms; default 10 s). */
  recheckMs?: number;
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
  /** Its login's proof of an access token, checked again at every re-check. */
  access: string | undefined;
  /** Not allowed by the operator: here only to pair with a cell it names that has a live invite. */
  guest: boolean;
  /** When it was last checked against `allow` (performance.now()). */
  checkedAt: number;
  /** Refused and being closed: takes nothing more. */
  closing: boolean;
  frames: TokenBucket;
  accepts: TokenBucket;
  drops: number;
  acceptDrops: number;
  timer: ReturnType<typeof setTimeout> | null;
}

export interface RelayStatus {
  connections: number;
  cells: number;
  guests: number;
  circuits: number;
  bytes_relayed: number;
  frames_relayed: number;
  refused: Record<string, number>;
  limits: RelayLimits;
  /** True when anyone may use the relay (`--open`). */
  open: boolean;
  uptime_s: number;
}

export interface Relay {
  server: Server<Conn>;
  status(): RelayStatus;
  /** Payload bytes carried for each cell (sent by it or to it) since the last call; the counts restart at zero. */
  takeCarried(): Map<string, number>;
  stop(): void;
}

type Socket = ServerWebSocket<Conn>;

export function startRelay(opts: RelayOptions): Relay {
  const limits: RelayLimits = { ...(opts.allow === "anyone" ? OPEN_LIMITS : DEFAULT_LIMITS), ...(opts.limits ?? {}) };
  const cells = new Map<string, Set<Socket>>();
  const perIp = new Map<string, number>();
  const circuits = new Map<string, { bytes: number; since: number }>();
  const refused: Record<string, number> = {};
  const refusalLog = new Map<string, { at: number; n: number }>();
  const started = Date.now();
  let reservations = 0;
  let guests = 0;
  let bytesRelayed = 0;
  let framesRelayed = 0;
  const carried = new ByteTally();
  const captureFd = opts.capture ? openSync(opts.capture, "a", 0o600) : null;

  const count = (reason: string) => void (refused[reason] = (refused[reason] ?? 0) + 1);
  const sendJson = (ws: Socket, v: unknown) => ws.send(JSON.stringify(v));
  /** Refuse and close: the reason goes to the cell, the log and the counters. */
  const refuse = (ws: Socket, reason: string, code: string, closeCode = 1008, claimed?: string) => {
    count(code);
    ws.data.closing = true;
    log("warn", `relay refused: ${reason}`, { ip: ws.data.ip, cell: (ws.data.id ?? claimed)?.slice(0, 8) ?? "-" });
    sendJson(ws, { type: "refused", reason });
    ws.close(closeCode, reason.slice(0, 120));
  };
  /** Refuse one frame (or message); the connection stays. Logged at most once per REFUSAL_LOG_MS per reason. */
  const frameError = (ws: Socket, reason: string, code: string, to?: string) => {
    count(code);
    sendJson(ws, { type: "error", reason, ...(to ? { to } : {}) });
    const now = Date.now();
    const l = refusalLog.get(code) ?? { at: 0, n: 0 };
    l.n++;
    if (now - l.at >= REFUSAL_LOG_MS) {
      log("warn", `relay refused a frame: ${reason}`, {
        cell: ws.data.id?.slice(0, 8) ?? "-",
        ip: ws.data.ip,
        refused_since_last_log: l.n,
      });
      l.at = now;
      l.n = 0;
    }
    refusalLog.set(code, l);
  };

  /** Does the operator allow this cell (asked again each time: lists change while the relay runs)? */
  function allowed(id: string, access: string | undefined, nonce: string): boolean {
    if (opts.allow === "anyone") return true;
    try {
      return opts.allow(id, (token) => provesToken(access, token, nonce, id));
    } catch (e) {
      log("warn", "relay: the allow check failed; the cell is not allowed", { cell: shortId(id), why: (e as Error).message });
      return false;
    }
  }

  /** Is one of the cells `accept` names on the relay, allowed, with a live invite (so a guest may pair with it)? */
  function inviter(accept: Iterable<string>, self: string): boolean {
    for (const id of accept) {
      if (id === self) continue;
      for (const t of cells.get(id) ?? []) if (!t.data.guest && !t.data.closing && t.data.open) return true;
    }
    return false;
  }

  const notAllowed = (access: string | undefined) =>
    access === undefined
      ? "this relay serves only the cells its operator allows: this cell is not on its allow-list, holds no access token for it, and names no cell on it that has a live invite"
      : "this relay serves only the cells its operator allows: the access token this cell proved is not one of the relay's, and it names no cell on it that has a live invite";

  /**
   * Check a logged-in connection against `allow` again: a guest the operator now allows becomes
   * a member; one no longer allowed (or a guest whose inviter is gone) is closed. False = closed.
   */
  function recheck(ws: Socket): boolean {
    const c = ws.data;
    if (c.closing || c.id === null) return !c.closing;
    c.checkedAt = performance.now();
    if (allowed(c.id, c.access, c.nonce)) {
      if (c.guest) {
        c.guest = false;
        guests--;
        log("info", "relay: a cell that joined through the relay is allowed now", { cell: shortId(c.id) });
      }
      return true;
    }
    if (c.guest && inviter(c.accept, c.id)) return true;
    if (c.guest) refuse(ws, "no cell this one names has a live invite on this relay any more, and it is not allowed here", "guest_expired");
    else refuse(ws, "this cell is no longer allowed on this relay (its operator's list changed)", "no_longer_allowed");
    return false;
  }

  function each(f: (ws: Socket) => void): void {
    for (const set of [...cells.values()]) for (const ws of [...set]) f(ws);
  }

  /** Guests that no allowed cell invites any more are checked again (an invite closed, an inviter left). */
  function recheckGuests(): void {
    each((ws) => {
      if (ws.data.guest && !ws.data.closing && !inviter(ws.data.accept, ws.data.id!)) recheck(ws);
    });
  }

  function login(ws: Socket, text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return refuse(ws, "login must be JSON", "bad_login");
    }
    const p = LoginSchema.safeParse(raw);
    if (!p.success)
      return refuse(ws, `bad login: ${p.error.issues[0]!.path.join(".") || "(root)"}: ${p.error.issues[0]!.message}`, "bad_login");
    const l = p.data;
    if (Math.abs(Date.now() - l.time) > LOGIN_WINDOW_MS)
      return refuse(ws, "login time is outside ±5 min of the relay's clock", "bad_login");
    if (!loginVerifies(l, ws.data.nonce)) return refuse(ws, "login signature does not verify", "bad_signature");
    const guest = !allowed(l.id, l.access, ws.data.nonce);
    if (guest) {
      if (!inviter(l.accept, l.id)) return refuse(ws, notAllowed(l.access), "not_allowed", 1008, l.id);
      if (guests >= limits.max_guests)
        return refuse(ws, `the relay holds ${limits.max_guests} cells joining through it already (try again later)`, "guests", 1008, l.id);
    }
    if (reservations >= limits.max_reservations)
      return refuse(ws, `the relay is full (${limits.max_reservations} reservations)`, "reservations_total", 1008, l.id);
    const mine = cells.get(l.id) ?? new Set();
    if (mine.size >= limits.max_per_cell)
      return refuse(ws, `this cell already holds ${limits.max_per_cell} reservations here`, "reservations_per_cell", 1008, l.id);
    if (ws.data.timer) clearTimeout(ws.data.timer);
    ws.data.id = l.id;
    ws.data.accept = new Set(l.accept);
    ws.data.open = l.open === true;
    ws.data.access = l.access;
    ws.data.guest = guest;
    ws.data.checkedAt = performance.now();
    mine.add(ws);
    cells.set(l.id, mine);
    reservations++;
    if (guest) guests++;
    sendJson(ws, {
      type: "ready",
      limits,
      ...(guest ? { guest: true } : {}),
      ...(opts.operator ? makeOperatorProof(opts.operator, ws.data.nonce, l) : {}),
    });
    log("info", guest ? "relay: a cell not on the allow-list logged in to pair (guest)" : "relay: cell logged in", {
      cell: shortId(l.id),
      ip: ws.data.ip,
    });
  }

  /** A text message after login: only {"type":"accept","accept":[ids]} (the fleet changed), rate limited. */
  function control(ws: Socket, text: string): void {
    const c = ws.data;
    if (!c.accepts.take()) {
      if (++c.acceptDrops > MAX_ACCEPT_DROPS)
        return refuse(ws, `over ${limits.accepts_per_minute} accept messages a minute, repeatedly`, "accept_rate");
      return frameError(
        ws,
        `over ${limits.accepts_per_minute} accept messages a minute: ignored (the accept list stays as it was)`,
        "accept_rate",
      );
    }
    let m: unknown;
    try {
      m = JSON.parse(text);
    } catch {
      return frameError(ws, "a text message after login must be JSON", "bad_frame");
    }
    const p = AcceptSchema.safeParse(m);
    if (!p.success) return frameError(ws, 'after login: binary frames, or {"type":"accept","accept":[ids]}', "bad_frame");
    const wasInviting = !c.guest && c.open;
    c.accept = new Set(p.data.accept);
    c.open = p.data.open === true;
    sendJson(ws, { type: "accepted", count: c.accept.size });
    if (c.guest && !inviter(c.accept, c.id!)) recheck(ws);
    if (wasInviting && !c.open) recheckGuests();
  }

  /** May a frame go from `from` to `to`? `viaOpen`: also through `to`'s live invite (small frames only). */
  function mayPass(from: Conn, to: Conn, small: boolean, viaOpen: boolean): boolean {
    const accepted = to.accept.has(from.id!) || (viaOpen && to.open && small);
    if (from.guest && to.guest) return false;
    if (from.guest) return small && from.accept.has(to.id!) && accepted;
    if (to.guest) return small && to.accept.has(from.id!);
    return accepted;
  }

  /** Why no connection of the recipient takes the frame, and the counter it goes to. */
  function whyNot(from: Conn, targets: Socket[], small: boolean): [string, string] {
    if (from.guest && targets.every((t) => t.data.guest))
      return ["cells not on this relay's allow-list (here to pair) cannot reach one another", "guest"];
    if ((from.guest || targets.some((t) => t.data.guest)) && !small)
      return [
        `a cell not on this relay's allow-list sends and receives frames of at most ${OPEN_FRAME_BYTES} bytes here (enough to pair)`,
        "guest",
      ];
    if (from.guest && !targets.some((t) => from.accept.has(t.data.id!)))
      return ["a cell not on this relay's allow-list reaches only the cells it names (the one it joins)", "guest"];
    return ["the recipient does not accept frames from this cell", "not_accepted"];
  }

  function pass(ws: Socket, data: Uint8Array): void {
    const me = ws.data;
    const from = me.id!;
    if (data.byteLength > ID_BYTES + limits.max_frame_bytes)
      return refuse(ws, `frame over ${limits.max_frame_bytes} bytes`, "frame_too_large", 1009);
    if (!me.frames.take()) {
      if (++me.drops > MAX_DROPS) return refuse(ws, `over ${limits.frames_per_second} frames per second, repeatedly`, "rate");
      return frameError(ws, `over ${limits.frames_per_second} frames per second: frame dropped`, "rate");
    }
    const f = unframe(data);
    if (!f) return frameError(ws, "a frame starts with the recipient's 32-byte id", "bad_frame");
    const now = performance.now();
    // A guest may have been allowed meanwhile (it paired): checked again, at most once a second.
    if (me.guest && now - me.checkedAt > GUEST_RECHECK_MS && !recheck(ws)) return;
    for (const t of cells.get(f.id) ?? []) if (t.data.guest && !t.data.closing && now - t.data.checkedAt > GUEST_RECHECK_MS) recheck(t);
    const targets = [...(cells.get(f.id) ?? [])].filter((t) => !t.data.closing);
    if (!targets.length) return void (count("undeliverable"), sendJson(ws, { type: "undeliverable", to: f.id }));
    const small = f.payload.byteLength <= OPEN_FRAME_BYTES;
    const target = targets.find((t) => mayPass(me, t.data, small, false)) ?? targets.find((t) => mayPass(me, t.data, small, true));
    if (!target) {
      const [reason, code] = whyNot(me, targets, small);
      return frameError(ws, reason, code, f.id);
    }
    const budget = me.guest || target.data.guest ? Math.min(GUEST_CIRCUIT_BYTES, limits.circuit_bytes) : limits.circuit_bytes;
    const key = `${from}>${f.id}`;
    const at = Date.now();
    let circ = circuits.get(key);
    if (!circ || at - circ.since > limits.circuit_seconds * 1000) circuits.set(key, (circ = { bytes: 0, since: at }));
    if (circ.bytes + f.payload.byteLength > budget) {
      return frameError(ws, `circuit limit: ${budget} bytes per ${limits.circuit_seconds} s to this cell`, "circuit_bytes", f.id);
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
        const data: Conn = {
          ip,
          nonce: randomBytes(16).toString("hex"),
          id: null,
          accept: new Set(),
          open: false,
          access: undefined,
          guest: false,
          checkedAt: 0,
          closing: false,
          frames: new TokenBucket(limits.frames_per_second, limits.frames_per_second * 2),
          accepts: new TokenBucket(limits.accepts_per_minute / 60, Math.min(ACCEPT_BURST, limits.accepts_per_minute)),
          drops: 0,
          acceptDrops: 0,
          timer: null,
        };
        if (srv.upgrade(req, { data })) return undefined;
        return Response.json({ error: "expected a WebSocket upgrade" }, { status: 426 });
      }
      return Response.json(
        { error: `no relay route ${req.method} ${url.pathname} (cells connect to /v1/relay; counts at /status)` },
        { status: 404 },
      );
    },
    websocket: {
      // Bun closes (1009) above this on its own; the check in `pass` gives the reason first.
      maxPayloadLength: (ID_BYTES + limits.max_frame_bytes) * 2,
      idleTimeout: 120,
      sendPings: true,
      open(ws) {
        const n = (perIp.get(ws.data.ip) ?? 0) + 1;
        perIp.set(ws.data.ip, n);
        if (n > limits.max_per_ip)
          return refuse(ws, `too many connections from ${ws.data.ip} (${limits.max_per_ip})`, "reservations_per_ip");
        sendJson(ws, { type: "challenge", v: 1, nonce: ws.data.nonce });
        ws.data.timer = setTimeout(() => refuse(ws, "no login in time", "login_timeout"), limits.login_timeout_ms);
      },
      message(ws, msg) {
        if (ws.data.closing) return;
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
          if (set?.delete(ws)) {
            reservations--;
            if (ws.data.guest) guests--;
          }
          if (set && set.size === 0) cells.delete(id);
          // An inviter left: the guests that came for it go too.
          if (!ws.data.guest && ws.data.open) recheckGuests();
        }
      },
    },
  });

  // The operator's lists change while the relay runs (a peer removed, a file edited).
  const rechecks = setInterval(() => each((ws) => void recheck(ws)), opts.recheckMs ?? RECHECK_MS);
  (rechecks as { unref?: () => void }).unref?.();

  function status(): RelayStatus {
    const now = Date.now();
    for (const [k, c] of circuits) if (now - c.since > limits.circuit_seconds * 1000) circuits.delete(k);
    return {
      connections: [...perIp.values()].reduce((a, b) => a + b, 0),
      cells: cells.size,
      guests,
      circuits: circuits.size,
      bytes_relayed: bytesRelayed,
      frames_relayed: framesRelayed,
      refused: { ...refused },
      limits,
      open: opts.allow === "anyone",
      uptime_s: Math.round((now - started) / 1000),
    };
  }

  return {
    server,
    status,
    takeCarried: () => carried.take(),
    stop: () => {
      clearInterval(rechecks);
      server.stop(true);
      if (captureFd !== null) closeSync(captureFd);
    },
  };
}
