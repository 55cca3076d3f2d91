/** @module cli/command — the shape of one CLI command, and argument parsing shared by all. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import stringWidth from "string-width";
import { displayName } from "../core/unsafe-text.ts";

export interface Command {
  name: string;
  /** One line for `grove --help`. */
  summary: string;
  /** Full usage text for `grove CMD --help`. */
  usage: string;
  run(argv: string[]): Promise<number>;
}

/** A failure meant for the user: printed as `grove: <message>`, exit code `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

/** `--help` was asked for: `grove` prints `usage` and exits 0 (src/cli.ts), whatever the command. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super("help");
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs with `--help` built in (it throws HelpRequested: the usage is printed once, in src/cli.ts); a bad flag is a usage error (exit 2). */
export function parse<O extends Options>(argv: string[], options: O, positionals: { min: number; max: number; usage: string }) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n\n${positionals.usage}`, 2);
  }
  const values = parsed.values as { [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean : string };
  if ((parsed.values as { help?: boolean }).help) throw new HelpRequested(positionals.usage);
  if (parsed.positionals.length < positionals.min || parsed.positionals.length > positionals.max) {
    throw new CliError(`wrong number of arguments\n\n${positionals.usage}`, 2);
  }
  return { values, positionals: parsed.positionals };
}

/**
 * `s` padded with spaces to `width` terminal columns, by display width (string-width): a CJK
 * character or an emoji takes two columns, a combining mark none.
 * @example padDisplay("日本", 6) // "日本  "
 */
export function padDisplay(s: string, width: number, align: "left" | "right" = "left"): string {
  const pad = " ".repeat(Math.max(0, width - stringWidth(s)));
  return align === "left" ? s + pad : pad + s;
}

/**
 * Print `rows` as aligned columns (first row = header). Every cell goes through `displayName`:
 * names and texts from other cells never reach the terminal with control characters raw.
 * Columns are aligned by display width, so names in CJK, with emoji or accents line up.
 */
export function table(cells: string[][], rightAlign: number[] = []): string {
  const rows = cells.map((r) => r.map(displayName));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => stringWidth(r[i] ?? ""))));
  return rows
    .map((r) =>
      r.map((cell, i) => (i === r.length - 1 ? cell : padDisplay(cell, widths[i]!, rightAlign.includes(i) ? "right" : "left"))).join("  "),
    )
    .join("\n");
}
