// Addresses are classified as tailscale, yggdrasil, lan, wan or relay: a table of accepted
// addresses with their kind, one of refused ones with the reason, and the boundaries of each range.
import { describe, expect, test } from "bun:test";
import {
  classifyAddress,
  describeAddress,
  isRelayRoute,
  normalizeRelayUrl,
  RouteAddressError,
  type RouteKind,
} from "../../src/net/route-class.ts";

const kinds: [string, RouteKind][] = [
  // the examples in docs/design.md (Talking between cells)
  ["http://100.101.1.2:5678", "tailscale"],
  ["http://[200:1234::1]:5678", "yggdrasil"],
  ["ws://relay.example/x", "relay"],
  ["grove+relay://relay.example:5680/abc", "relay"],
  // tailscale: 100.64.0.0/10 and its edges
  ["100.63.255.255", "wan"],
  ["100.64.0.0", "tailscale"],
  ["100.100.100.100", "tailscale"],
  ["100.127.255.255", "tailscale"],
  ["100.128.0.0", "wan"],
  ["http://100.64.0.1", "tailscale"],
  ["fd7a:115c:a1e0::1", "tailscale"],
  ["http://[fd7a:115c:a1e0:ab12:4843:cd96:6258:b240]:5678", "tailscale"],
  ["fd7a:115c:a1e1::1", "lan"],
  ["http://laptop.tail1234.ts.net:5678", "tailscale"],
  // yggdrasil: 200::/7 = 0200:: to 03ff:ffff:…
  ["1ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "wan"],
  ["200::", "yggdrasil"],
  ["0200::1", "yggdrasil"],
  ["201:abcd::1", "yggdrasil"],
  ["300:1::1", "yggdrasil"],
  ["3ff::", "yggdrasil"],
  ["3ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "yggdrasil"],
  ["400::", "wan"],
  ["http://[300:dead:beef::1]:5678/", "yggdrasil"],
  // lan: private IPv4
  ["9.255.255.255", "wan"],
  ["10.0.0.0", "lan"],
  ["10.255.255.255", "lan"],
  ["11.0.0.0", "wan"],
  ["172.15.255.255", "wan"],
  ["172.16.0.0", "lan"],
  ["172.20.1.1", "lan"],
  ["172.31.255.255", "lan"],
  ["172.32.0.0", "wan"],
  ["192.167.255.255", "wan"],
  ["192.168.0.0", "lan"],
  ["192.168.1.5", "lan"],
  ["192.168.255.255", "lan"],
  ["192.169.0.0", "wan"],
  // lan: link-local, loopback
  ["169.254.0.1", "lan"],
  ["169.254.255.255", "lan"],
  ["169.255.0.0", "wan"],
  ["127.0.0.1", "lan"],
  ["127.255.255.254", "lan"],
  ["128.0.0.1", "wan"],
  ["http://127.0.0.1:5678", "lan"],
  ["::1", "lan"],
  ["http://[::1]:5678", "lan"],
  ["[::1]:5678", "lan"],
  ["[::1]", "lan"],
  ["fe80::1", "lan"],
  ["fe80::1%eth0", "lan"],
  ["febf:ffff::1", "lan"],
  ["fec0::1", "wan"],
  // lan: ULA fc00::/7
  ["fbff:ffff::1", "wan"],
  ["fc00::", "lan"],
  ["fd12:3456:789a::1", "lan"],
  ["fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "lan"],
  ["fe00::1", "wan"],
  // lan by name
  ["localhost", "lan"],
  ["LOCALHOST:5678", "lan"],
  ["http://localhost:5678", "lan"],
  ["http://localhost.:5678", "lan"],
  ["http://cell.localhost", "lan"],
  ["http://nas.local:5678", "lan"],
  ["nas.local", "lan"],
  // IPv4-mapped IPv6 is its IPv4 address
  ["::ffff:10.0.0.1", "lan"],
  ["http://[::ffff:10.0.0.1]:5678", "lan"],
  ["::ffff:a00:1", "lan"],
  ["::FFFF:192.168.1.1", "lan"],
  ["::ffff:100.64.0.1", "tailscale"],
  ["::ffff:127.0.0.1", "lan"],
  ["::ffff:8.8.8.8", "wan"],
  ["0:0:0:0:0:ffff:0a00:0001", "lan"],
  // wan
  ["8.8.8.8", "wan"],
  ["1.1.1.1:53", "wan"],
  ["http://203.0.113.7:5678", "wan"],
  ["https://grove.example.com", "wan"],
  ["https://grove.example.com:8443/peer", "wan"],
  ["HTTP://Grove.Example.COM", "wan"],
  ["http://bücher.example", "wan"],
  ["2001:db8::1", "wan"],
  ["http://[2a00:1450:4001::200e]:5678", "wan"],
  ["64:ff9b::a00:1", "wan"],
  ["http://user:pw@10.0.0.1:5678/", "lan"],
  ["http://10.0.0.1:5678@evil.example/", "wan"],
  ["example.com:5678", "wan"],
  // relay: the scheme decides, whatever the host
  ["wss://relay.example:5680", "relay"],
  ["WSS://relay.example", "relay"],
  ["ws://127.0.0.1:5680", "relay"],
  ["ws://[200::1]:5680", "relay"],
  ["wss://100.64.0.1/", "relay"],
  ["grove+relay://10.0.0.1:5680/" + "ab".repeat(32), "relay"],
];

describe("kinds", () => {
  for (const [address, kind] of kinds) test(`${address} is ${kind}`, () => expect(classifyAddress(address)).toBe(kind));
});

const refused: [string, RegExp][] = [
  ["", /empty/],
  [" 10.0.0.1", /whitespace/],
  ["10.0.0.1\n", /whitespace/],
  ["http://10.0.0.1/\0", /control/],
  ["http://" + "a".repeat(600), /longer than 512/],
  ["http://", /not a valid URL/],
  ["ws://", /not a valid URL/],
  ["http://[::1", /not a valid URL/],
  ["http://[200::1]:99999", /not a valid URL/],
  ["http://999.1.1.1", /not a valid URL/],
  ["http://[fe80::1%25eth0]/", /not a valid URL/],
  ["file:///etc/passwd", /no host/],
  ["http:///x", /malformed host/],
  ["http://ex%61mple.com", /malformed host/],
  ["mailto:cell@example.com", /neither a URL/],
  ["foo/bar", /neither a URL/],
  ["10.0.0.1/24", /neither a URL/],
  ["1.2.3", /dotted-decimal/],
  ["http://1.2.3:5678", /dotted-decimal/],
  ["http://0x7f.1", /dotted-decimal/],
  ["010.0.0.1", /dotted-decimal/],
  ["http://2130706433/", /dotted-decimal/],
  ["quic://1.2.3", /dotted-decimal/],
  ["256.1.1.1", /not a valid address/],
  ["1.2.3.4.5", /not a valid address/],
  ["0.0.0.0", /not a unicast/],
  ["http://0.0.0.0:5678", /not a unicast/],
  ["::", /not a unicast/],
  ["http://[::]:5678", /not a unicast/],
  ["::ffff:0.0.0.0", /not a unicast/],
  ["224.0.0.251", /not a unicast/],
  ["239.255.255.255", /not a unicast/],
  ["255.255.255.255", /not a unicast/],
  ["240.0.0.1", /not a unicast/],
  ["ff02::fb", /not a unicast/],
  ["wss://0.0.0.0/", /not a unicast/],
  ["http://-bad-.example", /valid host name/],
  ["http://a..b", /valid host name/],
  ["http://" + "x".repeat(64) + ".example", /valid host name/],
  ["grove+relay://ex%61mple", /valid host name/],
  ["a b", /whitespace/],
];

describe("refused with a clear reason", () => {
  for (const [address, reason] of refused) {
    test(`${JSON.stringify(address.slice(0, 40))}`, () => {
      let err: unknown;
      try {
        classifyAddress(address);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RouteAddressError);
      expect((err as RouteAddressError).status).toBe(400);
      expect((err as Error).message).toMatch(reason);
    });
  }
});

test("non-strings are refused, not crashed on", () => {
  expect(() => classifyAddress(undefined as unknown as string)).toThrow(RouteAddressError);
  expect(() => classifyAddress(42 as unknown as string)).toThrow(RouteAddressError);
});

test("describeAddress returns the normalised host and family", () => {
  expect(describeAddress("http://[::FFFF:10.0.0.1]:5678")).toEqual({ kind: "lan", host: "::ffff:a00:1", family: 6 });
  expect(describeAddress("::ffff:10.0.0.1")).toEqual({ kind: "lan", host: "::ffff:a00:1", family: 6 });
  expect(describeAddress("fe80::1%eth0")).toEqual({ kind: "lan", host: "fe80::1", family: 6 });
  expect(describeAddress("0200:0000::0001")).toEqual({ kind: "yggdrasil", host: "200::1", family: 6 });
  expect(describeAddress("http://100.64.0.1:5678/")).toEqual({ kind: "tailscale", host: "100.64.0.1", family: 4 });
  expect(describeAddress("wss://Relay.Example/x")).toEqual({ kind: "relay", host: "relay.example", family: null });
  expect(describeAddress("https://grove.example.com")).toEqual({ kind: "wan", host: "grove.example.com", family: null });
});

test("relay URLs: recognised by scheme, normalised to the hub's path, anything else refused", () => {
  expect(isRelayRoute("ws://relay.example:5680")).toBe(true);
  expect(isRelayRoute("WSS://relay.example")).toBe(true);
  expect(isRelayRoute("http://relay.example:5680")).toBe(false);
  expect(isRelayRoute("10.0.0.1")).toBe(false);
  expect(normalizeRelayUrl("ws://relay.example:5680")).toBe("ws://relay.example:5680/v1/relay");
  expect(normalizeRelayUrl("wss://relay.example/")).toBe("wss://relay.example/v1/relay");
  expect(normalizeRelayUrl("ws://127.0.0.1:5680/custom?x=1#y")).toBe("ws://127.0.0.1:5680/custom");
  expect(() => normalizeRelayUrl("http://relay.example")).toThrow("ws:// or wss://");
  expect(() => normalizeRelayUrl("grove+relay://relay.example")).toThrow("ws:// or wss://");
  expect(() => normalizeRelayUrl("ws://user:pw@relay.example")).toThrow("no user name");
  expect(() => normalizeRelayUrl("ws://1.2.3/")).toThrow("dotted-decimal");
});
