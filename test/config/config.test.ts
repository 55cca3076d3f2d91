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

test("a name with a control, bidi or invisible character is refused, saying which and where", () => {
  for (const [name, kind] of [
    ["evil\x1b[2J", "a control character (U+001B) at position 5"],
    ["two\nlines", "a control character (U+000A)"],
    ["alice\u202Etop", "a bidi control (U+202E)"],
    ["ad\u200Bmin", "an invisible formatting character (U+200B)"],
  ]) {
    let err: unknown;
    try {
      parseConfig({ name });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(`bad value for "name": contains ${kind}`);
    expect(msg).not.toContain(name); // shown escaped: the message itself is safe to print
    expect(msg).not.toMatch(/[\x00-\x1f\x7f\u202e\u200b]/);
  }
  expect(parseConfig({ name: "👩‍💻 שלום" }).config.name).toBe("👩‍💻 שלום");
});
