// config.json: defaults for missing keys, one-line errors in plain words naming the bad key, and the name a new cell takes.
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, defaultConfig, loadConfig, newCellName, parseConfig, writeDefaultConfig } from "../../src/config/config.ts";
import { replaceUnsafe } from "../../src/core/unsafe-text.ts";

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

test("problems are told in plain words, not the validation library's", () => {
  const cases: [unknown, string][] = [
    [{ replication_factor: "two" }, 'bad value for "replication_factor": must be a number (got "two")'],
    [{ replication_factor: 0 }, 'bad value for "replication_factor": must be 1 or more (got 0)'],
    [{ sync_interval_s: 1.5 }, 'bad value for "sync_interval_s": must be a whole number (got 1.5)'],
    [{ sync_interval_s: -5 }, 'bad value for "sync_interval_s": must be more than 0 (got -5)'],
    [{ port: 70000 }, 'bad value for "port": must be 65535 or less (got 70000)'],
    [{ mdns: "yes" }, 'bad value for "mdns": must be true or false (got "yes")'],
    [{ name: "" }, 'bad value for "name": must not be empty (got "")'],
    [{ crypto: "fast" }, 'bad value for "crypto": must be one of "auto", "native" or "portable" (got "fast")'],
    [{ advertise: ["not a url"] }, 'bad value for "advertise.0": must be a URL (like http://host:port) (got "not a url")'],
    [{ mdns_interfaces: "eth0" }, 'bad value for "mdns_interfaces": must be a list ([…]) (got "eth0")'],
    [{ tls_cert: "/etc/cert.pem" }, 'bad value for "tls_key": set both tls_cert and tls_key, or neither (not set)'],
  ];
  for (const [raw, want] of cases) {
    let msg = "";
    try {
      parseConfig(raw);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toBe(`config.json: ${want}`);
    expect(msg).not.toMatch(/Invalid|expected|received|>=|<=/);
  }
});

describe("the name of a new cell", () => {
  const host = hostname();
  const asName = replaceUnsafe(host, "-").slice(0, 64) || "grove-cell";
  test("the default GROVE_DIR takes the host name; any other takes the host name and 4 hex of its path", () => {
    expect(newCellName(join(homedir(), ".grove"))).toBe(asName);
    expect(newCellName("/home/u/.grove", "vm", "/home/u")).toBe("vm");
    const b = newCellName("/srv/grove-b", "vm", "/home/u");
    const c = newCellName("/srv/grove-c", "vm", "/home/u");
    expect(b).toMatch(/^vm-[0-9a-f]{4}$/);
    expect(c).toMatch(/^vm-[0-9a-f]{4}$/);
    expect(b).not.toBe(c);
    expect(newCellName("/srv/grove-b/", "vm", "/home/u")).toBe(b); // the same folder, however written
    expect(newCellName("/srv/x", "h".repeat(80), "/home/u")).toMatch(/^h{59}-[0-9a-f]{4}$/);
    expect(newCellName("/srv/x", "bad\x1bhost", "/home/u")).toMatch(/^bad-host-[0-9a-f]{4}$/);
  });

  test("first start writes it (and the cell runs with it); an existing config.json keeps its name, or the host name without one", () => {
    const root = mkdtempSync(join(tmpdir(), "grove-name-"));
    try {
      const dir = join(root, "cell");
      mkdirSync(dir);
      const path = join(dir, "config.json");
      const name = newCellName(dir);
      expect(name).toMatch(new RegExp(`-[0-9a-f]{4}$`));
      expect(loadConfig(path).config.name).toBe(name); // before the file exists: what it will hold
      expect(writeDefaultConfig(path).name).toBe(name);
      expect(JSON.parse(readFileSync(path, "utf8")).name).toBe(name);
      expect(loadConfig(path).config.name).toBe(name);
      writeFileSync(path, JSON.stringify({ name: "kitchen-pi" }));
      expect(loadConfig(path).config.name).toBe("kitchen-pi");
      writeFileSync(path, JSON.stringify({ replication_factor: 2 })); // an older file without a name
      expect(loadConfig(path).config.name).toBe(asName);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
