/**
 * @module net/route-class — names the kind of network path an address takes (docs/design.md:
 * Talking between cells): tailscale, yggdrasil, lan, wan or relay.
 *
 * Input is a route URL (`http://100.101.1.2:5678`, `http://[200:1234::1]:5678`,
 * `wss://relay.example/x`) or a bare address (`10.0.0.1`, `fe80::1%eth0`, `[::1]:5678`,
 * `nas.local:5678`). Rules, first match wins:
 *   relay      the scheme is ws:, wss: or grove+relay: (the host is still checked)
 *   refused    unspecified (0.0.0.0/8, ::), multicast (224.0.0.0/4, ff00::/8), reserved and
 *              broadcast (240.0.0.0/4): no cell can be reached there
 *   tailscale  100.64.0.0/10, fd7a:115c:a1e0::/48 (Tailscale's IPv6 range), *.ts.net (MagicDNS)
 *   yggdrasil  200::/7 (0200:: to 03ff:…)
 *   lan        10/8, 172.16/12, 192.168/16, fc00::/7, 169.254/16, fe80::/10, 127/8, ::1,
 *              localhost, *.localhost, *.local (mDNS)
 *   wan        every other address or host name
 * IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is classified as the IPv4 address it carries. IPv4 must
 * be dotted decimal: shorthand the URL standard would rewrite (`1.2.3`, `0x7f.1`, `010.0.0.1`)
 * is refused rather than guessed at. Ranges are checked with node:net's BlockList.
 */
import { BlockList, isIP } from "node:net";
import { GroveError } from "../core/errors.ts";

/** How a route reaches a peer. */
export type RouteKind = "tailscale" | "yggdrasil" | "lan" | "wan" | "relay";

/** Every kind, in the order routes are preferred when their scores tie. */
export const ROUTE_KINDS: readonly RouteKind[] = ["lan", "tailscale", "yggdrasil", "wan", "relay"];

/** URL schemes that name a relay route (the relay hub's address). */
export const RELAY_SCHEMES: readonly string[] = ["ws:", "wss:", "grove+relay:"];

/** Longest address accepted (the same bound the cell card puts on its addresses). */
export const MAX_ADDRESS_LENGTH = 512;

/** An address that cannot be classified; `message` is one line naming the problem. */
export class RouteAddressError extends GroveError {
  constructor(message: string) {
    super(message, 400, "bad_address");
    this.name = "RouteAddressError";
  }
}

/** What `describeAddress` learns about an address. */
export interface AddressInfo {
  kind: RouteKind;
  /** Host without brackets or zone, lowercase (IPv6 in the URL standard's compressed form). */
  host: string;
  /** 4 or 6 for an IP address, null for a host name. */
  family: 4 | 6 | null;
}

function subnets(entries: readonly [string, number][]): BlockList {
  const list = new BlockList();
  for (const [net, prefix] of entries) list.addSubnet(net, prefix, isIP(net) === 6 ? "ipv6" : "ipv4");
  return list;
}

const UNROUTABLE = subnets([
  ["0.0.0.0", 8],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
  ["::", 128],
  ["ff00::", 8],
]);
const TAILSCALE = subnets([
  ["100.64.0.0", 10],
  ["fd7a:115c:a1e0::", 48],
]);
const YGGDRASIL = subnets([["200::", 7]]);
const LAN = subnets([
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["169.254.0.0", 16],
  ["127.0.0.0", 8],
  ["fc00::", 7],
  ["fe80::", 10],
  ["::1", 128],
]);

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
/** The host as written in a URL: after `scheme://` and any `user@`, before `:port`, `/`, `?`, `#`. */
const RAW_HOST = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i;
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** True when `url` names a relay (ws:, wss:, grove+relay:), whatever its host; false for anything else. */
export function isRelayRoute(url: string): boolean {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  return scheme !== undefined && RELAY_SCHEMES.includes(`${scheme}:`);
}

/**
 * The relay URL a cell connects to: ws:// or wss:// with the hub's path (/v1/relay) when none is
 * written, no query or fragment: an access token (`?token=…`, see relayAccessToken) is checked
 * and left out, so it never reaches a card, an invite, a route or a log. Throws RouteAddressError
 * for anything else.
 */
export function normalizeRelayUrl(url: string): string {
  describeAddress(url);
  const u = new URL(url);
  if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new RouteAddressError(`${quote(url)}: a relay URL starts with ws:// or wss://`);
  if (u.username || u.password) throw new RouteAddressError(`${quote(url)}: a relay URL carries no user name or password`);
  relayAccessToken(url);
  const path = u.pathname === "/" || u.pathname === "" ? "/v1/relay" : u.pathname;
  return `${u.protocol}//${u.host}${path}`;
}

/** What an access token of `grove relay --token-file` looks like: 22 to 128 of A-Z a-z 0-9 - _ (base64url). */
export const RELAY_TOKEN_PATTERN = /^[A-Za-z0-9_-]{22,128}$/;

/**
 * The access token in a relay URL of config `relays` (`wss://relay.example?token=TOKEN`), or null
 * when it has none. The cell proves it holds the token at login (relay/relay-protocol) and never
 * sends the token itself. Throws RouteAddressError when the token is malformed.
 */
export function relayAccessToken(url: string): string | null {
  let token: string | null;
  try {
    token = new URL(url).searchParams.get("token");
  } catch {
    throw new RouteAddressError(`${quote(url)} is not a valid URL`);
  }
  if (token === null) return null;
  if (!RELAY_TOKEN_PATTERN.test(token))
    throw new RouteAddressError(`${quote(url.replace(/([?&]token=)[^&#]*/, "$1…"))}: an access token is 22 to 128 letters, digits, - or _`);
  return token;
}

/** Classify `address` (a URL or a bare address). Throws RouteAddressError when it is malformed. */
export function classifyAddress(address: string): RouteKind {
  return describeAddress(address).kind;
}

/** Classify `address` and return its normalised host too. Throws RouteAddressError. */
export function describeAddress(address: string): AddressInfo {
  if (typeof address !== "string" || address.length === 0) throw new RouteAddressError("address is empty");
  if (address.length > MAX_ADDRESS_LENGTH) throw new RouteAddressError(`address is longer than ${MAX_ADDRESS_LENGTH} characters`);
  if (/[\s\x00-\x1f\x7f]/.test(address))
    throw new RouteAddressError(`address ${quote(address)} contains whitespace or a control character`);

  const scheme = SCHEME.exec(address)?.[1]?.toLowerCase();
  if (scheme === undefined) return describeBare(address);

  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new RouteAddressError(`${quote(address)} is not a valid URL`);
  }
  const host = checkedHost(url, address);
  const info = classifyHost(host, address);
  return RELAY_SCHEMES.includes(`${scheme}:`) ? { ...info, kind: "relay" } : info;
}

/** A bare IP (an IPv6 zone such as `%eth0` is allowed), `[v6]:port`, `host` or `host:port`. */
function describeBare(address: string): AddressInfo {
  const zoneless = address.replace(/%[^%]+$/, "");
  if (isIP(zoneless) === 6) return classifyHost(new URL(`http://[${zoneless}]`).hostname.slice(1, -1), address);
  if (address.includes("://") || /[/?#@]/.test(address)) {
    throw new RouteAddressError(`${quote(address)} is neither a URL (scheme://host) nor a bare address`);
  }
  let url: URL;
  try {
    url = new URL(`http://${address}`);
  } catch {
    throw new RouteAddressError(`${quote(address)} is not a valid address`);
  }
  return classifyHost(checkedHost(url, `http://${address}`, address), address);
}

/** The URL's host without brackets, checked against what was written. */
function checkedHost(url: URL, written: string, shown = written): string {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host.length === 0) throw new RouteAddressError(`${quote(shown)} has no host`);
  const raw = (RAW_HOST.exec(written)?.[1] ?? "").toLowerCase();
  // The URL standard rewrites some hosts (`1.2.3` → 1.2.0.3, `ex%61mple` → example, `http:///x`
  // → x). Refuse those rather than route somewhere the writer did not mean (IPv6 and
  // internationalised names are rewritten legitimately, so they are not compared).
  if (isIP(host) !== 6 && /^[\x21-\x7e]*$/.test(raw) && raw !== host) {
    if (isIP(host) === 4) throw new RouteAddressError(`${quote(shown)}: write the IPv4 address in dotted-decimal form (a.b.c.d)`);
    throw new RouteAddressError(`${quote(shown)} has a malformed host`);
  }
  return host;
}

function classifyHost(host: string, shown: string): AddressInfo {
  const ip = isIP(host);
  if (ip === 0) return { kind: classifyName(host, shown), host, family: null };
  const family = ip === 4 ? 4 : 6;
  const type = family === 4 ? "ipv4" : "ipv6";
  if (UNROUTABLE.check(host, type)) {
    throw new RouteAddressError(`${quote(shown)} is not a unicast address (unspecified, multicast or reserved)`);
  }
  const kind: RouteKind = TAILSCALE.check(host, type)
    ? "tailscale"
    : YGGDRASIL.check(host, type)
      ? "yggdrasil"
      : LAN.check(host, type)
        ? "lan"
        : "wan";
  return { kind, host, family };
}

function classifyName(name: string, shown: string): RouteKind {
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  const labels = bare.split(".");
  if (bare.length === 0 || bare.length > 253 || !labels.every((l) => LABEL.test(l))) {
    throw new RouteAddressError(`${quote(shown)} does not have a valid host name`);
  }
  if (/^(?:\d+|0x[0-9a-f]*)$/.test(labels[labels.length - 1]!)) {
    throw new RouteAddressError(`${quote(shown)}: write the IPv4 address in dotted-decimal form (a.b.c.d)`);
  }
  if (bare === "localhost" || bare.endsWith(".localhost") || bare.endsWith(".local")) return "lan";
  if (bare.endsWith(".ts.net")) return "tailscale";
  return "wan";
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}
