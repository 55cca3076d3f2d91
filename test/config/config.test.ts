// config.json: defaults for missing keys, and one-line errors naming the bad key.
import { expect, test } from "bun:test";
import { ConfigError, defaultConfig, parseConfig } from "../../src/config/config.ts";

test("an empty object takes every default", () => {
  const { config } = parseConfig({});
  expect(config.replication_factor).toBe(2);
  expect(config.sync_interval_s).toBe(300);
  expect(config.peer_lost_after_s).toBe(86400);
  expect(config.route_benchmark_interval_s).toBe(21600);
  expect(config.advertise).toEqual([]);
  expect(config.relays).toEqual([]);
  expect(config.mdns).toBe(true);
  expect(config).toEqual({ ...defaultConfig(), name: config.name });
});

test("a partial config keeps its keys and fills the rest", () => {
  const { config } = parseConfig({ replication_factor: 3, name: "pi" });
  expect(config.replication_factor).toBe(3);
  expect(config.name).toBe("pi");
  expect(config.sync_interval_s).toBe(300);
});

const bad: [unknown, RegExp][] = [
  [{ replication_factor: "two" }, /"replication_factor"/],
  [{ replication_factor: 0 }, /"replication_factor"/],
  [{ sync_interval_s: -5 }, /"sync_interval_s"/],
  [{ advertise: ["not a url"] }, /"advertise\.0"/],
  [{ relays: ["http://x.example"] }, /"relays\.0".*ws:\/\//],
  [{ mdns: "yes" }, /"mdns"/],
  [{ port: 70000 }, /"port"/],
  [[1, 2], /must be a JSON object/],
  [null, /must be a JSON object/],
];
for (const [raw, re] of bad) {
  test(`refuses ${JSON.stringify(raw)} with a one-line error naming the key`, () => {
    let err: unknown;
    try {
      parseConfig(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).not.toContain("\n");
  });
}

test("unknown keys are reported, not fatal", () => {
  const { unknownKeys } = parseConfig({ colour: "green" });
  expect(unknownKeys).toEqual(["colour"]);
});
