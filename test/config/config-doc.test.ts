// docs/config.md documents every config.json key: its table must match ConfigSchema and defaultConfig().
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigSchema, defaultConfig } from "../../src/config/config.ts";
import { LIVE_KEYS } from "../../src/config/live.ts";
import { FORM_KEYS } from "../../src/config/settings-form.ts";

const DOC = join(import.meta.dir, "..", "..", "docs", "config.md");

/** Keys whose default depends on the machine: documented in words, not compared. */
const MACHINE_DEFAULTS = new Set(["name"]);

interface Row {
  key: string;
  type: string;
  default: string;
  meaning: string;
  line: number;
}

/** The rows of the table under "## Keys" (up to the next "## " heading). */
function keyTable(text: string): Row[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim() === "## Keys");
  if (start < 0) throw new Error('docs/config.md has no "## Keys" section');
  const rows: Row[] = [];
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith("## "); i++) {
    const line = lines[i]!;
    if (!line.startsWith("|")) continue;
    // Split on "|" not escaped as "\|", dropping the empty cells outside the outer pipes.
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim());
    const key = /^`([a-z0-9_]+)`$/.exec(cells[0] ?? "")?.[1];
    if (!key) continue; // the header and the |---| line
    if (cells.length !== 4)
      throw new Error(`docs/config.md line ${i + 1}: expected 4 columns (key, type, default, meaning), got ${cells.length}`);
    rows.push({ key, type: cells[1]!, default: cells[2]!, meaning: cells[3]!, line: i + 1 });
  }
  return rows;
}

const rows = keyTable(readFileSync(DOC, "utf8"));
const schemaKeys = Object.keys(ConfigSchema.shape);

test("the table lists each key once", () => {
  const seen = new Set<string>();
  const twice = rows.filter((r) => (seen.has(r.key) ? true : (seen.add(r.key), false))).map((r) => r.key);
  expect(twice).toEqual([]);
});

test("every key of the schema is in the table", () => {
  const documented = new Set(rows.map((r) => r.key));
  expect(schemaKeys.filter((k) => !documented.has(k))).toEqual([]);
});

test("the table names no key the schema lacks", () => {
  const known = new Set(schemaKeys);
  expect(rows.filter((r) => !known.has(r.key)).map((r) => r.key)).toEqual([]);
});

test("every row has a type and a meaning", () => {
  expect(rows.filter((r) => !r.type || !r.meaning).map((r) => r.key)).toEqual([]);
});

test("each documented default is defaultConfig()'s", () => {
  const defaults = defaultConfig() as Record<string, unknown>;
  const wrong: string[] = [];
  for (const r of rows) {
    if (MACHINE_DEFAULTS.has(r.key) || !(r.key in defaults)) continue;
    // The default is the first `code` span of its cell, as JSON; words may follow it ("(50 GiB)").
    const literal = /`([^`]+)`/.exec(r.default)?.[1];
    let value: unknown;
    try {
      value = literal === undefined ? undefined : JSON.parse(literal);
    } catch {
      value = undefined;
    }
    if (literal === undefined || value === undefined || JSON.stringify(value) !== JSON.stringify(defaults[r.key])) {
      wrong.push(
        `${r.key} (line ${r.line}): documented ${literal ?? "(no JSON value in backticks)"}, defaultConfig() gives ${JSON.stringify(defaults[r.key])}`,
      );
    }
  }
  expect(wrong).toEqual([]);
});

test("name is documented as the hostname", () => {
  const name = rows.find((r) => r.key === "name");
  expect(name?.default).toMatch(/hostname/);
});

test("the live keys named on the page are the ones the cell takes at once (config/live)", () => {
  const line = /Live keys: ([^]*?)\n\n/.exec(readFileSync(DOC, "utf8"))?.[1] ?? "";
  const named = [...line.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
  expect(named.sort()).toEqual([...LIVE_KEYS].sort());
});

test("every setting the dashboard's Settings form changes is taken by the running cell, without a restart", () => {
  const live = new Set<string>(LIVE_KEYS);
  expect(FORM_KEYS.filter((k) => !live.has(k))).toEqual([]);
});
