// Where a cell says it answers: config `advertise` first, else the bound address, else every
// interface address (loopback last).
import { expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import { detectAddresses } from "../../src/fleet/self-card.ts";

test("advertise, when set, is used as it is", () => {
  expect(detectAddresses("0.0.0.0", 5678, ["https://pi.example:8443", "http://100.101.1.2:5678"])).toEqual([
    "https://pi.example:8443",
    "http://100.101.1.2:5678",
  ]);
});

test("a specific --host is the one address (IPv6 in brackets)", () => {
  expect(detectAddresses("192.168.1.5", 5678, [])).toEqual(["http://192.168.1.5:5678"]);
  expect(detectAddresses("fd00::5", 7000, [])).toEqual(["http://[fd00::5]:7000"]);
});

test("0.0.0.0 lists every interface address with the port, loopback last", () => {
  const got = detectAddresses("0.0.0.0", 5999, []);
  const expected = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && !(i.family === "IPv6" && i.scopeid));
  expect(got.length).toBe(Math.min(32, expected.length));
  for (const u of got) expect(u).toMatch(/^http:\/\/.+:5999$/);
  expect(got.at(-1)).toMatch(/127\.0\.0\.1|\[::1\]/);
});
